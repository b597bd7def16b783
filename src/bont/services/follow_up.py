"""Use case: the follow-up list. Patients due (or overdue) for an outcome assessment, and patients whose
next session is allowed today, the latter answered by the safety check itself (``next_session``).

Set-based, for a clinic of any size: the assessments come from the latest session, measurement and diary day of
every patient, read as aggregates; the next sessions are checked for one page of treated patients at a time, whose
charts are read together. The ``FollowUpRecords`` port reads them (the Django adapter is
``bont.clinic.follow_up_records``)."""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration, Patient, PriorAdverseEvent
from bont.services.next_session import sessions_allowed_today
from bont.services.outcome_ports import PatientIdentity
from bont.services.outcomes import DIARY_INSTRUMENTS

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
class LastSession:
    """The day of a patient's latest session (not withdrawn) for one indication, with the patient's name for
    sorting."""

    patient_id: int
    family_name: str
    given_name: str
    indication: str
    last: date


@dataclass(frozen=True)
class TreatedChart:
    """What the safety check needs of a treated patient: as of a day, every administration, earlier adverse
    events (as ``PatientCharts`` reads them for one patient)."""

    identity: PatientIdentity
    patient: Patient
    history: tuple[Administration, ...]
    adverse_events: tuple[PriorAdverseEvent, ...]


class FollowUpRecords(abc.ABC):
    """Reads the follow-up list's facts in bulk: a fixed number of queries whatever the clinic's size."""

    @abc.abstractmethod
    def last_sessions(self) -> tuple[LastSession, ...]:
        """Per patient and indication, the latest session not withdrawn."""

    @abc.abstractmethod
    def last_measured(self) -> Mapping[tuple[int, str], date]:
        """Per (patient id, indication), the latest day measured by an outcome not withdrawn."""

    @abc.abstractmethod
    def last_diary_days(self) -> Mapping[tuple[int, str], date]:
        """Per (patient id, diary kind), the latest diary day kept."""

    @abc.abstractmethod
    def identities(self, patient_ids: Collection[int]) -> Mapping[int, PatientIdentity]:
        """The patients with these ids."""

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

    @property
    def pages(self) -> int:
        return _pages(max(self.assessments_total, self.treated_total), self.per_page)


def _pages(rows: int, per_page: int) -> int:
    return max(1, -(-rows // per_page))


def _diary_kinds(knowledge: KnowledgeBase, indication: str) -> list[str]:
    ids = {i.id for i in knowledge.instruments_for(indication)} if indication in knowledge.indications else set()
    return [kind for kind, produced in DIARY_INSTRUMENTS.items() if ids & set(produced)]


def _name(knowledge: KnowledgeBase, indication: str) -> str:
    return knowledge.indications[indication].name if indication in knowledge.indications else indication


def _assessments_due(
    last_sessions: tuple[LastSession, ...],
    records: FollowUpRecords,
    knowledge: KnowledgeBase,
    today: date,
    assessment_after_days: int,
) -> list[LastSession]:
    """Treated at least ``assessment_after_days`` ago with no measurement (or diary day) since, by day due, then
    the patient's name, then the indication."""
    until = today - timedelta(days=assessment_after_days)
    measured, diaries = records.last_measured(), records.last_diary_days()
    kinds: dict[str, list[str]] = {}
    due = []
    for row in last_sessions:
        if row.last > until:
            continue
        if row.indication not in kinds:
            kinds[row.indication] = _diary_kinds(knowledge, row.indication)
        key = (row.patient_id, row.indication)
        # A measurement withdrawn as entered in error is no assessment (the records leave it out).
        measured_since = (key in measured and measured[key] > row.last) or any(
            (row.patient_id, kind) in diaries and diaries[(row.patient_id, kind)] > row.last
            for kind in kinds[row.indication]
        )
        if not measured_since:
            due.append(row)
    due.sort(key=lambda r: (r.last, r.family_name, r.given_name, r.patient_id, r.indication))
    return due


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
    last_sessions = records.last_sessions()
    due = _assessments_due(last_sessions, records, knowledge, today, assessment_after_days)
    treated = len({row.patient_id for row in last_sessions})
    page = min(max(page, 1), _pages(max(len(due), treated), per_page))  # beyond the last: the last
    offset = (page - 1) * per_page
    shown = due[offset : offset + per_page]
    identities = records.identities({row.patient_id for row in shown})
    assessments = []
    for row in shown:
        due_on = row.last + timedelta(days=assessment_after_days)
        assessments.append(
            FollowUp(
                identities[row.patient_id],
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
    return FollowUpPage(page, per_page, tuple(assessments), len(due), tuple(sessions), treated)


def follow_up_document(found: FollowUpPage) -> dict[str, Any]:
    """One page of the follow-up list as JSON (``GET /api/follow-up``): the rows of the web page."""

    def patient(row: FollowUp) -> dict[str, str]:
        return {"mrn": row.patient.mrn, "name": f"{row.patient.family_name}, {row.patient.given_name}"}

    return {
        "page": found.page,
        "per_page": found.per_page,
        "pages": found.pages,
        "assessments_total": found.assessments_total,
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
