"""``bont patient next`` and ``bont patient check``: the chart's answers on the command line.

Both read the stored record and ask the same services as the web chart and plan builder, so the command
line, the browser and the API give one answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bont.bootstrap import build_knowledge, clock, patient_charts
from bont.cli.common import JsonOption, date_option, decimal_option, emit_json, fail, muscle_choices, stdout
from bont.cli.records import patient_app

__all__ = ["patient_app"]  # with next and check added here
from bont.domain.errors import FieldError, UnknownIdError
from bont.domain.planning import PlanRequest, SideChoice

if TYPE_CHECKING:
    from bont.domain.safety import SafetyReport

OnOption = Annotated[
    str | None, typer.Option("--on", help="The day to answer for, YYYY-MM-DD (default: today).", show_default=False)
]


@patient_app.command("next")
def patient_next(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.")], on: OnOption = None, as_json: JsonOption = False
) -> None:
    """When each indication's next session is allowed and recommended, from the safety check itself."""
    # Imported here, as in every command: the knowledge-only commands do not pay for the records' services.
    from bont.cli import render
    from bont.cli.operator import log_cli_read
    from bont.services import documents
    from bont.services.patient_check import next_for_patient

    today = date_option("--on", on) or clock().today()
    try:
        rows = next_for_patient(patient_charts(), build_knowledge(), mrn, today)
    except FieldError as error:
        fail(f"{error.field}: {error.problem}")
    log_cli_read("next-sessions", mrn)
    result = [documents.next_session_document(row) for row in rows]
    if as_json:
        emit_json(result)
    else:
        render.next_sessions(stdout, result)


@patient_app.command("check")
def patient_check(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.")],
    indication: Annotated[str, typer.Option(help="Indication id, e.g. upper-limb-spasticity.")],
    product: Annotated[str, typer.Option(help="Product id or brand, e.g. BOTOX.")],
    units: Annotated[str | None, typer.Option(help="Total units planned (or give --muscle).")] = None,
    muscle: Annotated[
        list[str] | None,
        typer.Option(help="A muscle as MUSCLE:SIDE=UNITS/SITES, as in bont plan; repeat (instead of --units)."),
    ] = None,
    variant: Annotated[str | None, typer.Option(help="Protocol variant where there are several.")] = None,
    side: Annotated[SideChoice | None, typer.Option(help="Side for per-side rows: left, right or both.")] = None,
    deviation_reason: Annotated[str | None, typer.Option(help="Written reason for a deviation.")] = None,
    on: OnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a plan against the stored patient and every recorded session, as the web plan builder does.
    Prints the document of ``bont check``; exit 0 for ok or warn, 3 for block, 2 for invalid input."""
    from bont.cli import render
    from bont.domain.safety import SessionPlan, Verdict
    from bont.services import documents
    from bont.services.patient_check import check_for_patient, plan_for_patient

    day = date_option("--on", on) or clock().today()
    if (units is None) == (not muscle):
        fail("--units: give either --units or --muscle")
    knowledge = build_knowledge()
    try:
        report: SafetyReport
        if units is not None:
            total = decimal_option("--units", units)
            plan = SessionPlan(product, indication, total_units=total, variant=variant)
            report = check_for_patient(patient_charts(), knowledge, mrn, day, plan)
        else:
            request = PlanRequest(
                indication=indication,
                product=product,
                on=day,
                variant=variant,
                side=side,
                muscles=muscle_choices("--muscle", muscle or []),
                deviation_reason=deviation_reason,
            )
            report = plan_for_patient(patient_charts(), knowledge, mrn, request).report
    except UnknownIdError as error:
        fail(f"--{error.kind}: {error}")
    except FieldError as error:
        fail(f"{_option(error.field)}: {error.problem}")
    from bont.cli.operator import log_cli_read

    log_cli_read("patient-check", mrn)  # the check reads the patient's history and record
    result = documents.safety_document(report)
    if as_json:
        emit_json(result)
    else:
        render.safety(stdout, result)
    if report.verdict is Verdict.BLOCK:
        raise typer.Exit(3)


def _option(field: str) -> str:
    """The option a refused field came from: plan.product is --product, weight_kg the stored weight."""
    name = field.removeprefix("plan.")
    return {"mrn": "MRN", "total_units": "--units", "sites": "--muscle"}.get(name, "--" + name.replace("_", "-"))
