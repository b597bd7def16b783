"""Use case: the follow-up list. Patients due (or overdue) for an outcome assessment, and patients whose
next session is allowed today, the latter answered by the safety check itself (``next_session``).

For a clinic of any size: whether an assessment is pending is kept per patient and indication by the transaction
that records a session, an outcome or a diary day (``follow_up_summaries`` decides it from one patient's records),
so the list reads one page of the assessments due, in order, and one page of the treated patients, whose charts
are read together. The ``FollowUpRecords`` port reads them (the Django adapter is
``bont.clinic.follow_up_records``; ``bont.clinic.derived`` keeps the summary).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration, Patient, PriorAdverseEvent
from bont.services.next_session import sessions_allowed_today
from bont.services.outcome_ports import PatientIdentity
from bont.services.outcomes import DIARY_INSTRUMENTS
from bont.services.paging import page_count, page_within
from bont.services.research import verdict_basis

ASSESSMENT = "assessment"
NEXT_SESSION = "next session"
# A clinic setting: how long after a session its outcome should be assessed.
ASSESSMENT_AFTER_DAYS = 42
FOLLOW_UP_PER_PAGE = 50
MAXIMUM_PER_PAGE = 200


@dataclass(frozen=True)
class FollowUp:
    """One patient's follow-up for one indication: an assessment due, or a next session allowed."""

    patient: PatientIdentity
    indication: str  # the indication's name (its id when the knowledge base no longer holds it)
    indication_id: str
    what: str  # ASSESSMENT or NEXT_SESSION
    due: date
    overdue_days: int
    brand: str | None = None  # a next session: the product's brand
    recommended: date | None = None  # a next session: the recommended day (None: not within the horizon)


@dataclass(frozen=True)
class IndicationFollowUp:
    """What the follow-up list keeps of one patient's indication: the day of the latest session given (not
    withdrawn), and that day again while no outcome (not withdrawn) was measured and no diary day that serves the
    indication was kept after it (None once assessed)."""

    indication: str
    last_session: date
    assessment_pending_since: date | None


@dataclass(frozen=True)
class AssessmentDue:
    """An assessment pending for a patient's indication since its latest session."""

    patient: PatientIdentity
    indication: str
    last_session: date


@dataclass(frozen=True)
class TreatedChart:
    """What the safety check needs of a treated patient: as of a day, every administration, earlier adverse
    events (as ``PatientCharts`` reads them for one patient)."""

    identity: PatientIdentity
    patient: Patient
    history: tuple[Administration, ...]
    adverse_events: tuple[PriorAdverseEvent, ...]


class FollowUpRecords(abc.ABC):
    """Reads one page of the follow-up list: a fixed number of queries whatever the clinic's size."""

    @abc.abstractmethod
    def assessments_due(self, until: date, offset: int, limit: int) -> tuple[AssessmentDue, ...]:
        """The assessments pending since a session on or before ``until``, by that day, then the patient's family
        and given name, then id, then the indication: at most ``limit`` after the first ``offset``."""

    @abc.abstractmethod
    def assessments_due_count(self, until: date) -> int:
        """How many assessments are pending since a session on or before ``until``."""

    @abc.abstractmethod
    def treated_count(self) -> int:
        """How many patients have a session not withdrawn."""

    @abc.abstractmethod
    def kept_with(self) -> str | None:
        """The digest (``bont.services.research.verdict_basis``) of the knowledge the stored summaries were kept
        with: None before any was kept, "" while they are rebuilt or were kept with different knowledge."""

    @abc.abstractmethod
    def treated_charts(self, on: date, offset: int, limit: int) -> tuple[TreatedChart, ...]:
        """The charts as of ``on`` of the patients with a session not withdrawn, by family then given name (then
        id), at most ``limit`` after the first ``offset``."""


@dataclass(frozen=True)
class FollowUpPage:
    """One page of both lists: the assessments due (by day due, ``assessments_total`` in all) and the next
    sessions allowed today of one page of the treated patients (by name, ``treated_total`` in all)."""

    page: int
    per_page: int
    assessments: tuple[FollowUp, ...]
    assessments_total: int
    sessions: tuple[FollowUp, ...]
    treated_total: int
    # The assessments due were kept with other knowledge than the running one (which diary assesses which
    # indication may have changed): shown, with a note to run `bont research refresh`.
    assessments_outdated: bool = False

    @property
    def pages(self) -> int:
        return page_count(max(self.assessments_total, self.treated_total), self.per_page)


