"""The JSON document that ``bont check`` reads, validated with pydantic and turned into domain objects.

Unknown keys are errors, so a misspelt field is never silently ignored. Error messages name the field
and never repeat its value: the document holds patient data. A time without a UTC offset is the clinic's
wall-clock time (``BONT_TIME_ZONE``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bont.domain.adverse_events import EventSeverity
from bont.domain.code_sets import UNKNOWN_CODE
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import (
    Administration,
    CheckRequest,
    Patient,
    PriorAdverseEvent,
    SessionPlan,
    SessionSite,
    VialInUse,
)
from bont.interop import strict_json
from bont.services.clock import Clock


class InputError(FieldError):
    """The check document is not valid; ``field`` names where."""


# Every string and list has a bound, so that nothing over-long reaches the database or the check.
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]  # an id, a code, a term, a lot number
Text = Annotated[str, StringConstraints(max_length=2000)]  # a reason or a note written by a person
MAX_ITEMS = 200  # sites, history entries, draws...: far more than one patient or session has
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999
_Day = TypeVar("_Day", bound=date)


def _in_calendar(day: _Day) -> _Day:
    """A day or moment of a patient's care: the calendar's ends (year 1, year 9999) are typing errors, and a
    time-zone shift or an interval added to them would fall outside what Python can count."""
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise ValueError(f"is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return day


Day = Annotated[date, AfterValidator(_in_calendar)]
Moment = Annotated[datetime, AfterValidator(_in_calendar)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatientIn(StrictModel):
    birth_date: Day | None = None
    sex: Name | None = None
    weight_kg: Decimal | None = Field(default=None, ge=Decimal("0.3"), le=500)
    conditions: list[Name] = Field(default=[], max_length=MAX_ITEMS)
    medications: list[Name] = Field(default=[], max_length=MAX_ITEMS)
    allergies: list[Name] = Field(default=[], max_length=MAX_ITEMS)
    pregnant: bool = False
    breastfeeding: bool = False
    catheterizes: bool = False

    def age_years_on(self, day: date) -> Decimal | None:
        return self.to_domain().age_on(day)

    def coded(self, knowledge: KnowledgeBase) -> PatientIn:
        """The patient with every condition written as an ICD-10-CM code in the code set's form (``l03221`` →
        ``L03.221``); raises ``InputError`` naming ``patient.conditions.N`` for a term written as a code that
        ICD-10-CM does not hold. Names are kept as written, to be matched or reported as unrecognised."""
        for index, term in enumerate(self.conditions):
            if knowledge.is_unknown_code(term):
                raise InputError(f"patient.conditions.{index}", UNKNOWN_CODE)
        return self.model_copy(update={"conditions": [knowledge.condition_code(t) or t for t in self.conditions]})

    def to_domain(self) -> Patient:
        return Patient(
            birth_date=self.birth_date,
            sex=self.sex,
            weight_kg=self.weight_kg,
            conditions=tuple(self.conditions),
            medications=tuple(self.medications),
            allergies=tuple(self.allergies),
            pregnant=self.pregnant,
            breastfeeding=self.breastfeeding,
            catheterizes=self.catheterizes,
        )


class HistoryIn(StrictModel):
    date: Day
    product: Name
    indication: Name
    units: Decimal = Field(gt=0, le=100_000)
    # recorded for reference; the check uses the units
    sites: list[dict[Name, Any]] = Field(default=[], max_length=MAX_ITEMS)


class AdverseEventIn(StrictModel):
    """An earlier adverse event: its onset, the product and indication of the treatment suspected (when
    known), the term, its intensity and whether it was serious (ICH E2A: death, life-threatening,
    hospitalisation, disability, congenital anomaly or another important medical event)."""

    date: Day
    product: str | None = Field(default=None, min_length=1, max_length=100)
    indication: str | None = Field(default=None, min_length=1, max_length=100)
    term: str = Field(min_length=1, max_length=100)
    severity: Literal["mild", "moderate", "severe"]
    serious: bool

    def to_domain(self) -> PriorAdverseEvent:
        return PriorAdverseEvent(
            self.date, self.term, EventSeverity(self.severity), self.serious, self.product, self.indication
        )


class SiteIn(StrictModel):
    muscle: str = Field(min_length=1, max_length=60)  # as long as a recorded site's muscle may be
    side: str | None = Field(default=None, min_length=1, max_length=10)
    units: Decimal = Field(gt=0, le=100_000)
    volume_ml: Decimal | None = Field(default=None, gt=0, le=1000)


class PlanIn(StrictModel):
    product: Name
    indication: Name
    total_units: Decimal | None = Field(default=None, gt=0, le=100_000)
    sites: list[SiteIn] = Field(default=[], max_length=MAX_ITEMS)
    variant: Name | None = None
    deviation_reason: Text | None = None


class VialIn(StrictModel):
    product: Name
    lot: Name | None = None
    lot_expiry: Day | None = None
    reconstituted_at: Moment | None = None


class CheckIn(StrictModel):
    date: Day
    at: Moment | None = None
    patient: PatientIn
    history: list[HistoryIn] = Field(default=[], max_length=MAX_ITEMS)
    adverse_events: list[AdverseEventIn] = Field(default=[], max_length=MAX_ITEMS)
    plan: PlanIn
    vials: list[VialIn] = Field(default=[], max_length=MAX_ITEMS)

    def to_domain(self, clock: Clock, knowledge: KnowledgeBase | None = None) -> CheckRequest:
        """The check request; with the knowledge base, the conditions as in ``PatientIn.coded`` (without it,
        as written: a unit test's shortcut, every command and the API pass it)."""
        if self.plan.total_units is None and not self.plan.sites:
            raise InputError("plan", "give total_units and/or sites")
        patient = self.patient if knowledge is None else self.patient.coded(knowledge)
        return CheckRequest(
            on=self.date,
            at=local_moment(self.at, clock),
            patient=patient.to_domain(),
            plan=SessionPlan(
                product=self.plan.product,
                indication=self.plan.indication,
                total_units=self.plan.total_units,
                sites=tuple(SessionSite(s.muscle, s.side, s.units, s.volume_ml) for s in self.plan.sites),
                variant=self.plan.variant,
                deviation_reason=self.plan.deviation_reason,
            ),
            history=_history(self.history),
            vials=_vials(self.vials, clock),
            adverse_events=tuple(event.to_domain() for event in self.adverse_events),
        )


class PatientFile(StrictModel):
    """What ``bont plan --patient FILE`` reads: the patient, their history, adverse events and any vials in hand."""

    patient: PatientIn
    history: list[HistoryIn] = Field(default=[], max_length=MAX_ITEMS)
    adverse_events: list[AdverseEventIn] = Field(default=[], max_length=MAX_ITEMS)
    vials: list[VialIn] = Field(default=[], max_length=MAX_ITEMS)

    def request_for(self, on: date, plan: SessionPlan, clock: Clock) -> CheckRequest:
        return CheckRequest(
            on=on,
            patient=self.patient.to_domain(),
            plan=plan,
            history=_history(self.history),
            vials=_vials(self.vials, clock),
            adverse_events=tuple(event.to_domain() for event in self.adverse_events),
        )


def _history(items: list[HistoryIn]) -> tuple[Administration, ...]:
    return tuple(Administration(h.date, h.product, h.indication, h.units) for h in items)


def _vials(items: list[VialIn], clock: Clock) -> tuple[VialInUse, ...]:
    return tuple(VialInUse(v.product, v.lot, v.lot_expiry, local_moment(v.reconstituted_at, clock)) for v in items)


def local_moment(moment: datetime | None, clock: Clock) -> datetime | None:
    """A document's moment made timezone-aware: without an offset it is the clinic's wall-clock time."""
    return None if moment is None else clock.local(moment)


def first_error(error: ValidationError) -> InputError:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(document)"
    return InputError(field, first["msg"])


def parse_json(document: bytes | str) -> Any:
    """The document's value, read as strict JSON (``bont.interop.strict_json``); raises ``InputError``."""
    try:
        return strict_json.loads(document)
    except strict_json.JsonDocumentError as error:
        raise InputError(error.field, error.problem) from None


def read_check(text: bytes | str, clock: Clock, knowledge: KnowledgeBase | None = None) -> CheckRequest:
    """Parse and validate a check document (its conditions against ICD-10-CM when ``knowledge`` is given, as
    every command does); raises ``InputError`` naming the first bad field."""
    try:
        document = CheckIn.model_validate(parse_json(text))
    except ValidationError as error:
        raise first_error(error) from error
    return document.to_domain(clock, knowledge)


def read_patient_file(text: bytes | str, knowledge: KnowledgeBase) -> PatientFile:
    """Parse and validate a patient file (its conditions as in ``PatientIn.coded``); raises ``InputError``."""
    try:
        document = PatientFile.model_validate(parse_json(text))
    except ValidationError as error:
        raise first_error(error) from error
    return document.model_copy(update={"patient": document.patient.coded(knowledge)})
