"""The record-keeping commands: database, users, patients, lots and vials, sessions and recalls.

They need the database, so Django is set up only when one of them runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from bont.bootstrap import build_knowledge, clinical_records, clock, setup_database
from bont.cli.common import JsonOption, decimal_option, emit_json, fail, required_date, stderr, stdout
from bont.domain.errors import FieldError
from bont.services.clock import read_moment

if TYPE_CHECKING:
    from datetime import datetime

    from bont.interop.session_document import SessionIn
    from bont.services.users import AccountError

db_app = typer.Typer(help="The database: where it is and its schema.", no_args_is_help=True)
user_app = typer.Typer(help="Users, their roles and NPIs.", no_args_is_help=True)
patient_app = typer.Typer(help="Patients.", no_args_is_help=True)
lot_app = typer.Typer(help="Lots and vials: receiving, reconstitution, recall.", no_args_is_help=True)
session_app = typer.Typer(help="Treatment sessions.", no_args_is_help=True)


def _product(name: str) -> Any:
    """The product named by --product, or exit 2 suggesting the nearest ids."""
    from bont.domain.errors import UnknownIdError

    try:
        return build_knowledge().product(name)
    except UnknownIdError as error:
        fail(f"--product: {error}")


@db_app.command("info")
def db_info(as_json: JsonOption = False) -> None:
    """Where the records are kept (DATABASE_URL, or the default SQLite file) and the schema state."""
    from bont.bootstrap import database_info

    settings, state = database_info()
    vendor, pending = state.engine, state.pending_migrations
    where = str(settings.sqlite_path) if settings.database_url is None else _redacted(settings.database_url)
    info = {"engine": vendor, "location": where, "pending_migrations": pending}
    if as_json:
        emit_json(info)
    else:
        stdout.print(f"engine: {vendor}\nlocation: {where}\npending migrations: {pending}", highlight=False)


def _redacted(url: str) -> str:
    """The URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@db_app.command("migrate")
def db_migrate() -> None:
    """Create or update the database schema, and write the curated study catalogue into the evidence library when
    it changed."""
    from bont.bootstrap import keep_study_catalogue

    setup_database()
    keep_study_catalogue()
    stdout.print("database is up to date")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="clinician, nurse, billing, researcher or admin")],
    password: Annotated[str | None, typer.Option(help="Password for signing in to the web app.")] = None,
    npi: Annotated[str | None, typer.Option(help="National Provider Identifier (10 digits), for claims.")] = None,
) -> None:
    """Add a user with a role (and, for a clinician who bills, their NPI)."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, add_user

    try:
        add_user(user_accounts(), username, role, password, npi, check_password=True)
    except AccountError as error:
        _account_failure(error)
    stdout.print(f"added user with role {role}")


@user_app.command("npi")
def user_npi(
    username: str,
    npi: Annotated[str | None, typer.Argument(help="NPI: ten digits, the last a check digit.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the user's NPI.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show, set or remove the NPI a claim names as the rendering provider of the user's sessions."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, set_npi

    accounts = user_accounts()
    if npi is not None and remove:
        fail("NPI: give an NPI or --remove, not both")
    if npi is None and not remove:
        shown = accounts.npi(username)
        if shown is None:
            fail("USERNAME: no such user")
        if as_json:
            emit_json({"username": username, "npi": shown or None})
        else:
            stdout.print(f"NPI: {shown or 'none on file'}", highlight=False)
        return
    try:
        stored = set_npi(accounts, username, npi)
    except AccountError as error:
        fail(f"{'USERNAME' if error.field == 'username' else 'NPI'}: {error.problem}")
    if as_json:
        emit_json({"username": username, "npi": stored or None})
    else:
        stdout.print(f"NPI {stored} kept" if stored else "NPI removed", highlight=False)


@patient_app.command("add")
def patient_add(
    mrn: Annotated[str, typer.Option(help="Medical record number (unique in the clinic).")],
    given_name: Annotated[str, typer.Option()],
    family_name: Annotated[str, typer.Option()],
    birth_date: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    sex: Annotated[str, typer.Option(help="female, male, other or unknown")] = "unknown",
    weight_kg: Annotated[str | None, typer.Option()] = None,
    condition: Annotated[list[str] | None, typer.Option(help="ICD-10-CM code or name; repeat.")] = None,
    medication: Annotated[list[str] | None, typer.Option(help="Generic name; repeat.")] = None,
    allergy: Annotated[list[str] | None, typer.Option(help="Substance; repeat.")] = None,
    catheterizes: Annotated[bool, typer.Option(help="Performs clean intermittent self-catheterisation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Register a patient."""
    from bont.bootstrap import patient_registry
    from bont.services.patients import NewPatient, PatientRecordError, register_patient

    try:
        new_id = register_patient(
            patient_registry(),
            clock(),
            NewPatient(
                mrn=mrn,
                given_name=given_name,
                family_name=family_name,
                birth_date=required_date("--birth-date", birth_date),
                sex=sex,
                weight_kg=decimal_option("--weight-kg", weight_kg),
                conditions=tuple(condition or ()),
                medications=tuple(medication or ()),
                allergies=tuple(allergy or ()),
                catheterizes=catheterizes,
            ),
            build_knowledge(),
        )
    except PatientRecordError as error:
        fail(f"{_record_option(error.field)}: {error.problem}")
    if as_json:
        emit_json({"patient_id": new_id})
    else:
        stdout.print(f"patient {new_id} registered")


