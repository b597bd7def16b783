"""The JSON document that ``bont check`` reads, validated with pydantic and turned into domain objects.

Unknown keys are errors, so a misspelt field is never silently ignored. Error messages name the field
and never repeat its value: the document holds patient data. A time without a UTC offset is the clinic's
wall-clock time (``BONT_TIME_ZONE``).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
from bont.services.clock import Clock


class InputError(FieldError):
    """The check document is not valid; ``field`` names where."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatientIn(StrictModel):
    birth_date: date | None = None
    sex: str | None = None
    weight_kg: Decimal | None = Field(default=None, ge=Decimal("0.3"), le=500)
    conditions: list[str] = []
    medications: list[str] = []
    allergies: list[str] = []
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
    date: date
    product: str
    indication: str
    units: Decimal = Field(gt=0, le=100_000)
    sites: list[dict[str, Any]] = []  # recorded for reference; the check uses the units


class AdverseEventIn(StrictModel):
    """An earlier adverse event: its onset, the product and indication of the treatment suspected (when
    known), the term, its intensity and whether it was serious (ICH E2A: death, life-threatening,
    hospitalisation, disability, congenital anomaly or another important medical event)."""

    date: date
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
    muscle: str
    side: str | None = None
    units: Decimal = Field(gt=0, le=100_000)
    volume_ml: Decimal | None = Field(default=None, gt=0, le=1000)


class PlanIn(StrictModel):
    product: str
    indication: str
    total_units: Decimal | None = Field(default=None, gt=0, le=100_000)
    sites: list[SiteIn] = []
    variant: str | None = None
    deviation_reason: str | None = None


class VialIn(StrictModel):
    product: str
    lot: str | None = None
    lot_expiry: date | None = None
    reconstituted_at: datetime | None = None


class CheckIn(StrictModel):
    date: date
    at: datetime | None = None
    patient: PatientIn
    history: list[HistoryIn] = []
    adverse_events: list[AdverseEventIn] = []
    plan: PlanIn
    vials: list[VialIn] = []

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
    history: list[HistoryIn] = []
    adverse_events: list[AdverseEventIn] = []
    vials: list[VialIn] = []

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


MAX_DOCUMENT_CHARACTERS = 5_000_000


def parse_json(text: str) -> Any:
    if len(text) > MAX_DOCUMENT_CHARACTERS:
        raise InputError("(document)", "is too large")
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise InputError("(document)", f"not valid JSON (line {error.lineno}, column {error.colno})") from error
    except RecursionError as error:
        raise InputError("(document)", "is nested too deeply") from error


def read_check(text: str, clock: Clock, knowledge: KnowledgeBase | None = None) -> CheckRequest:
    """Parse and validate a check document (its conditions against ICD-10-CM when ``knowledge`` is given, as
    every command does); raises ``InputError`` naming the first bad field."""
    try:
        document = CheckIn.model_validate(parse_json(text))
    except ValidationError as error:
        raise first_error(error) from error
    return document.to_domain(clock, knowledge)


def read_patient_file(text: str, knowledge: KnowledgeBase) -> PatientFile:
    """Parse and validate a patient file (its conditions as in ``PatientIn.coded``); raises ``InputError``."""
    try:
        document = PatientFile.model_validate(parse_json(text))
    except ValidationError as error:
        raise first_error(error) from error
    return document.model_copy(update={"patient": document.patient.coded(knowledge)})
