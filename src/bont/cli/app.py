"""The ``bont`` command line.

Every command prints a readable table, or with ``--json`` exactly one JSON document on stdout.
Exit codes: 0 success, 1 the knowledge base failed to load, 2 bad input (an unknown id, a bad option).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bont.bootstrap import build_knowledge, clock, load_knowledge_files, load_study_catalogue, name_operator
from bont.cli import patients, records
from bont.cli.common import (
    JsonOption,
    decimal_option,
    emit_json,
    fail,
    read_text,
    stderr,
    stdout,
)
from bont.cli.evidence import evidence_app
from bont.cli.fhir import fhir_app
from bont.cli.operator import operator
from bont.cli.outcomes import outcome_app
from bont.cli.research import research_app
from bont.domain.errors import KnowledgeError, PlanningError, UnknownIdError
from bont.domain.evidence import Grade
from bont.domain.planning import SideChoice
from bont.domain.populations import Population

if TYPE_CHECKING:
    from bont.domain.knowledge import KnowledgeBase

# What a command needs beyond its options is imported inside it: `bont plan` pays neither for the records'
# adapters nor for the other commands' renderers, templates and document readers.


def _bont() -> typer.Typer:
    return typer.Typer(
        name="bont",
        help="Decision support for the therapeutic use of botulinum toxin. Not a prescriber: the clinician decides.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


app = _bont()
product_app = typer.Typer(help="One product in detail.", no_args_is_help=True)
indication_app = typer.Typer(help="One indication in detail.", no_args_is_help=True)
knowledge_app = typer.Typer(help="The knowledge base itself: audit and validation.", no_args_is_help=True)
app.add_typer(product_app, name="product")
app.add_typer(indication_app, name="indication")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(records.db_app, name="db")
app.add_typer(records.user_app, name="user")
app.add_typer(patients.patient_app, name="patient")  # records.py's commands and next, check
app.add_typer(records.lot_app, name="lot")
app.add_typer(records.session_app, name="session")
app.add_typer(records.billing_app, name="billing")
app.add_typer(records.event_app, name="adverse-event")
app.add_typer(outcome_app, name="outcome")
app.add_typer(research_app, name="research")
app.add_typer(evidence_app, name="evidence")
app.add_typer(fhir_app, name="fhir")
app.command("backup")(records.backup)
app.command("restore")(records.restore)
app.command("demo")(records.demo)
app.command("serve")(records.serve)
app.add_typer(records.admin_app, name="admin")

OPERATOR_VARIABLE = "BONT_OPERATOR"


@app.callback()
def named_operator(
    context: typer.Context,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            envvar=OPERATOR_VARIABLE,
            metavar="USERNAME",
            show_envvar=True,
            help="The clinic user running the command: recorded as the user of every change it makes and as the "
            "reader of the patient data it shows. Without it the audit says: command line (no operator named).",
        ),
    ] = None,
) -> None:
    """Name the operator for the whole command (an active user), and forget them when it ends."""
    if not as_user:
        return
    forget = name_operator(as_user)
    if forget is None:
        fail(f"--as (or {OPERATOR_VARIABLE}): no active user has this username", 2)
    token = operator.set(as_user)

    def forget_at_the_end() -> None:
        forget()
        operator.reset(token)

    context.call_on_close(forget_at_the_end)


def _knowledge() -> KnowledgeBase:
    try:
        return build_knowledge()
    except KnowledgeError as error:
        fail(f"the knowledge base failed to load: {error}", 1)


@app.command("products")
def list_products(as_json: JsonOption = False) -> None:
    """List the botulinum toxin products."""
    from bont.cli import render
    from bont.services import documents

    knowledge = _knowledge()
    summaries = [documents.product_summary(product) for product in knowledge.products.values()]
    if as_json:
        emit_json(summaries)
    else:
        render.products_table(stdout, summaries)


@product_app.command("show")
def show_product(product_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOption = False) -> None:
    """Show one product: vials, NDCs, reconstitution, storage, billing, approvals and limits."""
    from bont.cli import render
    from bont.services import documents

    knowledge = _knowledge()
    try:
        product = knowledge.product(product_id)
    except UnknownIdError as error:
        fail(str(error), 2)
    document = documents.product_document(product)
    if as_json:
        emit_json(document)
    else:
        render.product(stdout, document)


@app.command("indications")
def list_indications(as_json: JsonOption = False) -> None:
    """List the indications with their codes and approved products."""
    from bont.cli import render
    from bont.services import documents

    knowledge = _knowledge()
    summaries = [documents.indication_summary(i, knowledge) for i in knowledge.indications.values()]
    if as_json:
        emit_json(summaries)
    else:
        render.indications_table(stdout, summaries)


@indication_app.command("show")
def show_indication(indication_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOption = False) -> None:
    """Show one indication: codes, label status per product, and every protocol with its sources."""
    from bont.cli import render
    from bont.services import documents

    knowledge = _knowledge()
    try:
        indication = knowledge.indication(indication_id)
    except UnknownIdError as error:
        fail(str(error), 2)
    document = documents.indication_document(indication, knowledge)
    if as_json:
        emit_json(document)
    else:
        render.indication(stdout, document)


@app.command("muscles")
def list_muscles(as_json: JsonOption = False) -> None:
    """List the injection targets (muscles, glands, skin areas) with their body regions."""
    from bont.cli import render
    from bont.services import documents

    knowledge = _knowledge()
    rows = [
        {
            "id": target.id,
            "name": target.name,
            "region": str(target.region),
            "kind": str(target.kind),
            "paired": target.paired,
            "aliases": list(target.aliases),
            "diagram": [
                {"view": str(p.view), "x": documents.number(p.x), "y": documents.number(p.y)} for p in target.diagram
            ],
        }
        for target in knowledge.targets.values()
    ]
    if as_json:
        emit_json(rows)
    else:
        render.muscles_table(stdout, rows)


@knowledge_app.command("audit")
def audit_knowledge(
    grade: Annotated[Grade | None, typer.Option(help="Only figures of this grade.", case_sensitive=False)] = None,
    blocking: Annotated[
        bool, typer.Option("--blocking", help="Only the figures that can block a session, with quote and source.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List every cited figure by grade, kind (limit or recommendation) and wording: what rests on the label, on
    a summary, a study, or nothing verified, and which figures can block a session."""
    from bont.cli import render
    from bont.services.audit import audit

    knowledge = _knowledge()
    rows, counts = audit(knowledge, grade, blocking)
    if as_json:
        emit_json(
            {
                "counts": {str(g): counts.get(g, 0) for g in Grade},
                "figures": [
                    {
                        "path": row.path,
                        "value": row.value,
                        "grade": str(row.grade),
                        "kind": str(row.kind) if row.kind else None,
                        "wording": row.wording,
                        "blocks": row.blocks,
                        "source": row.source,
                        "locator": row.locator,
                        "note": row.note,
                    }
                    for row in rows
                ],
            }
        )
    else:
        render.audit(stdout, rows, counts)


