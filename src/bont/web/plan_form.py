"""Reading the plan builder's form (posted, so that no MRN or dose travels in a URL; the record-session page
still receives the plan's choices, without the MRN, in its query string) into a plan: shared by the plan
builder, the printable sheet and the record-session page, so all three compute the same sites from the same choices.

Protocol rows are addressed by their position in the protocol (``give:3``, ``units:3``, ``side:3``), because
one muscle can appear both as a standard row and as an optional one (follow-the-pain). ``rows_for`` names the
protocol the rows belong to; when the indication or product changes, the old rows are ignored.

Each row also carries the units and sites the plan computed for it (``auto:3``, ``auto_sites:3``) and the
weight they were computed for (``rows_weight``): a row the clinician left as computed is computed again when
the weight changes (weight-based rows) or when the plan would place it differently (sites). ``filled_from``
names the patient whose chart filled in the age and weight, so that choosing another patient refills them.

What cannot be planned yet for want of a choice (a weight, a side, a variant, a diluent volume, a product
with a protocol) is a *prompt*, shown without alarm; a value that was typed and refused is an *error*, shown
beside its field. Both are worded for a person, never as a field path or command-line syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from django.http import QueryDict

from bont.domain.canvas import SitePosition, read_placed
from bont.domain.doses import format_amount
from bont.domain.errors import FieldError, PlanningError, UnknownIdError
from bont.domain.evidence import Grade
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice, protocol_for
from bont.domain.products import Formulation
from bont.domain.protocols import LabelStatus, Laterality, MuscleDose, Protocol
from bont.domain.safety import Administration, Patient
from bont.services.patient_check import plan_for_patient
from bont.services.planning import CheckedPlan, plan_session
from bont.services.ports import PatientCharts
from bont.services.sessions import PatientRef, SessionRecords

MAXIMUM_ENTRY = Decimal(100000)
# Bounds of plausibility, not clinical limits: a typing slip beyond them is refused beside the field.
OLDEST_AGE = Decimal(130)
HEAVIEST_KG = Decimal(500)
DEVIATION_REASON_LENGTH = 2000  # as the form states
# Findings are listed most serious first: what blocks, then what needs an acknowledgement, then notes.
SEVERITY_RANK = {str(severity): rank for rank, severity in enumerate((Severity.BLOCK, Severity.WARN, Severity.INFO))}


@dataclass
class PlanForm:
    """What the form produced: a plan when the input allows one, and every refused field with its problem."""

    plan: CheckedPlan | None = None  # the plan and the safety check's verdict on it
    protocol: Protocol | None = None
    patient_row: PatientRef | None = None  # the stored patient chosen by MRN: id, MRN and name
    patient: Patient | None = None
    history: tuple[Administration, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)  # typed values that were refused, by field
    prompts: dict[str, str] = field(default_factory=dict)  # choices still needed before a plan, by field
    age: Decimal | None = None  # the age and weight planned with: typed, or from the chart
    weight_kg: Decimal | None = None
    filled_from: str = ""  # the MRN whose chart gave the age and weight shown
    placed: dict[str, SitePosition] = field(default_factory=dict)  # sites the clinician put on the canvas


# What each form field is called on the page, for messages in words.
FIELD_NAMES = {
    "indication": "Indication",
    "product": "Product",
    "variant": "Protocol variant",
    "mrn": "Patient MRN",
    "age": "Age",
    "weight_kg": "Weight",
    "side": "Side",
    "vial_units": "Vial size",
    "diluent_ml": "Diluent",
    "muscle": "Muscles",
    "muscles": "Muscles",
    "deviation_reason": "Reason for a deviation",
    "placed": "Site positions",
}
# Problems that mean "not chosen yet" when the field they name is empty: a prompt, not an error.
PROMPT_FIELDS = ("weight_kg", "side", "variant", "diluent_ml", "vial_units", "product", "deviation_reason")


@dataclass(frozen=True)
class ProductChoice:
    """A product offered for the chosen indication: approved (the label lists it) or off-label (a cited study
    protocol exists)."""

    id: str
    brand: str
    approved: bool


def product_choices(knowledge: KnowledgeBase, indication: str) -> list[ProductChoice]:
    """The products that have a protocol for the indication, approved ones first; every product when no
    indication is chosen."""
    if indication not in knowledge.indications:
        return [ProductChoice(p.id, p.brand, True) for p in knowledge.products.values()]
    chosen = knowledge.indications[indication]
    choices = [
        ProductChoice(p.id, p.brand, knowledge.status(chosen.id, p.id).status is LabelStatus.APPROVED)
        for p in knowledge.products.values()
        if chosen.protocols_for(p.id)
    ]
    return sorted(choices, key=lambda c: not c.approved)  # stable: the knowledge base's order within each


def no_protocol_prompt(knowledge: KnowledgeBase, indication: str, product: str) -> str | None:
    """Why a product cannot be planned for an indication (no protocol is recorded), or None when it can."""
    if indication not in knowledge.indications or product not in knowledge.products:
        return None
    chosen = knowledge.indications[indication]
    if chosen.protocols_for(product):
        return None
    status = knowledge.status(indication, product)
    others = ", ".join(c.brand for c in product_choices(knowledge, indication)) or "none"
    return (
        f"bont has no {knowledge.products[product].brand} protocol for {chosen.name.lower()} "
        f"({status.explanation}), so no plan can be made. Products with a protocol: {others}."
    )


def field_name(knowledge: KnowledgeBase, protocol: Protocol | None, key: str) -> str:
    """A form field's name as the page shows it (``units:3`` is "Units for Procerus")."""
    if ":" in key and protocol is not None:
        kind, _, index = key.partition(":")
        if index.isdigit() and int(index) < len(protocol.muscles):
            muscle = protocol.muscles[int(index)].muscle
            name = knowledge.targets[muscle].name if muscle in knowledge.targets else muscle
            return f"{kind.capitalize()} for {name}"
    return FIELD_NAMES.get(key, key.replace("_", " ").capitalize())


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
    if not value.is_finite():  # NaN and Infinity parse, but cannot be compared or planned with
        raise FieldError(name, "is not a number")
    too_small = value < 0 if zero_allowed else value <= 0
    if too_small or value > maximum:
        lowest = "from 0" if zero_allowed else "more than 0"
        raise FieldError(name, f"must be a number {lowest} up to {maximum}")
    return value