def _record_option(field: str) -> str:
    """The option a refused field of a patient record came from: ``conditions.1`` is the second --condition."""
    name, _, index = field.partition(".")
    option = {"conditions": "--condition", "add_conditions": "--add-condition"}.get(name, "--" + name.replace("_", "-"))
    return f"{option} #{int(index) + 1}" if index.isdigit() else option


@patient_app.command("show")
def patient_show(mrn: str, as_json: JsonOption = False) -> None:
    """A patient's record: conditions, medicines, allergies and every session."""
    from bont.bootstrap import patient_registry
    from bont.cli.operator import log_cli_read
    from bont.services.patients import condition_entries, patient_record
    from bont.services.ports import UnknownPatientError

    try:
        record = patient_record(patient_registry(), mrn)
    except UnknownPatientError as error:
        fail(f"MRN: {error.problem}")
    log_cli_read("chart", mrn)
    header = record.header
    conditions = condition_entries(build_knowledge(), record.conditions)
    document: dict[str, Any] = {
        "mrn": header.mrn,
        "name": header.name,
        "birth_date": header.birth_date.isoformat(),
        "sex": header.sex,
        "weights": [{"date": w.on.isoformat(), "kg": float(w.kg)} for w in record.weights],
        "conditions": list(record.conditions),
        # Each condition with the ICD-10-CM title of a code (null for a name).
        "condition_details": [{"term": c.term, "description": c.description} for c in conditions],
        "medications": list(record.medications),
        "allergies": list(record.allergies),
        "reproductive_status": [
            {"status": r.status, "from": r.start.isoformat(), "to": r.end.isoformat() if r.end else None}
            for r in record.reproductive_statuses
        ],
        "adverse_events": [
            {
                "id": e.id,
                "event": e.event,
                "onset": e.onset.isoformat(),
                "severity": e.severity,
                "serious": e.serious,
                "session": e.session_id,
                "outcome": e.outcome,
                "withdrawn": bool(e.withdrawn_reason),
            }
            for e in record.adverse_events
        ],
        "sessions": [
            {
                "id": s.id,
                "date": s.on.isoformat(),
                "product": s.product,
                "indication": s.indication,
                "units": float(s.total_units),
                "verdict": s.verdict,
                "withdrawn": bool(s.withdrawn_reason),
                "withdrawn_reason": s.withdrawn_reason or None,
                "withdrawn_by": s.withdrawn_by,
                "recorded_by": s.recorded_by,
                "given_by": s.given_by or s.recorded_by,  # sessions recorded before it was asked: the recorder
                "given_at": s.given_at.isoformat() if s.given_at else None,
            }
            for s in record.sessions
        ],
    }
    if as_json:
        emit_json(document)
        return
    stdout.print(f"{document['name']} · MRN {document['mrn']} · born {document['birth_date']}", highlight=False)
    if conditions:
        stdout.print("conditions: " + escape("; ".join(c.label for c in conditions)), highlight=False)
    table = Table(title="Sessions")
    for column in ("id", "date", "product", "indication", "units", "verdict"):
        table.add_column(column)
    for s in document["sessions"]:
        table.add_row(*(escape(str(s[k])) for k in ("id", "date", "product", "indication", "units", "verdict")))
    stdout.print(table)
    for event in document["adverse_events"]:
        stdout.print(
            f"adverse event: {event['event']} ({event['severity']}, {'serious' if event['serious'] else 'not serious'})"
            f" from {event['onset']}, session {event['session']}",
            highlight=False,
        )


