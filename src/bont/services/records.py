"""Recording a treatment session: the safety check re-runs against the stored history inside the same
transaction that writes the session, so two sessions recorded at once for one patient cannot both pass a
cumulative limit, and no vial gives more than it holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from bont.domain.errors import BontError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import CheckRequest, SessionPlan, SessionSite, VialInUse, check
from bont.services.ports import ClinicalRecords, SessionRecord


class RecordingError(BontError, ValueError):
    """The session was not recorded; ``field`` names the input at fault. Nothing was written."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class RecordSession:
    patient_id: int
    on: date
    clinician: str
    indication: str
    product: str
    sites: tuple[SessionSite, ...]
    draws: tuple[tuple[int, Decimal], ...] = ()
    guidance: str = ""
    acknowledgements: tuple[tuple[str, str], ...] = ()  # (finding code, reason)
    override_reason: str = ""
    deviation_reason: str = ""
    at: datetime | None = None


def record_session(records: ClinicalRecords, knowledge: KnowledgeBase, command: RecordSession) -> int:
    """Check and write one session atomically; raises ``RecordingError`` (nothing written) when refused."""
    if not command.sites:
        raise RecordingError("sites", "a session needs at least one injection site")
    total = sum((site.units for site in command.sites), Decimal(0))
    drawn = sum((units for _, units in command.draws), Decimal(0))
    if command.draws and drawn < total:
        raise RecordingError("draws", f"{drawn} U drawn from vials is less than the {total} U given")
    acknowledged = dict(command.acknowledgements)
    with records:
        patient, history = records.lock_patient(command.patient_id, command.on)
        vials = records.lock_vials(tuple(vial_id for vial_id, _ in command.draws))
        for vial_id, units in command.draws:
            vial = vials.get(vial_id)
            if vial is None:
                raise RecordingError("draws", f"vial {vial_id} does not exist")
            if units <= 0:
                raise RecordingError("draws", f"units drawn from vial {vial_id} must be more than 0")
            if units > vial.remaining:
                raise RecordingError(
                    "draws", f"vial {vial_id} has {vial.remaining} U left; {units} U cannot be drawn from it"
                )
        report = check(
            knowledge,
            CheckRequest(
                on=command.on,
                at=command.at,
                patient=patient,
                plan=SessionPlan(command.product, command.indication, total, command.sites),
                history=history,
                vials=tuple(VialInUse(v.product, v.lot, v.lot_expiry, v.reconstituted_at) for v in vials.values()),
            ),
        )
        blocking = [f for f in report.findings if f.severity is Severity.BLOCK]
        if blocking:
            if not command.override_reason.strip():
                raise RecordingError(
                    "override_reason",
                    "the safety check blocks this session ("
                    + "; ".join(f"{f.code}: {f.message}" for f in blocking)
                    + "); only a clinician's written override can record it",
                )
            if not records.user_may_override(command.clinician):
                raise RecordingError("clinician", "only a clinician may override a blocking finding")
        unacknowledged = sorted({f.code for f in report.findings if f.severity is Severity.WARN} - set(acknowledged))
        if unacknowledged:
            raise RecordingError(
                "acknowledgements", f"acknowledge each warning with a reason: {', '.join(unacknowledged)}"
            )
        return records.add_session(
            SessionRecord(
                patient_id=command.patient_id,
                on=command.on,
                clinician=command.clinician,
                indication=knowledge.indication(command.indication).id,
                product=knowledge.product(command.product).id,
                protocol=report.protocol,
                guidance=command.guidance,
                total_units=total,
                sites=command.sites,
                draws=command.draws,
                findings=report.findings,
                acknowledgements=acknowledged,
                verdict=str(report.verdict),
                override_reason=command.override_reason,
                deviation_reason=command.deviation_reason,
            )
        )
