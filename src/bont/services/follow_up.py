"""Use case: the follow-up list. Patients due (or overdue) for an outcome assessment, and patients whose
next session is allowed today, the latter answered by the safety check itself (``next_session``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bont.domain.knowledge import KnowledgeBase
from bont.services.next_session import next_sessions
from bont.services.outcome_ports import OutcomeRecords, PatientIdentity
from bont.services.outcomes import DIARY_INSTRUMENTS
from bont.services.ports import PatientCharts

ASSESSMENT = "assessment"
NEXT_SESSION = "next session"
# A clinic setting: how long after a session its outcome should be assessed.
ASSESSMENT_AFTER_DAYS = 42


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
class FollowUpList:
    rows: tuple[FollowUp, ...]  # by day due

    @property
    def assessments(self) -> tuple[FollowUp, ...]:
        return tuple(r for r in self.rows if r.what == ASSESSMENT)

    @property
    def sessions(self) -> tuple[FollowUp, ...]:
        return tuple(r for r in self.rows if r.what == NEXT_SESSION)


def _diary_kinds(knowledge: KnowledgeBase, indication: str) -> list[str]:
    ids = {i.id for i in knowledge.instruments_for(indication)} if indication in knowledge.indications else set()
    return [kind for kind, produced in DIARY_INSTRUMENTS.items() if ids & set(produced)]


def _name(knowledge: KnowledgeBase, indication: str) -> str:
    return knowledge.indications[indication].name if indication in knowledge.indications else indication


def follow_up_list(
    records: OutcomeRecords,
    charts: PatientCharts,
    knowledge: KnowledgeBase,
    today: date,
    assessment_after_days: int = ASSESSMENT_AFTER_DAYS,
) -> FollowUpList:
    """Patients treated at least ``assessment_after_days`` ago with no outcome measured since the session,
    and patients whose next session is allowed today (the chart's answer: the check does not block
    repeating the last session today)."""
    rows: list[FollowUp] = []
    for patient in records.patients():
        last_by_indication: dict[str, date] = {}
        for session in records.sessions(patient.patient_id):
            day = session.on
            last_by_indication[session.indication] = max(day, last_by_indication.get(session.indication, day))
        if not last_by_indication:
            continue
        snapshot, history = charts.chart(patient.mrn, today)
        events = charts.prior_adverse_events(patient.mrn, today)
        allowed_now = [n for n in next_sessions(knowledge, snapshot, history, today, events) if n.earliest == today]
        # A measurement withdrawn as entered in error is no assessment.
        measured = [o for o in records.outcomes(patient.patient_id) if not o.withdrawn]
        for indication, last in sorted(last_by_indication.items()):
            measured_since = any(o.indication == indication and o.measured_on > last for o in measured) or any(
                day > last
                for kind in _diary_kinds(knowledge, indication)
                for day in records.diary_days(patient.patient_id, kind)
            )
            assessment_due = last + timedelta(days=assessment_after_days)
            if not measured_since and assessment_due <= today:
                rows.append(
                    FollowUp(
                        patient,
                        _name(knowledge, indication),
                        indication,
                        ASSESSMENT,
                        assessment_due,
                        (today - assessment_due).days,
                    )
                )
        for allowed in allowed_now:
            rows.append(
                FollowUp(
                    patient,
                    _name(knowledge, allowed.indication),
                    allowed.indication,
                    NEXT_SESSION,
                    today,
                    0,
                    brand=knowledge.products[allowed.product].brand,
                    recommended=allowed.recommended,
                )
            )
    return FollowUpList(tuple(sorted(rows, key=lambda r: r.due)))