def form_count(params: QueryDict, name: str) -> int | None:
    """A whole number of sites from a form field, None when empty."""
    text = params.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise FieldError(name, "must be a whole number of sites from 1 to 100")
    return int(text)


def deviation_reason(params: QueryDict) -> str | None:
    """The reason typed for a deviation from the protocol, refused (never cut) beyond the length the form states."""
    text = params.get("deviation_reason", "").strip()
    if len(text) > DEVIATION_REASON_LENGTH:
        raise FieldError("deviation_reason", f"at most {DEVIATION_REASON_LENGTH} characters")
    return text or None


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
    ports default to the composition root's): the age on ``today`` and the latest weight come from the chart
    unless the clinician typed others for this patient."""
    form = PlanForm()
    indication, product = params.get("indication", ""), params.get("product", "")
    try:
        age = form_number(params, "age", maximum=OLDEST_AGE)
        weight = form_number(params, "weight_kg", maximum=HEAVIEST_KG)
        form.age, form.weight_kg = age, weight
        mrn = params.get("mrn", "").strip()
        if mrn:
            from bont import bootstrap

            charts = charts or bootstrap.patient_charts()
            form.patient_row = (patients or bootstrap.session_records()).patient(mrn)  # UnknownPatientError: "mrn"
            form.patient, form.history = charts.chart(mrn, today)
            filled_from = params.get("filled_from", "")
            if filled_from and filled_from != mrn:  # the age and weight shown were another patient's
                age = weight = None
            form.filled_from = mrn
            age = age if age is not None else form.patient.age_on(today)
            weight = weight if weight is not None else form.patient.weight_kg
            form.age, form.weight_kg = age, weight
        if not indication or not product:
            return form
        if (why := no_protocol_prompt(knowledge, indication, product)) is not None:
            form.prompts["product"] = why
            return form
        request = PlanRequest(
            indication=indication,
            product=product,
            on=today,
            age_years=age,
            weight_kg=weight,
            side=side_choice(params, "side"),
            variant=params.get("variant") or None,
            deviation_reason=deviation_reason(params),
            vial_units=form_number(params, "vial_units"),
            diluent_ml=form_number(params, "diluent_ml", maximum=Decimal(100)),
        )
        protocol = form.protocol = protocol_for(knowledge, request)
        try:  # after the protocol, so that a refusal names its muscle in words
            form.placed = read_placed(params.get("placed", ""))
        except ValueError as error:
            raise FieldError("placed", str(error)) from None
        if request.diluent_ml is not None and request.vial_units is None:
            # The planner would read the volume as per vial of the largest size; on a form that surprises.
            raise PlanningError("vial_units", "choose the vial size the diluent volume is for")
        if params.get("rows_for") == protocol.id:
            standard, optional = _row_choices(protocol, params, weight)
            request = replace(request, muscles=standard, optional=optional)
        if charts is not None and mrn:
            form.plan = plan_for_patient(charts, knowledge, mrn, request)
        else:
            form.plan = plan_session(knowledge, request)
    except UnknownIdError as error:
        form.errors["product" if error.kind == "product" else "indication"] = str(error)
    except FieldError as error:
        _file(knowledge, form, error, params)
    return form


def _row_choices(
    protocol: Protocol, params: QueryDict, weight: Decimal | None
) -> tuple[tuple[MuscleChoice, ...], tuple[MuscleChoice, ...]]:
    """The muscles ticked on the form. A row's units or sites left as the plan computed them are computed
    again: units when the weight changed (weight-based rows) or when they are a share of the initial dose
    (the share follows the muscles ticked and the units typed elsewhere), sites always."""
    weight_changed = params.get("rows_weight", "") != (_plain(weight) if weight is not None else "")
    standard: list[MuscleChoice] = []
    optional: list[MuscleChoice] = []
    for index, row in enumerate(protocol.muscles):
        if params.get(f"give:{index}") != "on":
            continue
        units = form_number(params, f"units:{index}")
        sites = form_count(params, f"sites:{index}")
        weight_based = row.units_per_kg is not None or bool(protocol.weight_bands)
        shared = row.units is None and not weight_based  # a share of the initial dose, divided among the rows
        as_computed = params.get(f"units:{index}") == params.get(f"auto:{index}")
        if as_computed and (shared or (weight_based and weight_changed)):
            units = None
        if params.get(f"sites:{index}") == params.get(f"auto_sites:{index}"):
            sites = None
        choice = MuscleChoice(
            row.muscle, side=side_choice(params, f"side:{index}"), units=units, sites=sites, optional=row.optional
        )
        (optional if row.optional else standard).append(choice)
    if not standard:
        raise FieldError("muscles", "choose at least one of the protocol's muscles")
    return tuple(standard), tuple(optional)


def _file(knowledge: KnowledgeBase, form: PlanForm, error: FieldError, params: QueryDict) -> None:
    """File a refusal, in words: beside a protocol row when it names one of the protocol's muscles, as a
    prompt when the choice it asks for was left empty, else as an error beside its field."""
    key = error.field.removeprefix("plan.").removeprefix("patient.")
    key = "age" if key == "age_years" else key  # the planner's name for the form's age field
    problem = _in_words(knowledge, form.protocol, error.problem)
    muscle = error.muscle if isinstance(error, PlanningError) else None
    rows = form.protocol.muscles if form.protocol is not None else ()
    index = next((i for i, row in enumerate(rows) if row.muscle == muscle), None)
    if index is not None and rows[index].optional != (params.get(f"give:{index}") == "on"):
        # the standard row of a muscle that also has an optional row: the ticked one is meant
        index = next((i for i, row in enumerate(rows) if row.muscle == muscle and i != index), index)
    if index is not None:
        if key == "side":
            if not params.get("side") and not params.get(f"side:{index}"):
                form.prompts["side"] = problem  # the form's side for per-side muscles answers it
            else:
                form.errors[f"side:{index}"] = problem
        else:
            form.errors[f"units:{index}"] = problem
    elif key in PROMPT_FIELDS and not params.get(key, "").strip():
        form.prompts[key] = problem
    else:
        form.errors[key] = problem


def _in_words(knowledge: KnowledgeBase, protocol: Protocol | None, problem: str) -> str:
    """A planner's message with the protocol's and the muscles' ids put in words."""
    if protocol is None:
        return problem
    problem = problem.replace(protocol.id, "the protocol")
    for row in protocol.muscles:
        if row.muscle in knowledge.targets:
            name = knowledge.targets[row.muscle].name
            problem = problem.replace(f"{row.muscle}: ", f"{name}: ").replace(row.muscle, name.lower())
    return problem[:1].upper() + problem[1:]


