"""Use cases: report an adverse event against a patient (and the session suspected of causing it), and list
the clinic's adverse events.

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
        """Events latest onset first (then latest reported), optionally those whose suspected session used
        ``product``; at most ``limit``."""


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
