"""The ports the record-keeping services need; the Django adapter in ``bont.clinic`` implements them."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType

from bont.domain.errors import FieldError
from bont.domain.findings import Finding
from bont.domain.safety import Administration, Patient, PriorAdverseEvent, SessionSite


@dataclass(frozen=True)
class VialState:
    vial_id: int
    product: str
    lot: str
    lot_expiry: date
    vial_units: Decimal
    units_drawn: Decimal
    reconstituted_at: datetime | None
    state: str

    @property
    def remaining(self) -> Decimal:
        return self.vial_units - self.units_drawn


@dataclass(frozen=True)
class SessionRecord:
    """A session as it is written: what was given, the findings shown and how each was acknowledged."""

    patient_id: int
    on: date
    clinician: str
    indication: str
    product: str
    protocol: str | None
    guidance: str
    total_units: Decimal
    sites: tuple[SessionSite, ...]
    draws: tuple[tuple[int, Decimal], ...]  # (vial id, units)
    discards: tuple[tuple[int, Decimal], ...]  # (vial id, units left in it and discarded)
    findings: tuple[Finding, ...]
    acknowledgements: dict[str, str]  # finding code -> the clinician's reason
    verdict: str
    override_reason: str
    deviation_reason: str
    corrects: int | None = None  # the session this one corrects (withdrawn in the same unit of work)
    # Draws of the corrected session, already taken from their vials: written as this session's draws without
    # drawing again; and the units that session's discarded vials held (its JW waste).
    carried_draws: tuple[tuple[int, Decimal], ...] = ()
    carried_discarded: Decimal = Decimal(0)
    given_by: str | None = None  # who injected it (None: the clinician who recorded it)
    given_at: datetime | None = None  # when it was injected (None: not known; it was given on ``on``)


@dataclass(frozen=True)
class StoredSession:
    """A recorded session as a correction reads it: whose, which product, whether withdrawn, and its vials."""

    session_id: int
    patient_id: int
    product: str
    withdrawn_reason: str
    draws: tuple[tuple[int, Decimal], ...]  # (vial id, units)
    units_discarded: Decimal


class ClinicalRecords(abc.ABC):
    """One unit of work over the clinic's records: everything read and written inside it commits together,
    or not at all."""

    @abc.abstractmethod
    def __enter__(self) -> ClinicalRecords: ...

    @abc.abstractmethod
    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    @abc.abstractmethod
    def lock_patient(self, patient_id: int, on: date) -> tuple[Patient, tuple[Administration, ...]]:
        """The patient as of ``on`` and every recorded administration, locked until the unit of work ends."""

    @abc.abstractmethod
    def prior_adverse_events(self, patient_id: int, on: date) -> tuple[PriorAdverseEvent, ...]:
        """The patient's adverse events with onset on or before ``on`` (withdrawn ones left out), by onset, each
        with the product and indication of its suspected session (None when none is named, or it was
        withdrawn)."""

    @abc.abstractmethod
    def lock_vials(self, vial_ids: tuple[int, ...]) -> dict[int, VialState]:
        """The vials to draw from, locked until the unit of work ends."""

    @abc.abstractmethod
    def open_vial(self, vial_id: int, at: datetime, diluent_ml: Decimal | None) -> None:
        """Mark a sealed vial reconstituted at ``at`` with ``diluent_ml`` of diluent."""

    @abc.abstractmethod
    def add_session(self, record: SessionRecord) -> int:
        """Write the session, its sites, findings and draws, and update the vials (never for carried draws);
        returns the session id."""

    @abc.abstractmethod
    def lock_session(self, session_id: int) -> StoredSession | None:
        """The recorded session, locked until the unit of work ends; None when there is no such session."""

    @abc.abstractmethod
    def withdraw_session(self, session_id: int, reason: str, by: str | None) -> None:
        """Mark a locked, not yet withdrawn session withdrawn with ``reason`` by user ``by``; from then on the
        patient's history read in this unit of work leaves it out."""

    @abc.abstractmethod
    def discard_changes(self) -> None:
        """Roll back everything done in this unit of work when it ends (a preview writes nothing)."""

    @abc.abstractmethod
    def user_may_override(self, username: str) -> bool:
        """Whether this user is a clinician who may override a blocking finding."""

    @abc.abstractmethod
    def may_inject(self, username: str) -> bool:
        """Whether this user is an active clinician or nurse of the clinic, who may give an injection."""


class UnknownPatientError(FieldError):
    """No patient has the MRN given (the message never repeats it)."""

    def __init__(self) -> None:
        super().__init__("mrn", "no patient has this MRN")


class PatientCharts(abc.ABC):
    """Reads what the safety check needs of a stored patient."""

    @abc.abstractmethod
    def chart(self, mrn: str, on: date) -> tuple[Patient, tuple[Administration, ...]]:
        """The patient as of ``on`` and every administration recorded (withdrawn sessions excluded); raises
        ``UnknownPatientError``."""

    @abc.abstractmethod
    def prior_adverse_events(self, mrn: str, on: date) -> tuple[PriorAdverseEvent, ...]:
        """The patient's adverse events with onset on or before ``on`` (withdrawn ones left out), by onset, each
        with the product and indication of its suspected session (None when none is named, or it was
        withdrawn); raises ``UnknownPatientError``."""