@knowledge_app.command("validate")
def validate_knowledge(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="A folder of knowledge files to validate instead of the one in use.", file_okay=False),
    ] = None,
) -> None:
    """Load and validate every knowledge file; on a problem, name the file and the field and exit 1."""
    try:
        knowledge = load_knowledge_files(data_dir)
        catalogue = load_study_catalogue(knowledge, data_dir)
    except KnowledgeError as error:
        fail(str(error), 1)
    protocols = sum(1 for _ in knowledge.protocols())
    figures = sum(1 for _ in knowledge.figures())
    stdout.print(
        f"ok: {len(knowledge.products)} products, {len(knowledge.indications)} indications, "
        f"{protocols} protocols, {len(knowledge.targets)} targets, {figures} cited figures, "
        f"{len(catalogue.studies)} studies, {len(catalogue.trials)} registered trials"
    )


# -- planning and reconstitution


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    HTML = "html"


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"--output: cannot write {output}: {error.strerror}", 2)
    stderr.print(f"wrote {output}", highlight=False)


@app.command("plan")
def plan(
    indication: Annotated[str, typer.Option(help="Indication id, e.g. chronic-migraine.")],
    product: Annotated[str, typer.Option(help="Product id or brand, e.g. onabotulinumtoxinA or BOTOX.")],
    on: Annotated[
        str | None, typer.Option("--date", help="Session date, YYYY-MM-DD (default: today).", show_default=False)
    ] = None,
    population: Annotated[Population | None, typer.Option(help="adult or pediatric (default: from age).")] = None,
    variant: Annotated[str | None, typer.Option(help="Protocol variant where there are several.")] = None,
    age: Annotated[str | None, typer.Option(help="Age in years.")] = None,
    birth_date: Annotated[str | None, typer.Option(help="Birth date, YYYY-MM-DD (instead of --age).")] = None,
    weight_kg: Annotated[str | None, typer.Option(help="Body weight in kg (needed for weight-based doses).")] = None,
    side: Annotated[SideChoice | None, typer.Option(help="Side for per-side rows: left, right or both.")] = None,
    muscle: Annotated[
        list[str] | None,
        typer.Option(
            help="Choose a muscle as MUSCLE:SIDE=UNITS/SITES, side, units and sites optional "
            "(e.g. biceps-brachii:left=100/4); repeat. Default: the protocol's muscles."
        ),
    ] = None,
    optional: Annotated[
        list[str] | None, typer.Option(help="Add an optional protocol row (e.g. follow-the-pain), same syntax.")
    ] = None,
    deviation_reason: Annotated[
        str | None, typer.Option(help="Written reason that allows a deviation from the protocol.")
    ] = None,
    vial_units: Annotated[str | None, typer.Option(help="Open vials of this size only.")] = None,
    diluent_ml: Annotated[str | None, typer.Option(help="Diluent per vial in mL (default: the label's).")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="table, json or html.")] = OutputFormat.TABLE,
    as_json: JsonOption = False,
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    patient: Annotated[
        Path | None,
        typer.Option(help="JSON file with the patient, history and vials: the plan is then safety-checked."),
    ] = None,
) -> None:
    """Plan a session: sites with units and volumes, vials and diluent, syringes, units drawn and waste.

    With --patient the plan is also checked against the label, the patient and the history; the exit code
    is then 3 when the check blocks.
    """
    from bont.cli import render
    from bont.domain.safety import Verdict
    from bont.interop.plan_options import OptionError, PlanOptions, plan_from_options
    from bont.services import documents

    knowledge = _knowledge()
    options = PlanOptions(
        indication=indication,
        product=product,
        on=on,
        population=population,
        variant=variant,
        age=age,
        birth_date=birth_date,
        weight_kg=weight_kg,
        side=side,
        muscles=tuple(muscle or ()),
        optional=tuple(optional or ()),
        deviation_reason=deviation_reason,
        vial_units=vial_units,
        diluent_ml=diluent_ml,
        patient=None if patient is None else read_text("--patient", patient),
    )
    try:
        checked = plan_from_options(knowledge, clock(), options)
    except OptionError as error:
        fail(f"{error.field}: {error.problem}", 2)
    document = documents.plan_document(checked, knowledge)
    report = checked.report
    chosen = OutputFormat.JSON if as_json else output_format
    if chosen is OutputFormat.JSON:
        _write(json.dumps(document, ensure_ascii=False, indent=2) + "\n", output)
    elif chosen is OutputFormat.HTML:
        from bont.interop.procedure_sheet import render_procedure_sheet

        _write(render_procedure_sheet(document), output)
    else:
        render.plan(stdout, document)
    if report is not None and report.verdict is Verdict.BLOCK:
        raise typer.Exit(3)


