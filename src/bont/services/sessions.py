"""Use cases on recorded sessions: a session's page (what was given where, the vials and lots, the findings
and how each was answered, the adverse events), a patient's sessions, and withdrawing a session entered in
error. Each session names who recorded it and, apart, who injected it and when (a nurse may inject what a
clinician records). A withdrawn session keeps its row with the reason and who withdrew it
(django-simple-history keeps the version before); only a clinician withdraws a session. Correcting a session
is withdrawing it and recording the corrected session in the same transaction
(``bont.services.records.correct_session``).

The ``SessionRecords`` port reads and marks the sessions; the Django adapter is ``bont.clinic.session_records``.
Errors name the field and never repeat identifiers.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from bont.domain.canvas import SitePosition
from bont.domain.errors import FieldError


class SessionError(FieldError):
    """A question or change about a recorded session was refused; ``field`` names the input at fault."""


@dataclass(frozen=True)
class PatientRef:
    """Who a session is for: the stored patient's id, MRN and name."""

    id: int
    mrn: str
    given_name: str
    family_name: str
    birth_date: date


@dataclass(frozen=True)
class SessionSummary:
    id: int
    on: date
    product: str
    indication: str
    protocol: str
    total_units: Decimal
    units_discarded: Decimal
    verdict: str
    withdrawn_reason: str  # "" unless withdrawn
    withdrawn_by: str | None = None  # the user who withdrew it (None: from the command line, or not withdrawn)
    corrects: int | None = None  # the withdrawn session this one corrects
    corrected_by: int | None = None  # the session that corrects this withdrawn one
    recorded_by: str = ""  # the user who recorded it
    given_by: str | None = None  # the clinician or nurse who injected it (None: the user who recorded it)
    given_at: datetime | None = None  # when it was injected (None: recorded before times were kept)
    recorded_at: datetime | None = None  # when it was recorded (and any block overridden)

    @property
    def injector(self) -> str:
        """Who gave the injection: the one named, else (sessions recorded before it was asked) the recorder."""
        return self.given_by or self.recorded_by


@dataclass(frozen=True)
class GivenSite:
    muscle: str
    side: str  # "" when the muscle has no side
    units: Decimal
    volume_ml: Decimal | None
    position: SitePosition | None = None  # where it was drawn on the anatomic canvas when recorded


@dataclass(frozen=True)
class SessionDraw:
    vial_id: int
    vial_state: str
    lot_number: str
    lot_expiry: date
    units: Decimal


@dataclass(frozen=True)
class AnsweredFinding:
    """A finding shown when the session was recorded, and who acknowledged it and why."""

    severity: str
    code: str
    message: str
    source: str
    acknowledgement: str
    acknowledged_by: str | None


@dataclass(frozen=True)
class SessionEvent:
    event: str
    severity: str  # the intensity: mild, moderate or severe
    onset: date
    serious: bool = False
    withdrawn: bool = False

    @property
    def grading(self) -> str:
        """The severity and the seriousness in words, e.g. "severe, serious"."""
        return f"{self.severity}, {'serious' if self.serious else 'not serious'}"


@dataclass(frozen=True)
class SessionDetail:
    summary: SessionSummary
    patient: PatientRef
    clinician: str
    override_reason: str
    deviation_reason: str
    sites: tuple[GivenSite, ...]
    draws: tuple[SessionDraw, ...]
    findings: tuple[AnsweredFinding, ...]
    adverse_events: tuple[SessionEvent, ...]  # by onset
    guidance: str = ""  # the injection guidance recorded (e.g. "emg"), billed with the session

    @property
    def id(self) -> int:
        return self.summary.id

    @property
    def withdrawn(self) -> bool:
        return bool(self.summary.withdrawn_reason)


@dataclass(frozen=True)
class Injector:
    """A clinician or nurse of the clinic who may give an injection."""

    username: str
    name: str  # the full name on file, else the username
    role: str  # clinician or nurse


class SessionRecords(abc.ABC):
    """The recorded sessions."""

    @abc.abstractmethod
    def patient(self, mrn: str) -> PatientRef:
        """The patient with this MRN; raises ``UnknownPatientError``."""

    @abc.abstractmethod
    def sessions(self, patient_id: int) -> tuple[SessionSummary, ...]:
        """Every session of the patient, withdrawn ones included, by date then id."""

    @abc.abstractmethod
    def session(self, session_id: int) -> SessionDetail | None:
        """The session, None when there is no such session."""

    @abc.abstractmethod
    def withdraw(self, session_id: int, reason: str, by: str | None) -> str | None:
        """Mark the session withdrawn with ``reason`` (by user ``by``, kept with it and in its history) unless
        it already is, atomically; returns the withdrawal reason it had before ("" when it had none and is now
        withdrawn), None when there is no such session."""

    @abc.abstractmethod
    def is_clinician(self, username: str) -> bool:
        """Whether this user has the clinician role."""

    @abc.abstractmethod
    def injectors(self) -> tuple[Injector, ...]:
        """The clinic's active clinicians and nurses, by name."""


def patient_sessions(records: SessionRecords, mrn: str) -> tuple[PatientRef, tuple[SessionSummary, ...]]:
    """The patient and every session, withdrawn ones included, by date; raises ``UnknownPatientError``."""
    patient = records.patient(mrn)
    return patient, records.sessions(patient.id)


def injecting_staff(records: SessionRecords) -> tuple[Injector, ...]:
    """Who may be named as having given a session: the clinic's active clinicians and nurses."""
    return records.injectors()


def session_detail(records: SessionRecords, session_id: int) -> SessionDetail:
    """One recorded session; raises ``SessionError`` (field ``session``) when there is none with this id."""
    found = records.session(session_id)
    if found is None:
        raise SessionError("session", "no session with this id")
    return found


def withdraw_session(records: SessionRecords, session_id: int, reason: str, by: str | None = None) -> None:
    """Withdraw a session entered in error, with a written reason: its row is kept and marked with who withdrew
    it and why; it no longer counts toward the safety check (cumulative doses, next dates), responders,
    continuation, follow-up, billing or research. Refused (field ``by``) when ``by`` is not a clinician: only a
    clinician withdraws a session that was given (``None``: the command line, the clinic's own tool); refused
    when it is already withdrawn."""
    if by is not None and not records.is_clinician(by):
        raise SessionError("by", "only a clinician may withdraw a session")
    written = reason.strip()
    if not written:
        raise SessionError("reason", "give the reason the session is withdrawn")
    before = records.withdraw(session_id, written, by)
    if before is None:
        raise SessionError("session", "no session with this id")
    if before:
        raise SessionError("session", "this session is already withdrawn")
