"""Use cases: report an adverse event against a patient (and the session suspected of causing it), list the
clinic's adverse events, correct one (each correction is a new version in the audit trail, with who made it),
and withdraw one entered in error (kept, marked with who withdrew it and why; the safety check and the
continuation report no longer read it).

The onset is a day that happened to the patient: not in the future (the clinic's day), not before their birth,
not before the suspected session. Severity is the event's intensity (mild, moderate, severe); whether it was
serious is a separate yes/no that every report states (ICH E2A, 21 CFR 312.32: death, life-threatening,
hospitalisation, disability, congenital anomaly or another important medical event). The ``AdverseEvents`` port
is implemented by ``bont.clinic.adverse_events``. Errors name the field and never repeat an identifier.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from bont.domain.adverse_events import EventSeverity
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.services.clock import Clock

SEVERITIES = tuple(str(severity) for severity in EventSeverity)
LIST_LIMIT = 500


class AdverseEventError(FieldError):
    """An adverse event report was refused; nothing was written."""


@dataclass(frozen=True)
class AdverseEventReport:
    mrn: str
    event: str
    onset: date
    severity: str
    session_id: int | None = None
    outcome: str = ""
    notes: str = ""
    serious: bool | None = None  # None: not stated, which is refused


@dataclass(frozen=True)
class SuspectableSession:
    id: int
    on: date
    product: str
    total_units: Decimal
    withdrawn: bool


@dataclass(frozen=True)
class ReportingContext:
    """The patient an event is reported for, and their sessions (by date, withdrawn ones included)."""

    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sessions: tuple[SuspectableSession, ...]

    @property
    def choices(self) -> tuple[SuspectableSession, ...]:
        """The sessions a reporter may name as suspected: not withdrawn, latest first."""
        return tuple(sorted((s for s in self.sessions if not s.withdrawn), key=lambda s: s.on, reverse=True))

    def session(self, session_id: int) -> SuspectableSession | None:
        return next((s for s in self.sessions if s.id == session_id), None)


@dataclass(frozen=True)
class AdverseEventRow:
    id: int
    mrn: str
    event: str
    onset: date
    severity: str
    outcome: str
    session_id: int | None
    session_on: date | None
    session_product: str | None
    brand: str = ""  # the suspected session's product brand, when the knowledge base knows it
    serious: bool = False
    withdrawn_reason: str = ""
    withdrawn_by: str | None = None

    @property
    def withdrawn(self) -> bool:
        return bool(self.withdrawn_reason)


@dataclass(frozen=True)
class StoredAdverseEventDetail:
    """One adverse event as stored, for its correction."""

    id: int
    mrn: str
    event: str
    onset: date
    severity: str
    serious: bool
    outcome: str
    notes: str
    session_id: int | None
    withdrawn_reason: str = ""
    withdrawn_by: str | None = None

    @property
    def withdrawn(self) -> bool:
        return bool(self.withdrawn_reason)


@dataclass(frozen=True)
class AdverseEventCorrection:
    """What to change in a recorded adverse event; None leaves a field as it is."""

    event: str | None = None
    onset: date | None = None
    severity: str | None = None
    serious: bool | None = None
    outcome: str | None = None
    notes: str | None = None

    def changes(self) -> dict[str, object]:
        return {name: value for name, value in self.__dict__.items() if value is not None}


class AdverseEvents(abc.ABC):
    """The adverse events on record."""

    @abc.abstractmethod
    def reporting_context(self, mrn: str) -> ReportingContext:
        """The patient and their sessions; raises ``UnknownPatientError``."""

    @abc.abstractmethod
    def add(self, report: AdverseEventReport) -> int:
        """Store a checked report; returns its id."""

    @abc.abstractmethod
    def listing(self, product: str | None, limit: int) -> tuple[AdverseEventRow, ...]:
        """Events latest onset first (then latest reported), withdrawn ones included, optionally those whose
        suspected session used ``product``; at most ``limit``."""

    @abc.abstractmethod
    def event(self, event_id: int) -> StoredAdverseEventDetail | None:
        """One event (withdrawn or not), None when there is no such event."""

    @abc.abstractmethod
    def correct(self, event_id: int, correction: AdverseEventCorrection, by: str | None) -> None:
        """Write the changed fields of a checked correction (a new version, by user ``by``)."""

    @abc.abstractmethod
    def withdraw(self, event_id: int, reason: str, by: str | None) -> str | None:
        """Mark the event withdrawn with ``reason`` (by user ``by``) unless it already is, atomically; returns the
        withdrawal reason it had before ("" when it had none and is now withdrawn), None when there is no such
        event."""


def reporting_form(events: AdverseEvents, mrn: str) -> ReportingContext:
    return events.reporting_context(mrn)


def onset_problems(context: ReportingContext, onset: date, session_id: int | None, today: date) -> dict[str, str]:
    """What is wrong with an onset (and the suspected session), by field, as the report form shows it."""
    problems: dict[str, str] = {}
    if session_id is not None:
        suspected = context.session(session_id)
        if suspected is None or suspected.withdrawn:
            problems["session"] = "choose one of this patient's sessions"
        elif onset < suspected.on:
            problems["onset"] = "is before the suspected session"
    if "onset" not in problems:
        day_problem = _day_problem(context, onset, today)
        if day_problem:
            problems["onset"] = day_problem
    return problems


def report_adverse_event(events: AdverseEvents, clock: Clock, report: AdverseEventReport) -> int:
    """Record an adverse event; refused, naming the field, for an unknown severity or MRN, seriousness not
    stated, an onset in the future, before the patient's birth or before the suspected session, or a session
    not the patient's."""
    if report.severity == "serious":
        raise AdverseEventError(
            "severity", "is the intensity (mild, moderate or severe); whether the event was serious is stated apart"
        )
    if report.severity not in SEVERITIES:
        raise AdverseEventError("severity", f"must be one of {', '.join(SEVERITIES)}")
    if report.serious is None:
        raise AdverseEventError("serious", "say whether the event was serious (yes or no)")
    context = events.reporting_context(report.mrn)
    day_problem = _day_problem(context, report.onset, clock.today())
    if day_problem:
        raise AdverseEventError("onset", day_problem)
    if report.session_id is not None:
        suspected = context.session(report.session_id)
        if suspected is None:
            raise AdverseEventError("session", "no session with this id for this patient")
        if report.onset < suspected.on:
            raise AdverseEventError("onset", "is before the suspected session")
    return events.add(report)


