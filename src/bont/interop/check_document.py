"""The JSON document that ``bont check`` reads, validated with pydantic and turned into domain objects.

Unknown keys are errors, so a misspelt field is never silently ignored. Error messages name the field
and never repeat its value: the document holds patient data. A time without a UTC offset is the clinic's
wall-clock time (``BONT_TIME_ZONE``).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bont.domain.errors import FieldError
from bont.domain.safety import Administration, CheckRequest, Patient, SessionPlan, SessionSite, VialInUse
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
    plan: PlanIn
    vials: list[VialIn] = []

    def to_domain(self, clock: Clock) -> CheckRequest:
        if self.plan.total_units is None and not self.plan.sites:
            raise InputError("plan", "give total_units and/or sites")
        return CheckRequest(
            on=self.date,
            at=local_moment(self.at, clock),
            patient=self.patient.to_domain(),
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
        )


class PatientFile(StrictModel):
    """What ``bont plan --patient FILE`` reads: the patient, their history and any vials in hand."""

    patient: PatientIn
    history: list[HistoryIn] = []
    vials: list[VialIn] = []

    def request_for(self, on: date, plan: SessionPlan, clock: Clock) -> CheckRequest:
        return CheckRequest(
            on=on,
            patient=self.patient.to_domain(),
            plan=plan,
            history=_history(self.history),
            vials=_vials(self.vials, clock),
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


def read_check(text: str, clock: Clock) -> CheckRequest:
    """Parse and validate a check document; raises ``InputError`` naming the first bad field."""
    try:
        return CheckIn.model_validate(parse_json(text)).to_domain(clock)
    except ValidationError as error:
        raise first_error(error) from error


def read_patient_file(text: str) -> PatientFile:
    try:
        return PatientFile.model_validate(parse_json(text))
    except ValidationError as error:
        raise first_error(error) from error
