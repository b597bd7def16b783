"""Use case: check a plan against a stored patient, as the web plan builder does.

The stored patient's age, weight, conditions, medicines, allergies, every recorded administration and every
recorded adverse event go into the same check that ``bont check`` runs on a document, so that the command line,
the web builder and the recording service answer alike.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import PlanRequest
from bont.domain.safety import CheckRequest, SafetyReport, SessionPlan, check
from bont.services.next_session import NextSession, next_sessions
from bont.services.planning import CheckedPlan, plan_session
from bont.services.ports import PatientCharts


def check_for_patient(
    charts: PatientCharts, knowledge: KnowledgeBase, mrn: str, on: date, plan: SessionPlan
) -> SafetyReport:
    """The check of a plan given by its total units (and sites, if any) against the stored record."""
    patient, history = charts.chart(mrn, on)
    earlier = tuple(item for item in history if item.on <= on)
    events = charts.prior_adverse_events(mrn, on)
    return check(knowledge, CheckRequest(on=on, patient=patient, plan=plan, history=earlier, adverse_events=events))


def plan_for_patient(charts: PatientCharts, knowledge: KnowledgeBase, mrn: str, request: PlanRequest) -> CheckedPlan:
    """A plan made with the stored patient's age and weight, checked against the stored record."""
    patient, history = charts.chart(mrn, request.on)
    planned = replace(
        request,
        age_years=patient.age_on(request.on) if request.age_years is None else request.age_years,
        weight_kg=patient.weight_kg if request.weight_kg is None else request.weight_kg,
    )
    earlier = tuple(item for item in history if item.on <= request.on)
    events = charts.prior_adverse_events(mrn, request.on)
    return plan_session(knowledge, planned, patient, earlier, adverse_events=events)


def next_for_patient(charts: PatientCharts, knowledge: KnowledgeBase, mrn: str, today: date) -> list[NextSession]:
    """When each indication's next session is allowed and recommended, from the stored record."""
    patient, history = charts.chart(mrn, today)
    earlier = tuple(item for item in history if item.on <= today)
    return next_sessions(knowledge, patient, earlier, today, charts.prior_adverse_events(mrn, today))