@app.command("check")
def check_command(
    document: Annotated[Path, typer.Argument(metavar="FILE|-", help="The check document (JSON); - reads stdin.")],
    as_json: JsonOption = False,
) -> None:
    """Check a plan against the label, the patient's conditions, medicines and allergies, and the whole
    history. Exit 0 for ok or warn, 3 for block, 2 for an invalid document (the field is named)."""
    from bont.cli import render
    from bont.domain.safety import SafetyReport, Verdict, check
    from bont.interop.check_document import InputError, read_check
    from bont.services import documents

    knowledge = _knowledge()
    try:
        request = read_check(read_text("FILE", document), clock(), knowledge)
        report: SafetyReport = check(knowledge, request)
    except InputError as error:
        fail(f"{error.field}: {error.problem}", 2)
    except PlanningError as error:
        fail(f"{error.field}: {error.problem}", 2)
    result = documents.safety_document(report)
    if as_json:
        emit_json(result)
    else:
        render.safety(stdout, result)
    if report.verdict is Verdict.BLOCK:
        raise typer.Exit(3)


@app.command("dilute")
def dilute_command(
    product: Annotated[str, typer.Option(help="Product id or brand.")],
    vial_units: Annotated[str, typer.Option(help="Units in the vial, e.g. 100.")],
    diluent_ml: Annotated[str | None, typer.Option(help="Diluent added, in mL.")] = None,
    units_per_0_1_ml: Annotated[
        str | None, typer.Option("--units-per-0.1-ml", help="The concentration wanted (the inverse).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Reconstitution arithmetic: concentration from a diluent volume, or the diluent for a concentration."""
    from bont.cli import render
    from bont.domain.dilution import dilute, label_source
    from bont.interop.plan_options import option_name
    from bont.services import documents

    knowledge = _knowledge()
    try:
        chosen = knowledge.product(product)
        check, findings = dilute(
            chosen,
            decimal_option("--vial-units", vial_units) or Decimal(0),
            decimal_option("--diluent-ml", diluent_ml),
            decimal_option("--units-per-0.1-ml", units_per_0_1_ml),
        )
    except UnknownIdError as error:
        fail(f"--product: {error}", 2)
    except PlanningError as error:
        fail(f"{option_name(error.field)}: {error.problem}", 2)
    document = documents.dilution_document(check, findings, label_source(chosen, check))
    if as_json:
        emit_json(document)
    else:
        render.dilution(stdout, document)


def app_for(args: list[str]) -> typer.Typer:
    """The app with only the command (or group of commands) that ``args`` name, beside the operator option.

    Typer builds every command's parameters before it runs one: a third of the start-up of ``bont plan``. The
    command named alone answers exactly as in the whole app; arguments that start with an option, or name no
    command, get the whole app (its help, its "no such command" and suggestions)."""
    name = args[0] if args else "-"
    commands = [command for command in app.registered_commands if command.name == name]
    groups = [group for group in app.registered_groups if group.name == name]
    if name.startswith("-") or len(commands) + len(groups) != 1:
        return app
    alone = _bont()
    alone.registered_callback = app.registered_callback
    alone.registered_commands, alone.registered_groups = commands, groups
    return alone


def main() -> None:
    app_for(sys.argv[1:])()
