"""``bont outcome``: enter a scale, show the verdicts per indication, write the continuation report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bont.bootstrap import build_knowledge, clock, outcome_records, patient_registry, user_accounts
from bont.cli.common import JsonOption, decimal_option, emit_json, fail, required_date, stdout

outcome_app = typer.Typer(help="Outcomes: scales, diaries, responder verdicts, continuation.", no_args_is_help=True)


@outcome_app.command("add")
def outcome_add(
    mrn: Annotated[str, typer.Option()],
    indication: Annotated[str, typer.Option()],
    instrument: Annotated[str, typer.Option(help="e.g. hdss, modified-ashworth, phq-9, twstrs")],
    on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    value: Annotated[
        str,
        typer.Option(help='A total, a grade ("1+"), yes/no, or JSON: items {"item-1": 2, ...}, {"r1": 60, "r2": 120}'),
    ],
    clinician: Annotated[str | None, typer.Option(help="Who entered it.")] = None,
) -> None:
    """Record one outcome measurement; its scale validates it (a Modified Ashworth grade of 5 is refused)."""
    knowledge = build_knowledge()
    records = outcome_records()
    from bont.domain.errors import FieldError, UnknownIdError
    from bont.services.outcomes import record_outcome

    raw = _raw_value(value)
    try:
        row = record_outcome(
            records,
            knowledge,
            mrn,
            indication,
            instrument,
            required_date("--date", on),
            raw,
            clinician,
            clock().today(),
        )
    except UnknownIdError as error:
        fail(f"--{error.kind}: {error}")
    except FieldError as error:
        option = "date" if error.field == "measured_on" else error.field.replace("_", "-")
        fail(f"--{option}: {error.problem}")
    stdout.print(f"outcome {row} recorded")


def _verdict(verdict: Any) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "cycle": verdict.cycle,
        "status": str(verdict.status),
        "reason": verdict.reason,
        "threshold": verdict.threshold,
        "source": verdict.citation.source.id,
        "grade": str(verdict.citation.grade),
        "unverified": list(verdict.unverified),
    }


@outcome_app.command("show")
def outcome_show(mrn: str, as_json: JsonOption = False) -> None:
    """Every indication's outcomes over cycles, the responder verdicts and the continuation advice."""
    knowledge = build_knowledge()
    records = outcome_records()
    from bont.cli.operator import log_cli_read
    from bont.services.outcomes import patient_outcomes
    from bont.services.ports import UnknownPatientError

    try:
        found = patient_outcomes(records, knowledge, mrn, clock().today())
    except UnknownPatientError as error:
        fail(f"MRN: {error.problem}")
    log_cli_read("outcomes", mrn)
    document: list[dict[str, Any]] = [
        {
            "indication": outcomes.indication.id,
            "sessions": [day.isoformat() for day in outcomes.sessions],
            "measures": [
                {
                    "instrument": series.instrument.id,
                    "points": [
                        {"date": m.on.isoformat(), "cycle": cycle, "score": str(m.score)} for m, cycle in series.points
                    ],
                    "verdicts": [
                        {"definition": j.definition.id, "per_cycle": [_verdict(v) for v in j.verdicts]}
                        for j in series.judgements
                    ],
                    "latest": _verdict(series.latest_verdict),
                    "continuation": [
                        {"rule": d.rule.id, "advice": str(d.advice), "reason": d.reason} for d in series.continuation
                    ],
                }
                for series in outcomes.series
            ],
        }
        for outcomes in found
    ]
    if as_json:
        emit_json(document)
        return
    for entry in document:
        stdout.print(f"[bold]{entry['indication']}[/bold] ({len(entry['sessions'])} sessions)")
        for measure in entry["measures"]:
            latest = measure["latest"]
            said = f"{latest['status']}: {latest['reason']}" if latest else "no responder definition"
            stdout.print(f"  {measure['instrument']}: {len(measure['points'])} measurements; {said}", highlight=False)


@outcome_app.command("report")
def outcome_report(
    mrn: str,
    indication: Annotated[str, typer.Option()],
    output: Annotated[Path, typer.Option(help="The PDF file to write.")],
) -> None:
    """Write the continuation report (PDF) for a patient and indication."""
    knowledge = build_knowledge()
    records = outcome_records()
    from bont.cli.operator import Action, log_cli_read
    from bont.domain.errors import UnknownIdError
    from bont.interop.continuation_pdf import render_continuation_pdf
    from bont.services.ports import UnknownPatientError
    from bont.services.report_documents import continuation_pdf_values, continuation_report_document

    try:
        document = continuation_pdf_values(
            continuation_report_document(
                records, patient_registry(), user_accounts(), knowledge, mrn, indication, clock().today()
            )
        )
    except UnknownPatientError as error:
        fail(f"MRN: {error.problem}")
    except UnknownIdError:
        fail("--indication: unknown indication")
    log_cli_read("continuation-report", mrn, indication, Action.PRINT)
    try:
        output.write_bytes(render_continuation_pdf(document))
    except OSError as error:
        fail(f"--output: cannot write it: {error.strerror}")
    stdout.print(f"wrote {output}")


