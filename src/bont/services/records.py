"""Recording a treatment session: the safety check re-runs against the stored history inside the same
transaction that writes the session, so two sessions recorded at once for one patient cannot both pass a
cumulative limit, and no vial gives more than it holds. The patient's recorded adverse events are read in the
same transaction and checked too."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from bont.domain.errors import FieldError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import CheckRequest, SafetyReport, SessionPlan, SessionSite, VialInUse, check
from bont.services.ports import ClinicalRecords, SessionRecord, VialState


class RecordingError(FieldError):
    """The session was not recorded; ``field`` names the input at fault. Nothing was written."""


@dataclass(frozen=True)
class VialOpening:
    """A sealed vial reconstituted for this session: when, and with how much diluent."""

    vial_id: int
    at: datetime
    diluent_ml: Decimal | None


@dataclass(frozen=True)
class RecordSession:
    patient_id: int
    on: date
    clinician: str
    indication: str
    product: str
    sites: tuple[SessionSite, ...]
    draws: tuple[tuple[int, Decimal], ...] = ()
    discard: tuple[int, ...] = ()  # vials whose remaining contents are discarded after this session
    guidance: str = ""
    acknowledgements: tuple[tuple[str, str], ...] = ()  # (finding code, reason)
    override_reason: str = ""
    deviation_reason: str = ""
    at: datetime | None = None
    openings: tuple[VialOpening, ...] = ()  # sealed vials opened for this session, written with it
    variant: str | None = None  # the protocol variant planned (e.g. unilateral); None: the check infers it

    @property
    def total_units(self) -> Decimal:
        return sum((site.units for site in self.sites), Decimal(0))


def _validated_draws(command: RecordSession, vials: dict[int, VialState]) -> tuple[tuple[int, Decimal], ...]:
    """Check every draw against what its vial holds; returns the units each discarded vial still holds."""
    for vial_id, units in command.draws:
        vial = vials.get(vial_id)
        if vial is None:
            raise RecordingError("draws", f"vial {vial_id} does not exist")
        if units <= 0:
            raise RecordingError("draws", f"units drawn from vial {vial_id} must be more than 0")
        if vial.state in ("discarded", "used-up"):
            raise RecordingError("draws", f"vial {vial_id} is {vial.state}")
        if units > vial.remaining:
            raise RecordingError(
                "draws", f"vial {vial_id} has {vial.remaining} U left; {units} U cannot be drawn from it"
            )
    drawn_now = dict(command.draws)
    discards = []
    for vial_id in command.discard:
        if vial_id not in vials:
            raise RecordingError("discard", f"vial {vial_id} must also be drawn from in this session")
        discards.append((vial_id, vials[vial_id].remaining - drawn_now.get(vial_id, Decimal(0))))
    return tuple(discards)


def _opened(records: ClinicalRecords, command: RecordSession, vials: dict[int, VialState]) -> dict[int, VialState]:
    """Reconstitute the vials this session opens, in the same unit of work, so the check sees their opening
    time (beyond-use) and a refused session leaves them sealed."""
    opened = dict(vials)
    for opening in command.openings:
        vial = vials.get(opening.vial_id)
        if vial is None:
            raise RecordingError("openings", f"vial {opening.vial_id} must also be drawn from in this session")
        if vial.state != "sealed":
            raise RecordingError("openings", f"vial {opening.vial_id} is {vial.state}, not sealed")
        if opening.diluent_ml is not None and not Decimal(0) < opening.diluent_ml <= Decimal(20):
            raise RecordingError(
                "openings", f"the diluent for vial {opening.vial_id} must be more than 0 and at most 20 mL"
            )
        records.open_vial(opening.vial_id, opening.at, opening.diluent_ml)
        opened[opening.vial_id] = replace(vial, state="reconstituted", reconstituted_at=opening.at)
    return opened


def _checked(
    records: ClinicalRecords, knowledge: KnowledgeBase, command: RecordSession
) -> tuple[SafetyReport, tuple[tuple[int, Decimal], ...]]:
    """Inside an open unit of work: lock the patient and vials, validate the draws and run the check."""
    if not command.sites:
        raise RecordingError("sites", "a session needs at least one injection site")
    total = command.total_units
    drawn = sum((units for _, units in command.draws), Decimal(0))
    if command.draws and drawn < total:
        raise RecordingError("draws", f"{drawn} U drawn from vials is less than the {total} U given")
    patient, history = records.lock_patient(command.patient_id, command.on)
    events = records.prior_adverse_events(command.patient_id, command.on)
    vials = _opened(records, command, records.lock_vials(tuple(vial_id for vial_id, _ in command.draws)))
    discards = _validated_draws(command, vials)
    report = check(
        knowledge,
        CheckRequest(
            on=command.on,
            at=command.at,
            patient=patient,
            plan=SessionPlan(
                command.product,
                command.indication,
                total,
                command.sites,
                variant=command.variant,
                deviation_reason=command.deviation_reason or None,
            ),
            history=history,
            vials=tuple(VialInUse(v.product, v.lot, v.lot_expiry, v.reconstituted_at) for v in vials.values()),
            adverse_events=events,
        ),
    )
    return report, discards


def preview_session(records: ClinicalRecords, knowledge: KnowledgeBase, command: RecordSession) -> SafetyReport:
    """The findings that recording this session would meet now, against the stored history; writes nothing."""
    with records:
        report, _ = _checked(records, knowledge, command)
        records.discard_changes()
    return report


def record_session(records: ClinicalRecords, knowledge: KnowledgeBase, command: RecordSession) -> int:
    """Check and write one session atomically; raises ``RecordingError`` (nothing written) when refused."""
    acknowledged = dict(command.acknowledgements)
    with records:
        report, discards = _checked(records, knowledge, command)
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
            # An unverified limit is named with its status, so that nobody acknowledges it without reading it.
            explicit = [f.acknowledgement for f in report.findings if f.acknowledgement and f.code in unacknowledged]
            raise RecordingError(
                "acknowledgements",
                f"acknowledge each warning with a reason: {', '.join(unacknowledged)}"
                + "".join(f"; acknowledge explicitly: {text}" for text in explicit),
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
                total_units=command.total_units,
                sites=command.sites,
                draws=command.draws,
                discards=discards,
                findings=report.findings,
                acknowledgements=acknowledged,
                verdict=str(report.verdict),
                override_reason=command.override_reason,
                deviation_reason=command.deviation_reason,
            )
        )