EVENT_LENGTH = 60  # the event's short name; details go in the notes
OUTCOME_LENGTH = 200  # the stored column (widened by migration 0009)


def adverse_event(events: AdverseEvents, event_id: int) -> StoredAdverseEventDetail:
    """One recorded event; raises ``AdverseEventError`` (field ``event_id``) when there is none."""
    found = events.event(event_id)
    if found is None:
        raise AdverseEventError("event_id", "no adverse event with this id")
    return found


def correction_problems(
    events: AdverseEvents, stored: StoredAdverseEventDetail, correction: AdverseEventCorrection, today: date
) -> dict[str, str]:
    """What is wrong with a correction, by field (empty when it may be written)."""
    problems: dict[str, str] = {}
    if correction.event is not None:
        if not correction.event.strip():
            problems["event"] = "describe the event"
        elif len(correction.event.strip()) > EVENT_LENGTH:
            problems["event"] = f"at most {EVENT_LENGTH} characters (details go in the notes)"
    if correction.severity is not None and correction.severity not in SEVERITIES:
        problems["severity"] = (
            "is the intensity (mild, moderate or severe); whether the event was serious is stated apart"
            if correction.severity == "serious"
            else f"must be one of {', '.join(SEVERITIES)}"
        )
    if correction.outcome is not None and len(correction.outcome.strip()) > OUTCOME_LENGTH:
        problems["outcome"] = f"at most {OUTCOME_LENGTH} characters"
    if correction.onset is not None:
        context = events.reporting_context(stored.mrn)
        day_problem = _day_problem(context, correction.onset, today)
        suspected = context.session(stored.session_id) if stored.session_id is not None else None
        if day_problem:
            problems["onset"] = day_problem
        elif suspected is not None and correction.onset < suspected.on:
            problems["onset"] = "is before the suspected session"
    return problems


def correct_adverse_event(
    events: AdverseEvents, clock: Clock, event_id: int, correction: AdverseEventCorrection, by: str | None = None
) -> StoredAdverseEventDetail:
    """Correct a recorded adverse event: the fields given replace the stored ones, as a new version with who
    made it (the version before stays in the audit trail). Refused, naming the field and writing nothing: no such
    event (``event_id``), a withdrawn event, nothing to change, or a value the report form would refuse (an
    unknown severity, an onset in the future, before the patient's birth or before the suspected session)."""
    stored = adverse_event(events, event_id)
    if stored.withdrawn:
        raise AdverseEventError("event_id", "this adverse event is withdrawn; report it again if it happened")
    if not correction.changes():
        raise AdverseEventError("event", "give at least one field to correct")
    problems = correction_problems(events, stored, correction, clock.today())
    if problems:
        field, problem = next(iter(problems.items()))
        raise AdverseEventError(field, problem)
    cleaned = replace(
        correction,
        event=correction.event.strip() if correction.event is not None else None,
        outcome=correction.outcome.strip() if correction.outcome is not None else None,
        notes=correction.notes.strip() if correction.notes is not None else None,
    )
    events.correct(event_id, cleaned, by)
    return adverse_event(events, event_id)


def withdraw_adverse_event(events: AdverseEvents, event_id: int, reason: str, by: str | None = None) -> None:
    """Withdraw an adverse event entered in error, with a written reason: it is kept, marked with who withdrew it
    and why, and no longer reaches the safety check (prior reactions), the chart's warnings or the continuation
    report. Refused, naming the field: no reason, no such event, or one already withdrawn."""
    written = reason.strip()
    if not written:
        raise AdverseEventError("reason", "give the reason the adverse event is withdrawn")
    before = events.withdraw(event_id, written, by)
    if before is None:
        raise AdverseEventError("event_id", "no adverse event with this id")
    if before:
        raise AdverseEventError("event_id", "this adverse event is already withdrawn")


def list_adverse_events(
    events: AdverseEvents, knowledge: KnowledgeBase, product: str | None = None, limit: int = LIST_LIMIT
) -> tuple[AdverseEventRow, ...]:
    brands = {product_id: product.brand for product_id, product in knowledge.products.items()}
    return tuple(
        replace(row, brand=brands.get(row.session_product or "", "")) for row in events.listing(product or None, limit)
    )


def _day_problem(context: ReportingContext, day: date, today: date) -> str | None:
    if day > today:
        return "is in the future"
    if day < context.birth_date:
        return "is before the patient's birth"
    return None