@outcome_app.command("rule")
def outcome_rule(
    rule: Annotated[str, typer.Argument(help="A continuation rule id, e.g. nice-ta260-two-cycles.")],
    reason: Annotated[str, typer.Option(help="Why the clinic differs (payer, guideline).")],
    threshold: Annotated[str | None, typer.Option(help="Percent or level.")] = None,
    cycles: Annotated[int | None, typer.Option(min=1, max=20)] = None,
    months: Annotated[int | None, typer.Option(min=1, max=24)] = None,
    disable: Annotated[bool, typer.Option("--disable", help="Do not apply this rule in this clinic.")] = False,
) -> None:
    """Configure one of bont's cited continuation rules for this clinic (payers and guidelines differ)."""
    knowledge = build_knowledge()
    records = outcome_records()
    from bont.domain.errors import FieldError
    from bont.services.outcomes import configure_continuation_rule

    value = decimal_option("--threshold", threshold)
    try:
        configure_continuation_rule(records, knowledge, rule, reason, value, cycles, months, enabled=not disable)
    except FieldError as error:
        fail(f"{'RULE' if error.field == 'rule' else '--' + error.field}: {error.problem}")
    stdout.print(f"continuation rule {rule} configured for this clinic")


def _raw_value(value: str) -> Any:
    """What the scale scores: the text as typed, or the JSON of item scores."""
    if not value.lstrip().startswith(("{", "[")):
        return value
    from bont.interop import strict_json

    try:
        return strict_json.loads(value)
    except strict_json.JsonDocumentError as error:
        fail(f"--value: {error.field}: {error.problem}")


@outcome_app.command("correct")
def outcome_correct(
    outcome_id: Annotated[int, typer.Argument(metavar="ID", help="The measurement's id (bont outcome list).")],
    value: Annotated[str, typer.Option(help="The right value, as for bont outcome add.")],
    on: Annotated[str, typer.Option("--date", help="The day it was measured, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why the stored value was wrong.")],
    by: Annotated[str | None, typer.Option(help="Who corrects it (username), kept with both versions.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Correct a measurement entered wrongly, in one step: the right value is scored by the same scale, the wrong
    one is withdrawn ("corrected: REASON") and the right one stored in its place; refused, nothing changes."""
    from bont.domain.errors import FieldError
    from bont.services.outcomes import correct_outcome

    raw, measured_on = _raw_value(value), required_date("--date", on)
    try:
        new_id = correct_outcome(
            outcome_records(), build_knowledge(), outcome_id, measured_on, raw, reason, by, clock().today()
        )
    except FieldError as error:
        option = {"outcome": "ID", "measured_on": "--date"}.get(error.field, "--" + error.field.replace("_", "-"))
        fail(f"{option}: {error.problem}")
    if as_json:
        emit_json({"id": new_id, "corrects": outcome_id})
    else:
        stdout.print(f"outcome {outcome_id} corrected by outcome {new_id}")


@outcome_app.command("withdraw")
def outcome_withdraw(
    outcome_id: Annotated[int, typer.Argument(metavar="ID", help="The measurement's id (bont outcome list).")],
    reason: Annotated[str, typer.Option(help="Why the measurement was entered in error.")],
    by: Annotated[str | None, typer.Option(help="Who withdraws it (username), kept with the measurement.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a measurement entered in error: it is kept with the reason and who withdrew it, and no longer
    counts toward responders, continuation, follow-up or research. A wrong value is corrected with bont outcome
    correct."""
    from bont.domain.errors import FieldError
    from bont.services.outcomes import withdraw_outcome

    try:
        withdraw_outcome(outcome_records(), outcome_id, reason, by)
    except FieldError as error:
        fail(f"{'ID' if error.field == 'outcome' else '--' + error.field}: {error.problem}")
    if as_json:
        emit_json({"id": outcome_id, "withdrawn": True})
    else:
        stdout.print(f"outcome {outcome_id} withdrawn")


@outcome_app.command("list")
def outcome_list(mrn: str, as_json: JsonOption = False) -> None:
    """Every measurement stored for the patient, latest first, with its id; withdrawn ones marked."""
    from bont.cli.operator import log_cli_read
    from bont.services.outcomes import outcome_entries
    from bont.services.ports import UnknownPatientError

    try:
        entries = outcome_entries(outcome_records(), build_knowledge(), mrn)
    except UnknownPatientError as error:
        fail(f"MRN: {error.problem}")
    log_cli_read("outcome-list", mrn)
    document = [
        {
            "id": e.id,
            "indication": e.indication_id,
            "instrument": e.instrument,
            "date": e.measured_on.isoformat(),
            "value": e.value,
            "entered_by": e.entered_by,
            "withdrawn": e.withdrawn,
            "withdrawn_reason": e.withdrawn_reason or None,
            "withdrawn_by": e.withdrawn_by,
        }
        for e in entries
    ]
    if as_json:
        emit_json(document)
        return
    for row in document:
        said = f" — withdrawn: {row['withdrawn_reason']}" if row["withdrawn"] else ""
        stdout.print(
            f"{row['id']}  {row['date']}  {row['indication']}  {row['instrument']}: {row['value']}{said}",
            highlight=False,
        )
