"""Use case: plan a session and judge it.

The planner turns a protocol and the clinician's choices into sites, volumes and vials; it does not judge
limits. The verdict and the findings of every plan come from the one safety check
(``bont.domain.safety.check``), whether the plan is made by ``bont plan``, the web builder or the API, and
whether or not a stored patient is known. Recording a session runs the same check again on the sites given.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bont.domain.errors import UnknownIdError
from bont.domain.findings import Finding
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import Plan, PlanRequest, make_plan
from bont.domain.safety import (
    Administration,
    CheckRequest,
    Patient,
    PriorAdverseEvent,
    SafetyReport,
    SessionPlan,
    VialInUse,
    check,
)


@dataclass(frozen=True)
class CheckedPlan:
    """A plan with the safety check's verdict on it; ``notes`` say how the plan was made, ``report`` judges it."""

    plan: Plan
    report: SafetyReport

    @property
    def notes(self) -> tuple[Finding, ...]:
        return self.plan.notes


def session_plan(plan: Plan) -> SessionPlan:
    """What the check reads of a plan: every site with its units and volume, and the protocol variant."""
    return SessionPlan(
        product=plan.product,
        indication=plan.indication,
        total_units=plan.total_units.amount,
        sites=tuple(site for muscle in plan.muscles for site in muscle.checked_sites),
        variant=plan.protocol.variant,
        deviation_reason=plan.deviation_reason,
    )


def plan_session(
    knowledge: KnowledgeBase,
    request: PlanRequest,
    patient: Patient | None = None,
    history: tuple[Administration, ...] = (),
    vials: tuple[VialInUse, ...] = (),
    at: datetime | None = None,
    adverse_events: tuple[PriorAdverseEvent, ...] = (),
) -> CheckedPlan:
    """Make the plan and check it against the label, the patient, the history and the patient's earlier
    adverse events.

    Without a patient the check knows only what the plan request says (age, weight); with one, the plan's
    weight and age are the patient's. Raises ``PlanningError`` naming the field for input that cannot be
    planned or checked.
    """
    if request.first_session is None and (patient is not None or history):
        request = replace(request, first_session=_first_session(knowledge, request, history))
    made = make_plan(knowledge, request)
    checked_patient = (
        patient if patient is not None else Patient(age_years=request.age_years, weight_kg=request.weight_kg)
    )
    if checked_patient.weight_kg is None and request.weight_kg is not None:
        checked_patient = replace(checked_patient, weight_kg=request.weight_kg)
    report = check(
        knowledge,
        CheckRequest(
            on=request.on,
            patient=checked_patient,
            plan=session_plan(made),
            history=history,
            vials=vials,
            at=at,
            adverse_events=adverse_events,
        ),
    )
    return CheckedPlan(made, report)


def _first_session(knowledge: KnowledgeBase, request: PlanRequest, history: tuple[Administration, ...]) -> bool:
    """No earlier session of this product for this indication in the patient's history (as in the check, a dose
    given elsewhere for an indication not given leaves the patient new to this one)."""
    try:
        product, indication = knowledge.product(request.product).id, knowledge.indication(request.indication).id
    except UnknownIdError:
        return True  # make_plan refuses the request, naming the field
    return not any(item.product == product and item.indication == indication for item in history)
