"""What the safety check reads: the patient, every earlier administration, the plan and the vials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from bont.domain.adverse_events import EventSeverity
from bont.domain.canvas import SitePosition


@dataclass(frozen=True)
class Patient:
    birth_date: date | None = None
    sex: str | None = None  # "female", "male", "other" or unknown
    weight_kg: Decimal | None = None
    conditions: tuple[str, ...] = ()  # ICD-10-CM codes or names, as recorded
    medications: tuple[str, ...] = ()  # generic names
    allergies: tuple[str, ...] = ()
    pregnant: bool = False
    breastfeeding: bool = False
    catheterizes: bool = False  # performs clean intermittent self-catheterisation
    age_years: Decimal | None = None  # when only the age is known, not the birth date

    def age_on(self, day: date) -> Decimal | None:
        if self.birth_date is None:
            return self.age_years
        years = day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))
        return Decimal(years)


@dataclass(frozen=True)
class Administration:
    """An earlier session: its date, product, indication and total units of that product. One given elsewhere
    (imported from another system's record) names its ``source``; its indication may be unknown (None): it then
    counts toward every indication's figures as if given for it (the conservative reading), the limits of all
    indications together and the other-toxin caution."""

    on: date
    product: str
    indication: str | None
    units: Decimal
    protocol: str | None = None  # the protocol id the session followed, where it is known
    source: str | None = None  # the system that recorded a dose given elsewhere; None: a session of this clinic


@dataclass(frozen=True)
class SessionSite:
    muscle: str
    side: str | None
    units: Decimal
    volume_ml: Decimal | None = None
    position: SitePosition | None = None  # where it was drawn on the anatomic canvas; never read by the check


@dataclass(frozen=True)
class SessionPlan:
    product: str
    indication: str
    total_units: Decimal | None = None  # when absent, the sum of the sites
    sites: tuple[SessionSite, ...] = ()
    variant: str | None = None  # the protocol variant the plan follows (e.g. unilateral); None: inferred
    deviation_reason: str | None = None  # the clinician's written reason for departing from the protocol

    @property
    def units(self) -> Decimal:
        if self.total_units is not None:
            return self.total_units
        return sum((site.units for site in self.sites), Decimal(0))


@dataclass(frozen=True)
class VialInUse:
    product: str
    lot: str | None = None
    lot_expiry: date | None = None
    reconstituted_at: datetime | None = None


@dataclass(frozen=True)
class PriorAdverseEvent:
    """An adverse event the patient had: its onset, the term recorded, its intensity and whether it was
    serious (ICH E2A / 21 CFR 312.32), and the product and indication of the treatment suspected of causing
    it (None when no treatment is recorded as suspected)."""

    on: date
    term: str
    severity: EventSeverity
    serious: bool
    product: str | None = None
    indication: str | None = None


@dataclass(frozen=True)
class CheckRequest:
    on: date
    patient: Patient
    plan: SessionPlan
    history: tuple[Administration, ...] = ()
    vials: tuple[VialInUse, ...] = ()
    at: datetime | None = None  # the moment of drawing, for beyond-use times (default: noon on ``on``)
    adverse_events: tuple[PriorAdverseEvent, ...] = ()  # the patient's earlier adverse events
