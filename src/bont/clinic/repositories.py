"""The Django implementation of the record-keeping ports. Rows go in, domain objects come out."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from simple_history.utils import bulk_create_with_history

from bont.clinic import models
from bont.clinic.derived import DerivedSummaries
from bont.domain.adverse_events import EventSeverity
from bont.domain.safety import Administration, Patient, PriorAdverseEvent
from bont.services.ports import (
    ClinicalRecords,
    PatientCharts,
    SessionRecord,
    StoredSession,
    UnknownPatientError,
    VialState,
)

CLINICIAN_GROUP = "clinician"
INJECTING_GROUPS = (CLINICIAN_GROUP, "nurse")  # the roles that give injections


class DjangoClinicalRecords(ClinicalRecords):
    """A unit of work in one database transaction; rows read through it are locked until it ends."""

    def __init__(self, derived: DerivedSummaries) -> None:
        self._unit: ExitStack | None = None
        self._derived = derived  # kept by each session recorded or withdrawn, in this unit of work

    def __enter__(self) -> DjangoClinicalRecords:
        with ExitStack() as unit:
            unit.enter_context(transaction.atomic())
            # The derived rows once per patient, just before the commit: not between a correction's withdrawal
            # and its new session, nor while the check runs (their totals are shared by the clinic's other writers).
            unit.enter_context(self._derived.deferred())
            self._unit = unit.pop_all()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._unit is not None
        unit, self._unit = self._unit, None
        unit.__exit__(kind, error, trace)  # a refresh that fails rolls the unit back

    def lock_patient(self, patient_id: int, on: date) -> tuple[Patient, tuple[Administration, ...]]:
        # SELECT ... FOR UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction already holds the write lock.
        row = models.Patient.objects.select_for_update().filter(pk=patient_id).first()
        if row is None:
            from bont.services.records import RecordingError

            raise RecordingError("patient", f"no patient with id {patient_id}")
        return patient_snapshot(row, on)

    def prior_adverse_events(self, patient_id: int, on: date) -> tuple[PriorAdverseEvent, ...]:
        return prior_adverse_events(patient_id, on)

    def lock_vials(self, vial_ids: tuple[int, ...]) -> dict[int, VialState]:
        rows = models.Vial.objects.select_for_update().select_related("lot").filter(pk__in=vial_ids)
        return {
            row.pk: VialState(
                vial_id=row.pk,
                product=row.lot.product,
                lot=row.lot.lot_number,
                lot_expiry=row.lot.expiry,
                vial_units=row.lot.vial_units,
                units_drawn=row.units_drawn,
                reconstituted_at=row.reconstituted_at,
                state=row.state,
            )
            for row in rows
        }

    def open_vial(self, vial_id: int, at: datetime, diluent_ml: Decimal | None) -> None:
        vial = models.Vial.objects.get(pk=vial_id)
        vial.state = models.Vial.State.RECONSTITUTED
        vial.reconstituted_at = at
        vial.diluent_ml = diluent_ml
        vial.save()

    def add_session(self, record: SessionRecord) -> int:
        user_model = get_user_model()
        clinician = user_model.objects.get(username=record.clinician)
        session = models.TreatmentSession(
            patient_id=record.patient_id,
            date=record.on,
            clinician=clinician,
            indication=record.indication,
            product=record.product,
            protocol=record.protocol or "",
            guidance=record.guidance,
            total_units=record.total_units,
            units_discarded=sum((units for _, units in record.discards), record.carried_discarded),
            deviation_reason=record.deviation_reason,
            verdict=record.verdict,
            override_reason=record.override_reason,
            corrects_id=record.corrects,
            given_by=user_model.objects.get(username=record.given_by) if record.given_by else None,
            given_at=record.given_at,
        )
        session._history_user = clinician  # type: ignore[attr-defined]  # django-simple-history reads it: who wrote it
        session.save()
        bulk_create_with_history(  # each site a first version, by the session's clinician
            [
                models.SessionSite(
                    session=session,
                    muscle=s.muscle,
                    side=s.side or "",
                    units=s.units,
                    volume_ml=s.volume_ml,
                    drawing=str(s.position.drawing) if s.position else "",
                    x=s.position.x if s.position else None,
                    y=s.position.y if s.position else None,
                )
                for s in record.sites
            ],
            models.SessionSite,
            default_user=clinician,
        )
        for finding in record.findings:
            reason = record.acknowledgements.get(finding.code, "")
            if finding.severity == "block":
                reason = record.override_reason
            models.SessionFinding.objects.create(
                session=session,
                severity=str(finding.severity),
                code=finding.code,
                message=finding.message,
                source=str(finding.source) if finding.source else "",
                acknowledged_by=clinician if reason else None,
                acknowledgement=reason,
            )
        for vial_id, units in record.draws:
            models.VialDraw.objects.create(session=session, vial_id=vial_id, units=units)
            # The database refuses a draw past the vial's content even if two writers race.
            updated = models.Vial.objects.filter(pk=vial_id, units_drawn__lte=F("lot__vial_units") - units).update(
                units_drawn=F("units_drawn") + units, state=models.Vial.State.RECONSTITUTED
            )
            if updated != 1:
                from bont.services.records import RecordingError

                raise RecordingError("draws", f"vial {vial_id} does not hold {units} U")
            models.Vial.objects.filter(pk=vial_id, units_drawn=F("lot__vial_units")).update(
                state=models.Vial.State.USED_UP
            )
        for vial_id, units in record.discards:
            models.Vial.objects.filter(pk=vial_id).update(state=models.Vial.State.DISCARDED, discarded_units=units)
        # ``update`` (kept for its guard against racing writers) writes no version: one for each vial drawn from
        # or discarded, as the session left it.
        drawn_or_discarded = models.Vial.objects.filter(pk__in=[v for v, _ in (*record.draws, *record.discards)])
        models.Vial.history.bulk_history_create(list(drawn_or_discarded), update=True, default_user=clinician)
        for vial_id, units in record.carried_draws:  # taken from the vial once, for the session corrected
            models.VialDraw.objects.create(session=session, vial_id=vial_id, units=units)
        self._derived.refresh(record.patient_id)
        return int(session.pk)

    def lock_session(self, session_id: int) -> StoredSession | None:
        row = models.TreatmentSession.objects.select_for_update().filter(pk=session_id).first()
        if row is None:
            return None
        return StoredSession(
            session_id=row.pk,
            patient_id=row.patient_id,
            product=row.product,
            withdrawn_reason=row.withdrawn_reason,
            draws=tuple((d.vial_id, d.units) for d in row.draws.order_by("pk")),
            units_discarded=row.units_discarded,
        )

    def withdraw_session(self, session_id: int, reason: str, by: str | None) -> None:
        row = models.TreatmentSession.objects.get(pk=session_id)
        row.withdrawn_reason = reason
        row.withdrawn_by = get_user_model().objects.filter(username=by).first() if by else None
        row._history_user = row.withdrawn_by  # type: ignore[attr-defined]  # django-simple-history reads it
        row.save()
        self._derived.refresh(row.patient_id)

    def discard_changes(self) -> None:
        transaction.set_rollback(True)
        self._derived.forget_deferred()  # nothing to keep: rolled back

    def user_may_override(self, username: str) -> bool:
        user = get_user_model().objects.filter(username=username).first()
        return bool(user and user.groups.filter(name=CLINICIAN_GROUP).exists())

    def may_inject(self, username: str) -> bool:
        return (
            get_user_model()
            .objects.filter(username=username, is_active=True, groups__name__in=INJECTING_GROUPS)
            .exists()
        )


class DjangoPatientCharts(PatientCharts):
    def chart(self, mrn: str, on: date) -> tuple[Patient, tuple[Administration, ...]]:
        row = models.Patient.objects.filter(mrn=mrn).first()
        if row is None:
            raise UnknownPatientError()
        return patient_snapshot(row, on)

    def prior_adverse_events(self, mrn: str, on: date) -> tuple[PriorAdverseEvent, ...]:
        patient_id = models.Patient.objects.filter(mrn=mrn).values_list("pk", flat=True).first()
        if patient_id is None:
            raise UnknownPatientError()
        return prior_adverse_events(patient_id, on)


def patient_snapshot(row: models.Patient, on: date) -> tuple[Patient, tuple[Administration, ...]]:
    """The patient as of ``on`` (conditions, medicines, weight, pregnancy) and every recorded administration, with
    the doses given elsewhere (imported outside history) among them by date."""
    # Plain value rows: the chart asks this on every opening, and model instances cost more than the query.
    current = Q(resolved_on__isnull=True) | Q(resolved_on__gte=on)
    weight = (  # a same-day reweigh wins
        row.weights.filter(measured_on__lte=on)
        .order_by("-measured_on", "-pk")
        .values_list("weight_kg", flat=True)
        .first()
    )
    statuses = set(
        row.reproductive_statuses.filter(from_date__lte=on)
        .filter(Q(to_date__isnull=True) | Q(to_date__gte=on))
        .values_list("status", flat=True)
    )
    patient = Patient(
        birth_date=row.birth_date,
        sex=row.sex,
        weight_kg=weight,
        conditions=tuple(row.conditions.filter(current).values_list("term", flat=True)),
        medications=tuple(
            row.medications.filter(Q(stopped_on__isnull=True) | Q(stopped_on__gte=on)).values_list(
                "generic_name", flat=True
            )
        ),
        allergies=tuple(
            row.allergies.filter(Q(removed_on__isnull=True) | Q(removed_on__gte=on)).values_list("substance", flat=True)
        ),
        pregnant=models.ReproductiveStatus.Status.PREGNANT in statuses,
        breastfeeding=models.ReproductiveStatus.Status.BREASTFEEDING in statuses,
        catheterizes=row.catheterizes,
    )
    history = tuple(
        Administration(day, product, indication, units, protocol or None)
        for day, product, indication, units, protocol in row.sessions.filter(withdrawn_reason="")
        .order_by("date")
        .values_list("date", "product", "indication", "total_units", "protocol")
    )
    # Doses given elsewhere count as the clinic's own do, each naming its source.
    elsewhere = tuple(
        Administration(day, product, indication or None, units, source=source)
        for day, product, indication, units, source in row.external_administrations.filter(withdrawn_reason="")
        .order_by("date", "pk")
        .values_list("date", "product", "indication", "units", "source")
    )
    if elsewhere:
        history = tuple(sorted((*history, *elsewhere), key=lambda item: item.on))
    return patient, history


def prior_adverse_events(patient_id: int, on: date) -> tuple[PriorAdverseEvent, ...]:
    """The patient's adverse events with onset on or before ``on`` (withdrawn ones left out), by onset, with the
    product and indication of the suspected session; a withdrawn session (entered in error) names no
    treatment."""
    rows = (
        models.AdverseEvent.objects.select_related("suspected_session")
        .filter(patient_id=patient_id, onset__lte=on, withdrawn_reason="")  # a withdrawn event was entered in error
        .order_by("onset", "pk")
    )
    events = []
    for row in rows:
        session = row.suspected_session
        given = session is not None and not session.withdrawn_reason
        events.append(
            PriorAdverseEvent(
                on=row.onset,
                term=row.event,
                severity=EventSeverity(row.severity),
                serious=row.serious,
                product=session.product if given and session is not None else None,
                indication=session.indication if given and session is not None else None,
            )
        )
    return tuple(events)