def _plain(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


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
    sites: str = ""  # per treated side for per-side rows, all sides together otherwise
    auto_units: str = ""  # what the plan computed, to tell it from what the clinician typed
    auto_sites: str = ""


def _label_range(row: MuscleDose) -> str:
    if row.units is not None:
        return str(row.units.value)
    if row.units_per_kg is not None:
        return str(row.units_per_kg.value)
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
        given, units, side, sites = False, "", "", ""
        auto_units = auto_sites = ""
        if echo:
            given = params.get(f"give:{index}") == "on"
            units, side = params.get(f"units:{index}", ""), params.get(f"side:{index}", "")
            sites = params.get(f"sites:{index}", "")
            auto_units, auto_sites = params.get(f"auto:{index}", ""), params.get(f"auto_sites:{index}", "")
        elif form.plan is None:
            given = not row.optional
        elif (muscle := planned.get((row.muscle, row.optional))) is not None:
            given = True
            sides = sorted({str(site.side) for site in muscle.sites})
            amount, count = muscle.units.amount, len(muscle.sites)
            if muscle.laterality is Laterality.PER_SIDE and sides:
                amount /= len(sides)
                count //= len(sides)
                side = "both" if len(sides) == 2 else sides[0]
            elif muscle.laterality is Laterality.BILATERAL and len(sides) == 1:
                side = sides[0]
            units = auto_units = _plain(amount)
            sites = auto_sites = str(count)
            if params.get("rows_for") == form.protocol.id:
                # The clinician's own figures are never recomputed, even when the plan now gives the same.
                typed_units, typed_sites = params.get(f"units:{index}", ""), params.get(f"sites:{index}", "")
                if typed_units and typed_units != params.get(f"auto:{index}", ""):
                    auto_units = ""
                if typed_sites and typed_sites != params.get(f"auto_sites:{index}", ""):
                    auto_sites = ""
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
                error=form.errors.get(f"units:{index}")
                or form.errors.get(f"sites:{index}")
                or form.errors.get(f"side:{index}")
                or "",
                sites=sites,
                auto_units=auto_units,
                auto_sites=auto_sites,
            )
        )
    return rows


@dataclass(frozen=True)
class Dilution:
    """The vial size and diluent fields of a product that is reconstituted."""

    vial_sizes: tuple[str, ...]
    label: str  # the label's reconstitution, in words, or why the diluent volume is needed


def dilution_fields(knowledge: KnowledgeBase, product: str) -> Dilution | None:
    """The vial size and diluent choices for a powder product; None for a ready-to-use solution."""
    if product not in knowledge.products:
        return None
    chosen = knowledge.products[product]
    if chosen.formulation is Formulation.SOLUTION:
        return None
    rows = [
        f"{format_amount(r.value.vial_units)} U in {format_amount(r.value.diluent_ml)} mL"
        for r in chosen.reconstitution
        if r.citation.grade is not Grade.UNVERIFIED
    ]
    label = (
        "Label dilutions: " + "; ".join(rows) + "."
        if rows
        else "No verified label dilution is recorded here: choose the vial size and give the diluent volume."
    )
    return Dilution(tuple(_plain(size) for size in chosen.vial_sizes), label)
