"""Reading the plan builder's form (query string) into a plan: shared by the plan builder, the printable
sheet and the record-session page, so all three compute the same sites from the same choices.

Protocol rows are addressed by their position in the protocol (``give:3``, ``units:3``, ``side:3``), because
one muscle can appear both as a standard row and as an optional one (follow-the-pain). ``rows_for`` names the
protocol the rows belong to; when the indication or product changes, the old rows are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from django.http import QueryDict

from bont.domain.errors import FieldError, UnknownIdError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice, protocol_for
from bont.domain.protocols import Laterality, MuscleDose, Protocol
from bont.domain.safety import Administration, Patient
from bont.services.patient_check import plan_for_patient
from bont.services.planning import CheckedPlan, plan_session
from bont.services.ports import PatientCharts
from bont.services.sessions import PatientRef, SessionRecords

MAXIMUM_ENTRY = Decimal(100000)


@dataclass
class PlanForm:
    """What the form produced: a plan when the input allows one, and every refused field with its problem."""

    plan: CheckedPlan | None = None  # the plan and the safety check's verdict on it
    protocol: Protocol | None = None
    patient_row: PatientRef | None = None  # the stored patient chosen by MRN: id, MRN and name
    patient: Patient | None = None
    history: tuple[Administration, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)


def form_number(
    params: QueryDict, name: str, *, zero_allowed: bool = False, maximum: Decimal = MAXIMUM_ENTRY
) -> Decimal | None:
    """A number from a form field (more than 0, or 0 or more with ``zero_allowed``), None when empty."""
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldError(name, "is not a number") from None
    too_small = value < 0 if zero_allowed else value <= 0
    if not value.is_finite() or too_small or value > maximum:
        lowest = "from 0" if zero_allowed else "more than 0"
        raise FieldError(name, f"must be a number {lowest} up to {maximum}")
    return value


def side_choice(params: QueryDict, name: str) -> SideChoice | None:
    text = params.get(name, "")
    if not text:
        return None
    try:
        return SideChoice(text)
    except ValueError:
        raise FieldError(name, f"must be one of {', '.join(s.value for s in SideChoice)}") from None


def read_plan_form(
    knowledge: KnowledgeBase,
    params: QueryDict,
    today: date,
    *,
    charts: PatientCharts | None = None,
    patients: SessionRecords | None = None,
) -> PlanForm:
    """The plan of the form's choices; with an ``mrn``, made for and checked against the stored patient (the
    ports default to the composition root's)."""
    form = PlanForm()
    indication, product = params.get("indication", ""), params.get("product", "")
    if not indication or not product:
        return form
    try:
        age, weight = form_number(params, "age"), form_number(params, "weight_kg")
        mrn = params.get("mrn", "").strip()
        if mrn:
            from bont import bootstrap

            charts = charts or bootstrap.patient_charts()
            form.patient_row = (patients or bootstrap.session_records()).patient(mrn)  # UnknownPatientError: "mrn"
            form.patient, form.history = charts.chart(mrn, today)
            age = age or form.patient.age_on(today)
            weight = weight or form.patient.weight_kg
        request = PlanRequest(
            indication=indication,
            product=product,
            on=today,
            age_years=age,
            weight_kg=weight,
            side=side_choice(params, "side"),
            variant=params.get("variant") or None,
            deviation_reason=params.get("deviation_reason", "").strip() or None,
        )
        protocol = form.protocol = protocol_for(knowledge, request)
        if params.get("rows_for") == protocol.id:
            standard: list[MuscleChoice] = []
            optional: list[MuscleChoice] = []
            for index, row in enumerate(protocol.muscles):
                if params.get(f"give:{index}") != "on":
                    continue
                choice = MuscleChoice(
                    row.muscle,
                    side=side_choice(params, f"side:{index}"),
                    units=form_number(params, f"units:{index}"),
                    optional=row.optional,
                )
                (optional if row.optional else standard).append(choice)
            if not standard:
                raise FieldError("muscles", "choose at least one of the protocol's muscles")
            request = replace(request, muscles=tuple(standard), optional=tuple(optional))
        if charts is not None and mrn:
            form.plan = plan_for_patient(charts, knowledge, mrn, request)
        else:
            form.plan = plan_session(knowledge, request)
    except UnknownIdError as error:
        form.errors["product" if error.kind == "product" else "indication"] = str(error)
    except FieldError as error:
        form.errors[error.field] = error.problem
    return form


@dataclass(frozen=True)
class ProtocolRow:
    """One protocol row as the form shows it: what the current plan gives there, or what was typed."""

    index: int
    muscle: str
    name: str
    laterality: str
    optional: bool
    label_range: str
    given: bool
    units: str  # in the row's own terms: per treated side for per-side rows
    side: str
    error: str


def _label_range(row: MuscleDose) -> str:
    if row.units is not None:
        return str(row.units.value)
    if row.units_per_kg is not None:
        return f"{row.units_per_kg.value} per kg"
    return "—"


def protocol_rows(knowledge: KnowledgeBase, form: PlanForm, params: QueryDict) -> list[ProtocolRow]:
    """The protocol's rows for the form. With a plan, each row shows what the plan gives; when the input was
    refused, each row shows what was typed, so nothing the clinician entered is lost."""
    if form.protocol is None:
        return []
    planned = {(m.muscle, m.optional): m for m in form.plan.plan.muscles} if form.plan else {}
    echo = form.plan is None and params.get("rows_for") == form.protocol.id
    rows = []
    for index, row in enumerate(form.protocol.muscles):
        given, units, side = False, "", ""
        if echo:
            given = params.get(f"give:{index}") == "on"
            units, side = params.get(f"units:{index}", ""), params.get(f"side:{index}", "")
        elif form.plan is None:
            given = not row.optional
        elif (muscle := planned.get((row.muscle, row.optional))) is not None:
            given = True
            sides = sorted({str(site.side) for site in muscle.sites})
            amount = muscle.units.amount
            if muscle.laterality is Laterality.PER_SIDE and sides:
                amount /= len(sides)
                side = "both" if len(sides) == 2 else sides[0]
            units = f"{amount.normalize():f}"
        rows.append(
            ProtocolRow(
                index=index,
                muscle=row.muscle,
                name=knowledge.targets[row.muscle].name if row.muscle in knowledge.targets else row.muscle,
                laterality=str(row.laterality),
                optional=row.optional,
                label_range=_label_range(row),
                given=given,
                units=units,
                side=side,
                error=form.errors.get(f"units:{index}") or form.errors.get(f"side:{index}") or "",
            )
        )
    return rows