def _diary_kinds(knowledge: KnowledgeBase, indication: str) -> list[str]:
    ids = {i.id for i in knowledge.instruments_for(indication)} if indication in knowledge.indications else set()
    return [kind for kind, produced in DIARY_INSTRUMENTS.items() if ids & set(produced)]


def _name(knowledge: KnowledgeBase, indication: str) -> str:
    return knowledge.indications[indication].name if indication in knowledge.indications else indication


def follow_up_summaries(
    knowledge: KnowledgeBase,
    last_sessions: Mapping[str, date],
    last_measured: Mapping[str, date],
    last_diary_days: Mapping[str, date],
) -> tuple[IndicationFollowUp, ...]:
    """One patient's follow-up per indication treated, from the latest session not withdrawn per indication, the
    latest day measured by an outcome not withdrawn per indication, and the latest diary day per diary kind. A
    measurement withdrawn as entered in error is no assessment: the caller leaves it out."""
    found = []
    for indication, last in sorted(last_sessions.items()):
        assessed = last_measured.get(indication, last) > last or any(
            last_diary_days.get(kind, last) > last for kind in _diary_kinds(knowledge, indication)
        )
        found.append(IndicationFollowUp(indication, last, None if assessed else last))
    return tuple(found)


def diary_kinds_by_indication(knowledge: KnowledgeBase) -> dict[str, list[str]]:
    """The diary kinds whose days assess each indication of the knowledge base (those served by none left out);
    for keeping the summary of many patients at once."""
    kinds = {indication: _diary_kinds(knowledge, indication) for indication in knowledge.indications}
    return {indication: served for indication, served in kinds.items() if served}


def follow_up_page(
    records: FollowUpRecords,
    knowledge: KnowledgeBase,
    today: date,
    page: int = 1,
    per_page: int = FOLLOW_UP_PER_PAGE,
    assessment_after_days: int = ASSESSMENT_AFTER_DAYS,
) -> FollowUpPage:
    """Patients treated at least ``assessment_after_days`` ago with no outcome measured since the session, and
    patients whose next session is allowed today (the chart's answer: the check does not block repeating the last
    session today); page ``page`` (from 1) of ``per_page`` rows of each."""
    per_page = min(max(per_page, 1), MAXIMUM_PER_PAGE)
    until = today - timedelta(days=assessment_after_days)
    due = records.assessments_due_count(until)
    treated = records.treated_count()
    page = page_within(page, max(due, treated), per_page)
    offset = (page - 1) * per_page
    assessments = []
    for row in records.assessments_due(until, offset, per_page):
        due_on = row.last_session + timedelta(days=assessment_after_days)
        assessments.append(
            FollowUp(
                row.patient,
                _name(knowledge, row.indication),
                row.indication,
                ASSESSMENT,
                due_on,
                (today - due_on).days,
            )
        )
    sessions = [
        FollowUp(
            chart.identity,
            _name(knowledge, allowed.indication),
            allowed.indication,
            NEXT_SESSION,
            today,
            0,
            brand=knowledge.products[allowed.product].brand,
            recommended=allowed.recommended,
        )
        for chart in records.treated_charts(today, offset, per_page)
        for allowed in sessions_allowed_today(knowledge, chart.patient, chart.history, today, chart.adverse_events)
    ]
    kept_with = records.kept_with()
    outdated = kept_with is not None and kept_with != verdict_basis(knowledge)
    return FollowUpPage(page, per_page, tuple(assessments), due, tuple(sessions), treated, outdated)


def follow_up_document(found: FollowUpPage) -> dict[str, Any]:
    """One page of the follow-up list as JSON (``GET /api/follow-up``): the rows of the web page."""

    def patient(row: FollowUp) -> dict[str, str]:
        return {"mrn": row.patient.mrn, "name": f"{row.patient.family_name}, {row.patient.given_name}"}

    return {
        "page": found.page,
        "per_page": found.per_page,
        "pages": found.pages,
        "assessments_total": found.assessments_total,
        "assessments_outdated": found.assessments_outdated,
        "treated_total": found.treated_total,
        "assessments": [
            {
                **patient(row),
                "indication": row.indication_id,
                "indication_name": row.indication,
                "due": row.due.isoformat(),
                "overdue_days": row.overdue_days,
            }
            for row in found.assessments
        ],
        "next_sessions": [
            {
                **patient(row),
                "indication": row.indication_id,
                "indication_name": row.indication,
                "brand": row.brand,
                "recommended": None if row.recommended is None else row.recommended.isoformat(),
            }
            for row in found.sessions
        ],
    }
