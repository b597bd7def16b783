"""Recording a treatment session: the safety check re-runs against the stored history inside the same
transaction that writes the session, so two sessions recorded at once for one patient cannot both pass a
cumulative limit, and no vial gives more than it holds. The patient's recorded adverse events are read in the
same transaction and checked too.

A correction of a recorded session is never an edit of the doses given, because the session's findings, their
acknowledgements, its vials and its claim lines all rest on them: the session is withdrawn and the corrected
session is recorded in its place, linked to it, in one unit of work, through the same check run on the stored
history without the withdrawn session. A refused correction writes nothing and leaves the session as it was."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from bont.domain.dilution import judge_diluent
from bont.domain.errors import FieldError
from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import CheckRequest, SafetyReport, SessionPlan, SessionSite, VialInUse, check
from bont.services.ports import ClinicalRecords, SessionRecord, StoredSession, VialState


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
    # When the doses were drawn and injected, in the clinic's time zone: the moment the check reads beyond-use
    # times at, kept as the session's time of injection (None: not known; the check takes noon on ``on``).
    at: datetime | None = None
    given_by: str | None = None  # the clinician or nurse who injected (None: ``clinician``, who records it)
    openings: tuple[VialOpening, ...] = ()  # sealed vials opened for this session, written with it
    # When the session is recorded, by the clinic's clock: given care cannot lie after it. The command line, the
    # API and the record form give it; None (a unit test's shortcut) leaves the dates unchecked.
    recorded_at: datetime | None = None
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
        if vial.state == "sealed":
            # Opened with this session, a vial is reconstituted by now (``_opened``); still sealed, its opening
            # time would be unknown and the beyond-use check could never block a draw from it.
            raise RecordingError(
                "draws", f"vial {vial_id} is sealed; record its reconstitution (openings) in the same session"
            )
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


def _opened(
    records: ClinicalRecords, knowledge: KnowledgeBase, command: RecordSession, vials: dict[int, VialState]
) -> dict[int, VialState]:
    """Reconstitute the vials this session opens, in the same unit of work, so the check sees their opening
    time (beyond-use) and a refused session leaves them sealed."""
    opened = dict(vials)
    for opening in command.openings:
        vial = vials.get(opening.vial_id)
        if vial is None:
            raise RecordingError("openings", f"vial {opening.vial_id} must also be drawn from in this session")
        if vial.state != "sealed":
            raise RecordingError("openings", f"vial {opening.vial_id} is {vial.state}, not sealed")
        if opening.diluent_ml is not None:
            verdict = judge_diluent(knowledge.product(vial.product), vial.vial_units, opening.diluent_ml)
            if verdict.refusal is not None:
                raise RecordingError("openings", f"Vial {opening.vial_id}: {verdict.refusal}")
        records.open_vial(opening.vial_id, opening.at, opening.diluent_ml)
        opened[opening.vial_id] = replace(vial, state="reconstituted", reconstituted_at=opening.at)
    return opened


def _checked(
    records: ClinicalRecords,
    knowledge: KnowledgeBase,
    command: RecordSession,
    carried: tuple[tuple[int, Decimal], ...] = (),
) -> tuple[SafetyReport, tuple[tuple[int, Decimal], ...]]:
    """Inside an open unit of work: lock the patient and vials, validate the draws and run the check.
    ``carried`` are the draws of a session this one corrects, already taken from their vials."""
    if not command.sites:
        raise RecordingError("sites", "a session needs at least one injection site")
    total = command.total_units
    drawn = sum((units for _, units in (*command.draws, *carried)), Decimal(0))
    if (command.draws or carried) and drawn < total:
        earlier = sum((units for _, units in carried), Decimal(0))
        raise RecordingError(
            "draws",
            f"{drawn} U drawn from vials is less than the {total} U given"
            + (f" ({earlier} U of them drawn for the session corrected)" if carried else ""),
        )
    patient, history = records.lock_patient(command.patient_id, command.on)
    events = records.prior_adverse_events(command.patient_id, command.on)
    vials = _opened(records, knowledge, command, records.lock_vials(tuple(vial_id for vial_id, _ in command.draws)))
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


def preview_correction(
    records: ClinicalRecords, knowledge: KnowledgeBase, session_id: int, command: RecordSession
) -> SafetyReport:
    """The findings that correcting session ``session_id`` with ``command`` would meet now: the check on the
    stored history without that session, the draws it made carried; writes nothing."""
    with records:
        original = records.lock_session(session_id)
        carried: tuple[tuple[int, Decimal], ...] = ()
        if original is not None and not original.withdrawn_reason:
            # Withdrawn only inside this unit of work, which is rolled back: the reason is never kept.
            records.withdraw_session(session_id, "previewing its correction", None)
            carried = original.draws
        report, _ = _checked(records, knowledge, command, carried)
        records.discard_changes()
    return report


def record_session(records: ClinicalRecords, knowledge: KnowledgeBase, command: RecordSession) -> int:
    """Check and write one session atomically; raises ``RecordingError`` (nothing written) when refused."""
    with records:
        return _record(records, knowledge, command, None)


def correct_session(
    records: ClinicalRecords,
    knowledge: KnowledgeBase,
    session_id: int,
    command: RecordSession,
    reason: str,
    by: str,
) -> int:
    """Correct a recorded session: withdraw it (with ``reason``, by clinician ``by``) and record ``command`` in
    its place, linked to it, atomically; returns the new session's id. The check runs on the stored history
    without the withdrawn session, so a correction is judged as the session it describes would have been. The
    corrected session keeps the vial draws and the discarded units of the session it corrects (they were taken
    from the vials once); draws named in ``command`` are further draws. Refused, writing nothing, naming the
    field: no reason, ``by`` not a clinician, no such session, a session already withdrawn, another patient, or
    another product when the corrected session drew from vials; then as ``record_session``."""
    written = reason.strip()
    if not written:
        raise RecordingError("reason", "give the reason the session is corrected")
    with records:
        if not records.user_may_override(by):
            raise RecordingError("by", "only a clinician may correct a session")
        original = records.lock_session(session_id)
        if original is None:
            raise RecordingError("session", "no session with this id")
        if original.withdrawn_reason:
            raise RecordingError("session", "this session is withdrawn; record the session again instead")
        if original.patient_id != command.patient_id:
            raise RecordingError(
                "patient_mrn",
                "a correction is for the patient of the session corrected; withdraw the session and record it "
                "for the right patient",
            )
        if original.draws and knowledge.product(command.product).id != original.product:
            raise RecordingError(
                "product",
                "the vials drawn for the session corrected hold another product; withdraw the session and record "
                "it again",
            )
        records.withdraw_session(session_id, written, by)
        return _record(records, knowledge, command, original)


def _check_not_in_future(command: RecordSession) -> None:
    """A session records care given: its day and its time of injection cannot come after the recording."""
    if command.recorded_at is None:
        return
    if command.on > command.recorded_at.date():
        raise RecordingError("date", "is in the future; record a session once it is given")
    if command.at is not None and command.at > command.recorded_at:
        raise RecordingError("given_at", "is in the future; record a session once it is given")


def _record(
    records: ClinicalRecords, knowledge: KnowledgeBase, command: RecordSession, corrected: StoredSession | None
) -> int:
    """Inside an open unit of work: check the session and write it, or raise ``RecordingError``."""
    _check_not_in_future(command)
    if not records.may_inject(command.clinician):
        raise RecordingError("clinician", "must name an active clinician or nurse of the clinic")
    if command.given_by is not None and not records.may_inject(command.given_by):
        raise RecordingError(
            "given_by", "must name an active clinician or nurse of the clinic, who gave the injections"
        )
    acknowledged = dict(command.acknowledgements)
    carried = corrected.draws if corrected is not None else ()
    report, discards = _checked(records, knowledge, command, carried)
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
            corrects=corrected.session_id if corrected is not None else None,
            carried_draws=carried,
            carried_discarded=corrected.units_discarded if corrected is not None else Decimal(0),
            given_by=command.given_by,
            given_at=command.at,
        )
    )