@lot_app.command("add")
def lot_add(
    product: Annotated[str, typer.Option()],
    lot: Annotated[str, typer.Option(help="Lot number as printed on the carton (scan-friendly).")],
    expiry: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    quantity: Annotated[int, typer.Option(help="Vials received.")],
    vial_units: Annotated[str | None, typer.Option(help="Vial size (default: the product's smallest).")] = None,
    ndc: Annotated[str, typer.Option()] = "",
    received: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Receive a lot of vials into the inventory."""
    chosen = _product(product)
    size = decimal_option("--vial-units", vial_units) or min(chosen.vial_sizes)
    if size not in chosen.vial_sizes:
        fail(f"--vial-units: {chosen.brand} comes in {', '.join(str(v) for v in chosen.vial_sizes)} U vials")
    from bont.bootstrap import inventory
    from bont.services.inventory import InventoryError, NewLot, receive_lot

    new = NewLot(
        chosen.id,
        lot,
        required_date("--expiry", expiry),
        size,
        quantity,
        required_date("--received", received) if received else clock().today(),
        ndc,
    )
    try:
        vials = receive_lot(inventory(), new)
    except InventoryError as error:
        fail(f"--{error.field}: {error.problem}")
    if as_json:
        emit_json({"product": chosen.id, "lot": lot, "vials": vials})
    else:
        stdout.print(f"received {len(vials)} vial(s) of {chosen.brand}: ids {vials[0]}–{vials[-1]}")


@lot_app.command("reconstitute")
def lot_reconstitute(
    vial: Annotated[int, typer.Argument(help="Vial id.")],
    diluent_ml: Annotated[str | None, typer.Option()] = None,
    at: Annotated[
        str | None, typer.Option(help="YYYY-MM-DDTHH:MM, the clinic's local time (BONT_TIME_ZONE; default: now)")
    ] = None,
) -> None:
    """Record that a vial was reconstituted, and when (its beyond-use time starts then)."""
    from bont.bootstrap import inventory
    from bont.services.inventory import InventoryError, reconstitute_vial

    stock = inventory()
    try:
        moment = read_moment(at, "--at", clock()) if at else clock().now()
    except FieldError as error:
        fail(f"{error.field}: {error.problem}")
    try:
        reconstitute_vial(stock, build_knowledge(), vial, decimal_option("--diluent-ml", diluent_ml), moment)
    except InventoryError as error:
        fail(f"{'--diluent-ml' if error.field == 'diluent_ml' else 'VIAL'}: {error.problem}")
    stdout.print(f"vial {vial} reconstituted")


@lot_app.command("recall")
def lot_recall(
    lot: Annotated[str, typer.Argument(metavar="LOT")],
    product: Annotated[str, typer.Option()],
    as_json: JsonOption = False,
) -> None:
    """Every patient who received a vial of this lot."""
    chosen = _product(product)
    from bont.bootstrap import inventory
    from bont.services.inventory import recall

    rows: list[dict[str, Any]] = [
        {
            "mrn": patient.mrn,
            "name": patient.name,
            "birth_date": patient.birth_date.isoformat(),
            "sessions": [
                {"session": s.session_id, "date": s.on.isoformat(), "units": float(s.units)} for s in patient.sessions
            ],
        }
        for patient in recall(inventory(), lot, chosen.id)
    ]
    if as_json:
        emit_json({"product": chosen.id, "lot": lot, "patients": rows})
        return
    table = Table(title=f"Patients who received {chosen.brand} lot {escape(lot)}")
    for column in ("MRN", "name", "born", "sessions"):
        table.add_column(column)
    for row in rows:
        sessions = ", ".join(f"{s['date']} ({s['units']} U)" for s in row["sessions"])
        table.add_row(escape(row["mrn"]), escape(row["name"]), row["birth_date"], sessions)
    stdout.print(table)


def _session_document(document: Path) -> SessionIn:
    """The session document from FILE or standard input, parsed; exit 2 naming the field when it cannot be."""
    from bont.interop.check_document import InputError
    from bont.interop.session_document import read_session

    try:
        text = sys.stdin.buffer.read() if str(document) == "-" else document.read_bytes()  # UTF-8: read_session
    except OSError as error:
        fail(f"FILE: cannot read it: {error.strerror}")
    try:
        return read_session(text)
    except InputError as error:
        fail(f"{error.field}: {error.problem}")


@session_app.command("record")
def session_record(
    document: Annotated[Path, typer.Argument(metavar="FILE|-", help="The session document (JSON).")],
    as_json: JsonOption = False,
) -> None:
    """Record a session: the safety check runs again on the stored history in the same transaction.

    Exit 0 when recorded, 3 when the check blocks and no clinician override is given, 2 for bad input.
    Nothing is written unless everything is.
    """
    knowledge = build_knowledge()
    parsed = _session_document(document)
    records = clinical_records()
    from bont.bootstrap import session_records
    from bont.domain.errors import PlanningError
    from bont.services.ports import UnknownPatientError
    from bont.services.records import RecordingError, record_session

    try:
        patient = session_records().patient(parsed.patient_mrn)
        session_id = record_session(records, knowledge, parsed.to_command(patient.id, clock()))
    except UnknownPatientError as error:
        fail(f"patient_mrn: {error.problem}")
    except PlanningError as error:
        fail(f"{error.field}: {error.problem}")
    except RecordingError as error:
        fail(f"{error.field}: {error.problem}", 3 if error.field == "override_reason" else 2)
    if as_json:
        emit_json({"session_id": session_id})
    else:
        stdout.print(f"session {session_id} recorded")


@session_app.command("withdraw")
def session_withdraw(
    session: Annotated[int, typer.Argument(help="Session id.")],
    reason: Annotated[str, typer.Option(help="Why the session was entered in error.")],
    by: Annotated[
        str | None, typer.Option(help="The clinician withdrawing it (username), kept with the session and audited.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a session entered in error: its row is kept with the reason and who withdrew it (and in the audit
    history); it no longer counts toward cumulative doses, next dates, responders, follow-up, billing or research.
    Exit 2 when there is no such session, it is already withdrawn, no reason is given, or --by is not a
    clinician."""
    from bont.bootstrap import session_records
    from bont.services.sessions import SessionError, withdraw_session

    try:
        withdraw_session(session_records(), session, reason, by)
    except SessionError as error:
        fail(f"{_session_option(error.field)}: {error.problem}")
    if as_json:
        emit_json({"session_id": session, "withdrawn": True})
    else:
        stdout.print(f"session {session} withdrawn")


def _session_option(field: str) -> str:
    return {"session": "SESSION", "reason": "--reason", "by": "--by"}.get(field, field)


@session_app.command("correct")
def session_correct(
    session: Annotated[int, typer.Argument(help="The id of the session to correct.")],
    document: Annotated[
        Path, typer.Argument(metavar="FILE|-", help="The corrected session: a document as for `bont session record`.")
    ],
    reason: Annotated[str, typer.Option(help="What was wrong in the session recorded.")],
    by: Annotated[
        str | None, typer.Option(help="The clinician correcting it (username; default: the document's clinician).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Correct a recorded session: it is withdrawn (kept, with the reason) and the corrected session is recorded
    in its place, linked to it, in one transaction, through the same safety check on the stored history without
    the withdrawn session. The corrected session keeps the vials drawn and the units discarded for the session it
    corrects; "draws" in FILE are further draws. Only a clinician corrects a session.

    Exit 0 when corrected, 3 when the check blocks and no clinician override is given, 2 for bad input; a refused
    correction writes nothing and leaves the session as it was.
    """
    knowledge = build_knowledge()
    parsed = _session_document(document)
    from bont.bootstrap import session_records
    from bont.domain.errors import PlanningError, UnknownIdError
    from bont.services.ports import UnknownPatientError
    from bont.services.records import RecordingError, correct_session

    try:
        patient = session_records().patient(parsed.patient_mrn)
        command = parsed.to_command(patient.id, clock())
        new_id = correct_session(clinical_records(), knowledge, session, command, reason, by or parsed.clinician)
    except UnknownPatientError as error:
        fail(f"patient_mrn: {error.problem}")
    except UnknownIdError as error:
        fail(f"{error.kind}: {error}")
    except PlanningError as error:
        fail(f"{error.field}: {error.problem}")
    except RecordingError as error:
        option = {"session": "SESSION", "reason": "--reason", "by": "--by"}.get(error.field, error.field)
        fail(f"{option}: {error.problem}", 3 if error.field == "override_reason" else 2)
    if as_json:
        emit_json({"session_id": new_id, "corrects": session})
    else:
        stdout.print(f"session {session} withdrawn and corrected by session {new_id}")


billing_app = typer.Typer(help="Billing: claim lines in whole billing units, JW/JZ, NDC, NPI.", no_args_is_help=True)
event_app = typer.Typer(help="Adverse events.", no_args_is_help=True)


def _place_of_service() -> str | None:
    """The clinic's place of service (BONT_PLACE_OF_SERVICE), or exit 2 when it is not two digits."""
    from bont.bootstrap import place_of_service

    try:
        return place_of_service()
    except ValueError as error:  # the settings refused the environment
        if "BONT_PLACE_OF_SERVICE" not in str(error):
            raise
        fail("BONT_PLACE_OF_SERVICE: is not a place-of-service code (two digits, e.g. 11 Office)")


@billing_app.command("export")
def billing_export(
    start: Annotated[str, typer.Option("--from", help="First session date, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last session date, YYYY-MM-DD.")],
    output: Annotated[Path | None, typer.Option(help="CSV file to write (default: stdout).")] = None,
) -> None:
    """Claim lines for a date range as CSV, one row per line: the procedure code, one guidance code, the drug
    in whole billing units (JZ when nothing billable was discarded) and its JW line, with the ICD-10-CM codes,
    the 11-digit NDC and NDC quantity, the rendering NPI and the place of service (BONT_PLACE_OF_SERVICE,
    default 11 Office). Withdrawn sessions are left out."""
    first, last = required_date("--from", start), required_date("--to", end)
    if last < first:
        fail("--to: is before --from")
    knowledge = build_knowledge()
    where = _place_of_service()
    from bont.bootstrap import billing_records
    from bont.cli.operator import Action, log_cli_read
    from bont.services.billing import BillingError, billing_csv

    try:
        rows = billing_csv(billing_records(), knowledge, first, last, where)
    except BillingError as error:
        fail(f"{error.field}: {error.problem}")
    log_cli_read("billing-export", object_id=f"{first}..{last}", action=Action.EXPORT)
    if output is None:
        sys.stdout.writelines(rows)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as handle:
            handle.writelines(rows)
    except OSError as error:
        fail(f"--output: cannot write it: {error.strerror}")
    stderr.print(f"wrote {output}")


@event_app.command("add")
def event_add(
    mrn: Annotated[str, typer.Option()],
    event: Annotated[str, typer.Option(help="ptosis, dysphagia, neck-weakness, urinary-retention, uti, ...")],
    onset: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    severity: Annotated[str, typer.Option(help="The intensity: mild, moderate or severe.")],
    serious: Annotated[
        bool,
        typer.Option(
            "--serious/--not-serious",
            help="Required: serious when it resulted in death, was life-threatening, needed or prolonged a hospital "
            "stay, caused lasting disability or a congenital anomaly, or was another important medical event "
            "(ICH E2A).",
        ),
    ],
    session: Annotated[int | None, typer.Option(help="The suspected session's id.")] = None,
    outcome: Annotated[str, typer.Option()] = "",
    notes: Annotated[str, typer.Option()] = "",
) -> None:
    """Record an adverse event, how intense and whether serious, and the session suspected of causing it."""
    from bont.bootstrap import adverse_events
    from bont.services.adverse_events import AdverseEventReport, report_adverse_event

    try:
        event_id = report_adverse_event(
            adverse_events(),
            clock(),
            AdverseEventReport(
                mrn, event, required_date("--onset", onset), severity, session, outcome, notes, serious=serious
            ),
        )
    except FieldError as error:
        fail(f"--{error.field}: {error.problem}")
    stdout.print(f"adverse event {event_id} recorded")


@event_app.command("update")
def event_update(
    event_id: Annotated[int, typer.Argument(metavar="ID", help="The adverse event's id.")],
    term: Annotated[str | None, typer.Option("--term", "--event", help="What happened (e.g. ptosis).")] = None,
    onset: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    severity: Annotated[str | None, typer.Option(help="The intensity: mild, moderate or severe.")] = None,
    serious: Annotated[
        bool | None, typer.Option("--serious/--not-serious", help="Whether the event was serious (ICH E2A).")
    ] = None,
    outcome: Annotated[str | None, typer.Option()] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    by: Annotated[str | None, typer.Option(help="Who corrects it (username), kept in the audit history.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Correct a recorded adverse event: the options given replace the stored values; the version before is kept
    in the audit history. Checked as a new report is (severity, seriousness, onset)."""
    from bont.bootstrap import adverse_events
    from bont.services.adverse_events import AdverseEventCorrection, correct_adverse_event

    correction = AdverseEventCorrection(
        event=term,
        onset=required_date("--onset", onset) if onset is not None else None,
        severity=severity,
        serious=serious,
        outcome=outcome,
        notes=notes,
    )
    try:
        corrected = correct_adverse_event(adverse_events(), clock(), event_id, correction, by)
    except FieldError as error:
        fail(f"{_event_option(error.field)}: {error.problem}")
    if as_json:
        emit_json(
            {
                "id": corrected.id,
                "event": corrected.event,
                "onset": corrected.onset.isoformat(),
                "severity": corrected.severity,
                "serious": corrected.serious,
                "outcome": corrected.outcome,
                "notes": corrected.notes,
                "session": corrected.session_id,
            }
        )
    else:
        stdout.print(f"adverse event {event_id} corrected")


@event_app.command("withdraw")
def event_withdraw(
    event_id: Annotated[int, typer.Argument(metavar="ID", help="The adverse event's id.")],
    reason: Annotated[str, typer.Option(help="Why the event was entered in error.")],
    by: Annotated[str | None, typer.Option(help="Who withdraws it (username), kept with the event.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw an adverse event entered in error: it is kept with the reason and who withdrew it, and no longer
    reaches the safety check, the chart's warnings or the continuation report."""
    from bont.bootstrap import adverse_events
    from bont.services.adverse_events import withdraw_adverse_event

    try:
        withdraw_adverse_event(adverse_events(), event_id, reason, by)
    except FieldError as error:
        fail(f"{_event_option(error.field)}: {error.problem}")
    if as_json:
        emit_json({"id": event_id, "withdrawn": True})
    else:
        stdout.print(f"adverse event {event_id} withdrawn")


def _event_option(field: str) -> str:
    return {"event_id": "ID", "event": "--term"}.get(field, "--" + field.replace("_", "-"))


def backup(path: Annotated[Path, typer.Argument(help="File to write the backup to.")]) -> None:
    """Back up the SQLite database while it is in use (online backup). For PostgreSQL, use pg_dump."""
    settings = setup_database()
    if settings.database_url is not None and not settings.database_url.startswith("sqlite"):
        fail(
            "DATABASE_URL: this is PostgreSQL; back it up with pg_dump, e.g. pg_dump --format=custom "
            "--file=bont.dump DBNAME, and restore with pg_restore"
        )
    from bont.bootstrap import back_up_sqlite
    from bont.cli.operator import Action, log_cli_read

    try:
        back_up_sqlite(path)  # created owner-only: a backup holds every patient's record
    except FileExistsError:
        fail("PATH: the file exists; choose a new name so no backup is overwritten")
    log_cli_read("backup", object_id=path.name, action=Action.EXPORT)  # every patient's record left the database
    stdout.print(f"backed up to {path}", highlight=False, soft_wrap=True)


def restore(
    path: Annotated[Path, typer.Argument(help="A backup made by bont backup.")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the current database.")] = False,
) -> None:
    """Replace the SQLite database with a backup: only a bont database of this or an older version, intact and
    with no broken reference. The current database is kept first beside it under a new name
    (NAME.before-restore-TIME), so an earlier undo copy is never overwritten."""
    from bont.bootstrap import restore_problem, restore_sqlite
    from bont.settings import BontSettings

    if BontSettings().sqlite_file is None:
        fail("DATABASE_URL: this is PostgreSQL; restore it with pg_restore")
    if not path.is_file():
        fail("PATH: no such backup file")
    problem = restore_problem(path)
    if problem is not None:
        fail(f"PATH: {problem}; nothing was changed")
    if not yes:
        fail("--yes: restoring replaces the current records; confirm with --yes")
    try:
        kept = restore_sqlite(path)
    except ValueError as refused:
        fail(f"PATH: {refused}; nothing was changed")
    stdout.print(
        "restored" + (f"; the previous database is kept as {kept}" if kept else ""), highlight=False, soft_wrap=True
    )


def demo(
    scale: Annotated[
        int | None,
        typer.Option(
            "--scale",
            metavar="PATIENTS",
            help="Instead, a fictional clinic of this many patients (about 20 sessions each), for measuring.",
        ),
    ] = None,
) -> None:
    """Load the fictional demo clinic (users, lots, patients, two years of sessions) into an empty database."""
    from bont.bootstrap import demo_sign_in, load_demo_clinic, load_scale_clinic
    from bont.services.records import RecordingError

    if scale is not None:
        try:
            written = load_scale_clinic(
                scale, clock().today(), lambda done: stdout.print(done, highlight=False, soft_wrap=True)
            )
        except RecordingError as error:
            fail(f"{error.field}: {error.problem}")
        seconds = written["milliseconds"] / 1000
        stdout.print(
            f"scale clinic loaded: {written['patients']:,} fictional patients, {written['sessions']:,} sessions, "
            f"{written['sites']:,} sites, {written['outcomes']:,} outcomes, {written['diary_days']:,} diary days in "
            f"{seconds:.1f} s ({written['sessions'] / max(seconds, 0.001):,.0f} sessions per second)",
            highlight=False,
            soft_wrap=True,
        )
        password, users = demo_sign_in()
        stdout.print("demo users (password " + password + "): " + ", ".join(f"{u} ({r})" for u, r in users))
        return
    try:
        counts = load_demo_clinic(clock().today())
    except RecordingError as error:
        fail(f"{error.field}: {error.problem}")
    stdout.print(
        f"demo clinic loaded: {counts['patients']} fictional patients, {counts['sessions']} sessions "
        f"({counts['refused']} planned sessions were refused by the safety check and not recorded)"
    )
    password, users = demo_sign_in()
    stdout.print("demo users (password " + password + "): " + ", ".join(f"{u} ({r})" for u, r in users))


@patient_app.command("list")
def patient_list(
    search: Annotated[str, typer.Option(help="Part of a name or MRN.")] = "",
    as_json: JsonOption = False,
) -> None:
    """List patients (at most 500), optionally searching by name or MRN."""
    from bont.bootstrap import patient_registry
    from bont.cli.operator import log_cli_read
    from bont.services.patients import find_patients

    rows: list[dict[str, Any]] = [
        {"mrn": row.mrn, "name": row.name, "birth_date": row.birth_date.isoformat(), "sessions": row.session_count}
        for row in find_patients(patient_registry(), search)
    ]
    log_cli_read("patient-list", object_id=f"{len(rows)} shown")
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Patients")
    for column in ("MRN", "name", "born", "sessions"):
        table.add_column(column)
    for row in rows:
        table.add_row(escape(row["mrn"]), escape(row["name"]), row["birth_date"], str(row["sessions"]))
    stdout.print(table)


@patient_app.command("update")
def patient_update(
    mrn: str,
    on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    weight_kg: Annotated[str | None, typer.Option(help="A new weight measurement.")] = None,
    add_condition: Annotated[list[str] | None, typer.Option(help="ICD-10-CM code or name; repeat.")] = None,
    resolve_condition: Annotated[list[str] | None, typer.Option(help="Mark a recorded condition resolved.")] = None,
    add_medication: Annotated[list[str] | None, typer.Option()] = None,
    stop_medication: Annotated[list[str] | None, typer.Option()] = None,
    add_allergy: Annotated[list[str] | None, typer.Option()] = None,
    remove_allergy: Annotated[list[str] | None, typer.Option(help="An allergy recorded in error or outgrown.")] = None,
    pregnant: Annotated[bool | None, typer.Option("--pregnant/--not-pregnant")] = None,
    breastfeeding: Annotated[bool | None, typer.Option("--breastfeeding/--not-breastfeeding")] = None,
    catheterizes: Annotated[bool | None, typer.Option("--catheterizes/--no-catheterizes")] = None,
) -> None:
    """Add to a patient's record: a weight, conditions, medicines, allergies, pregnancy or breastfeeding.
    Nothing is overwritten; every change is dated and audited."""
    from bont.bootstrap import patient_registry
    from bont.services.patients import PatientUpdate, update_patient

    try:
        update_patient(
            patient_registry(),
            mrn,
            PatientUpdate(
                on=required_date("--date", on) if on else clock().today(),
                weight_kg=decimal_option("--weight-kg", weight_kg),
                add_conditions=tuple(add_condition or ()),
                resolve_conditions=tuple(resolve_condition or ()),
                add_medications=tuple(add_medication or ()),
                stop_medications=tuple(stop_medication or ()),
                add_allergies=tuple(add_allergy or ()),
                remove_allergies=tuple(remove_allergy or ()),
                pregnant=pregnant,
                breastfeeding=breastfeeding,
                catheterizes=catheterizes,
            ),
            build_knowledge(),
        )
    except FieldError as error:
        fail(f"{'MRN' if error.field == 'mrn' else _record_option(error.field)}: {error.problem}")
    stdout.print("patient record updated")


def _number(value: Any) -> float | int | None:
    """A Decimal as JSON shows it: whole numbers as integers."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


@billing_app.command("session")
def billing_session(session: Annotated[int, typer.Argument(help="Session id.")], as_json: JsonOption = False) -> None:
    """The claim lines of one session: the procedure and guidance codes, the drug in whole billing units with
    JW or JZ (the exact units beside), the ICD-10-CM codes, NDC, rendering NPI and place of service."""
    knowledge = build_knowledge()
    where = _place_of_service()
    from bont.bootstrap import billing_records
    from bont.cli.operator import log_cli_read
    from bont.services.billing import BillingError, session_billing

    try:
        lines = session_billing(billing_records(), knowledge, session, where)
    except BillingError as error:
        fail(f"SESSION: {error.problem}" if error.field == "session" else f"{error.field}: {error.problem}")
    log_cli_read("billing-session", object_id=session)
    rows: list[dict[str, Any]] = [
        {
            "kind": str(line.kind),
            "code": line.code,
            "modifier": line.modifier,
            "billing_units": line.billing_units,
            "exact_units": _number(line.exact_units),
            "exact_billing_units": _number(line.exact_billing_units),
            "icd10_cm": list(line.diagnoses),
            "ndc_11": line.ndc,
            "ndc_unit": line.ndc_unit,
            "ndc_quantity": _number(line.ndc_quantity),
            "rendering_npi": line.rendering_npi or None,
            "place_of_service": line.place_of_service,
            "note": line.note,
        }
        for line in lines
    ]
    if as_json:
        emit_json({"session_id": session, "lines": rows})
        return
    table = Table(title=f"Claim lines for session {session}")
    for column in ("code", "modifier", "units", "exact units", "NDC", "NDC qty", "note"):
        table.add_column(column)
    for row in rows:
        exact = "" if row["exact_units"] is None else f"{row['exact_units']} U"
        quantity = "" if row["ndc_quantity"] is None else f"{row['ndc_unit']} {row['ndc_quantity']}"
        table.add_row(
            row["code"], row["modifier"], str(row["billing_units"]), exact, row["ndc_11"] or "", quantity, row["note"]
        )
    stdout.print(table)
    if lines:
        first = lines[0]
        stdout.print(
            f"ICD-10-CM {' '.join(first.diagnoses) or 'none'} · rendering NPI {first.rendering_npi or 'none on file'}"
            f" · place of service {first.place_of_service}",
            highlight=False,
        )


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo/--no-demo",
            help="Load the fictional demo clinic into an empty database and mark every page as the demo's.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes serving requests, 8 at a time each; more than one needs gunicorn (Linux, macOS).",
        ),
    ] = 1,
) -> None:
    """Serve the clinic web app: applies migrations, honours DATABASE_URL; the demo clinic only with --demo."""
    import os

    build_knowledge()  # a knowledge base that does not load stops the server before it starts
    if demo:
        os.environ["BONT_DEMO"] = "true"  # read by the Django settings: every page shows the demo banner
    settings = setup_database()
    from django.conf import settings as django_settings
    from django.core.wsgi import get_wsgi_application

    from bont.bootstrap import (
        clinic_is_empty,
        close_database_connections,
        demo_sign_in,
        keep_study_catalogue,
        load_demo_clinic,
        user_accounts,
        user_exists,
    )
    from bont.cli.serving import serve_http

    password, users = demo_sign_in()
    if demo and clinic_is_empty():
        counts = load_demo_clinic(clock().today())
        stdout.print(
            f"loaded the fictional demo clinic: {counts['patients']} patients, {counts['sessions']} sessions, "
            f"{counts['outcomes']} outcome entries and diary days"
        )
    elif demo and not user_exists(users[0][0]):
        fail("--demo: this database holds a clinic's own records; the demo is loaded only into an empty database")
    keep_study_catalogue()  # the curated study catalogue written into the evidence library when its files changed
    holds_demo = user_exists(users[0][0])
    if holds_demo and not demo:
        # Loaded earlier by `bont demo`: the pages say so all the same.
        django_settings.BONT_DEMO = True
    application = get_wsgi_application()
    stdout.print(f"bont is serving on http://{host}:{port}/  (decision support, not a prescriber)", highlight=False)
    if holds_demo:
        stdout.print(
            "demo sign-in: " + ", ".join(name for name, _ in users) + f"  password: {password}", highlight=False
        )
    elif not user_accounts().users():
        stdout.print("no user yet: create the first administrator with  bont admin create USERNAME", highlight=False)
    close_database_connections()  # the worker processes open their own
    # X-Forwarded-* headers are dropped unless they come from the trusted proxy; from it, they give the
    # request its scheme (https), host and client address (which sign-in throttling counts by).
    serve_http(application, host, port, workers, settings.trusted_proxy if settings.behind_tls_proxy else None)


admin_app = typer.Typer(help="The clinic's administrators (the first one, before anyone can sign in).")


def _chosen_password(password_file: Path | None) -> str:
    """The password from the file's first line ('-': standard input), else asked for twice, never echoed."""
    if password_file is None:
        chosen: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return chosen
    try:
        text = sys.stdin.read() if str(password_file) == "-" else password_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        fail("--password-file: cannot be read as text")
    return text.splitlines()[0] if text.strip() else ""


@admin_app.command("create")
def admin_create(
    username: str,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="Read the password from this file's first line ('-': standard input), for automation.",
        ),
    ] = None,
) -> None:
    """Create an administrator (the first user of a new clinic) with a password that passes the clinic's policy.
    The password is never given on the command line, where other users of the machine could read it."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, add_user

    accounts = user_accounts()
    password = _chosen_password(password_file)
    if not password:
        fail("PASSWORD: a password is needed")
    try:
        add_user(accounts, username, "admin", password, check_password=True)
    except AccountError as error:
        fail(f"{error.field.upper()}: {error.problem}")
    stdout.print(f"administrator {username} created; sign in with bont serve", highlight=False)


def _account_failure(error: AccountError) -> NoReturn:
    """One line naming the argument or option the user accounts refused."""
    fail(f"{'USERNAME' if error.field == 'username' else '--' + error.field.replace('_', '-')}: {error.problem}")


def _moment(moment: datetime | None) -> str:
    """A moment as the clinic's clock reads it, to the minute; "never" when there is none."""
    return clock().local(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else "never"


@user_app.command("token")
def user_token(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for, e.g. the system that calls the API.")] = "",
    expires_in_days: Annotated[int, typer.Option(help="Days until the API refuses the token.")] = 90,
) -> None:
    """Create a bearer token for the JSON API; it is shown once and only its hash is kept."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, issue_api_token

    try:
        token = issue_api_token(user_accounts(), username, clock().now(), name, expires_in_days)
    except AccountError as error:
        _account_failure(error)
    stdout.print(f"token (shown once): {token}", highlight=False)


@user_app.command("tokens")
def user_tokens(username: str, as_json: JsonOption = False) -> None:
    """List a user's API tokens: id, name, created, expires, last used, revoked (never the token itself)."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError
    from bont.services.users import user_tokens as tokens_of

    try:
        rows = tokens_of(user_accounts(), username)
    except AccountError as error:
        _account_failure(error)
    now = clock().now()
    if as_json:
        emit_json(
            [
                {
                    "id": t.id,
                    "name": t.name,
                    "created": t.created_at.isoformat(),
                    "expires": t.expires_at.isoformat() if t.expires_at else None,
                    "last_used": t.last_used_at.isoformat() if t.last_used_at else None,
                    "revoked": t.revoked_at.isoformat() if t.revoked_at else None,
                    "state": t.state(now),
                }
                for t in rows
            ]
        )
        return
    table = Table(title="API tokens")
    for column in ("id", "name", "created", "expires", "last used", "revoked", "state"):
        table.add_column(column)
    for t in rows:
        table.add_row(
            str(t.id),
            escape(t.name),
            _moment(t.created_at),
            _moment(t.expires_at),
            _moment(t.last_used_at),
            _moment(t.revoked_at) if t.revoked_at else "",
            t.state(now),
        )
    stdout.print(table)


@user_app.command("revoke-token")
def user_revoke_token(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="Token id (bont user tokens).")],
) -> None:
    """Revoke an API token: the API refuses it from now on; the record of it stays."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, revoke_token

    try:
        revoke_token(user_accounts(), token_id, clock().now())
    except AccountError as error:
        fail(f"ID: {error.problem}")
    stdout.print(f"token {token_id} revoked", highlight=False)


@user_app.command("list")
def user_list(as_json: JsonOption = False) -> None:
    """List the users with their roles, whether they are disabled or locked out, and their last sign-in."""
    from bont.bootstrap import user_accounts

    rows = user_accounts().users()
    if as_json:
        emit_json(
            [
                {
                    "username": u.username,
                    "roles": list(u.roles),
                    "active": u.active,
                    "locked_out": u.locked_out,
                    "second_factor": u.second_factor,
                    "last_sign_in": u.last_sign_in.isoformat() if u.last_sign_in else None,
                }
                for u in rows
            ]
        )
        return
    table = Table(title="Users")
    for column in ("username", "roles", "state", "last sign-in"):
        table.add_column(column)
    for u in rows:
        state = ", ".join(
            ["active" if u.active else "disabled"]
            + (["locked out"] if u.locked_out else [])
            + (["authenticator app"] if u.second_factor else [])
        )
        table.add_row(escape(u.username), ", ".join(u.roles) or "none", state, _moment(u.last_sign_in))
    stdout.print(table)


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a user: they cannot sign in and their API tokens stop working; nothing is deleted."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, disable_user

    try:
        disable_user(user_accounts(), username)
    except AccountError as error:
        _account_failure(error)
    stdout.print("user disabled", highlight=False)


@user_app.command("enable")
def user_enable(username: str) -> None:
    """Enable a disabled user again."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, enable_user

    try:
        enable_user(user_accounts(), username)
    except AccountError as error:
        _account_failure(error)
    stdout.print("user enabled", highlight=False)


@user_app.command("role")
def user_role(
    username: str,
    role: Annotated[str, typer.Option(help="clinician, nurse, billing, researcher or admin")],
    remove: Annotated[bool, typer.Option("--remove", help="Take the role away instead of giving it.")] = False,
) -> None:
    """Give a user a role, or take one away (--remove)."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, change_role

    try:
        change_role(user_accounts(), username, role, remove=remove)
    except AccountError as error:
        _account_failure(error)
    stdout.print(f"role {role} {'removed' if remove else 'given'}", highlight=False)


@user_app.command("reset-password")
def user_reset_password(
    username: str,
    password_file: Annotated[
        Path | None,
        typer.Option(help="Read the new password from the first line of this file ('-': standard input)."),
    ] = None,
) -> None:
    """Set a new password, typed twice at a hidden prompt (or read from --password-file), never on the command
    line, where other users of the machine and the shell's history would see it."""
    from bont.bootstrap import user_accounts
    from bont.cli.common import read_text
    from bont.services.users import AccountError, reset_password

    accounts = user_accounts()
    if not accounts.exists(username):
        fail("USERNAME: no such user")
    if password_file is not None:
        lines = read_text("--password-file", password_file).splitlines()
        password = lines[0] if lines else ""
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        reset_password(accounts, username, password)
    except AccountError as error:
        _account_failure(error)
    stdout.print("password changed", highlight=False)


@user_app.command("remove-second-factor")
def user_remove_second_factor(username: str) -> None:
    """Forget a user's authenticator app (lost or replaced phone): they sign in with their password and may
    enrol a new one (BONT_TOTP)."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, remove_second_factor

    try:
        removed = remove_second_factor(user_accounts(), username)
    except AccountError as error:
        _account_failure(error)
    stdout.print("authenticator app removed" if removed else "user had no authenticator app", highlight=False)


@user_app.command("unlock")
def user_unlock(username: str) -> None:
    """Let a user locked out by failed sign-ins try again at once (from every address)."""
    from bont.bootstrap import user_accounts
    from bont.services.users import AccountError, unlock_user

    try:
        cleared = unlock_user(user_accounts(), username)
    except AccountError as error:
        _account_failure(error)
    stdout.print("user unlocked" if cleared else "user was not locked out", highlight=False)
