"""The Django implementation of the recorded-sessions port (``bont.services.sessions.SessionRecords``)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from bont.clinic import models
from bont.clinic.derived import DerivedSummaries
from bont.clinic.repositories import CLINICIAN_GROUP, INJECTING_GROUPS
from bont.domain.anatomy import DiagramView
from bont.domain.canvas import SitePosition
from bont.services.ports import UnknownPatientError
from bont.services.sessions import (
    AnsweredFinding,
    GivenSite,
    Injector,
    PatientRef,
    SessionDetail,
    SessionDraw,
    SessionEvent,
    SessionRecords,
    SessionSummary,
)


def _patient(row: models.Patient) -> PatientRef:
    return PatientRef(row.pk, row.mrn, row.given_name, row.family_name, row.birth_date)


def _summary(row: models.TreatmentSession, corrected_by: int | None = None) -> SessionSummary:
    return SessionSummary(
        id=row.pk,
        on=row.date,
        product=row.product,
        indication=row.indication,
        protocol=row.protocol,
        total_units=row.total_units,
        units_discarded=row.units_discarded,
        verdict=row.verdict,
        withdrawn_reason=row.withdrawn_reason,
        withdrawn_by=row.withdrawn_by.get_username() if row.withdrawn_by else None,
        corrects=row.corrects_id,
        corrected_by=corrected_by,
        recorded_by=row.clinician.get_username(),
        given_by=row.given_by.get_username() if row.given_by else None,
        given_at=row.given_at,
        recorded_at=row.recorded_at,
    )


def _position(row: models.SessionSite) -> SitePosition | None:
    """Where the site was drawn when it was recorded; None for one recorded before the canvas, or elsewhere."""
    drawings = {str(drawing) for drawing in DiagramView}
    if row.drawing not in drawings or row.x is None or row.y is None:
        return None  # recorded before the canvas, or on a drawing this version no longer has
    return SitePosition(DiagramView(row.drawing), row.x, row.y)


def _corrections(session_ids: list[int]) -> dict[int, int]:
    """The session that corrects each of these (withdrawn) sessions, by the corrected session's id."""
    rows = models.TreatmentSession.objects.filter(corrects_id__in=session_ids).values_list("corrects_id", "pk")
    return {int(corrected): int(correcting) for corrected, correcting in rows}


class DjangoSessionRecords(SessionRecords):
    def __init__(self, derived: DerivedSummaries) -> None:
        self._derived = derived  # kept by each withdrawal

    def patient(self, mrn: str) -> PatientRef:
        row = models.Patient.objects.filter(mrn=mrn).first()
        if row is None:
            raise UnknownPatientError()
        return _patient(row)

    def sessions(self, patient_id: int) -> tuple[SessionSummary, ...]:
        rows = list(
            models.TreatmentSession.objects.filter(patient_id=patient_id)
            .select_related("withdrawn_by", "clinician", "given_by")
            .order_by("date", "pk")
        )
        corrections = _corrections([row.pk for row in rows if row.withdrawn_reason])
        return tuple(_summary(row, corrections.get(row.pk)) for row in rows)

    def session(self, session_id: int) -> SessionDetail | None:
        row = (
            models.TreatmentSession.objects.select_related("patient", "clinician", "withdrawn_by", "given_by")
            .filter(pk=session_id)
            .first()
        )
        if row is None:
            return None
        return SessionDetail(
            summary=_summary(row, _corrections([row.pk]).get(row.pk)),
            patient=_patient(row.patient),
            clinician=row.clinician.get_username(),
            override_reason=row.override_reason,
            deviation_reason=row.deviation_reason,
            sites=tuple(
                GivenSite(s.muscle, s.side, s.units, s.volume_ml, _position(s)) for s in row.sites.order_by("pk")
            ),
            draws=tuple(
                SessionDraw(d.vial_id, d.vial.state, d.vial.lot.lot_number, d.vial.lot.expiry, d.units)
                for d in row.draws.select_related("vial__lot").order_by("pk")
            ),
            findings=tuple(
                AnsweredFinding(
                    f.severity,
                    f.code,
                    f.message,
                    f.source,
                    f.acknowledgement,
                    f.acknowledged_by.get_username() if f.acknowledged_by else None,
                )
                for f in row.findings.select_related("acknowledged_by").order_by("pk")
            ),
            adverse_events=tuple(
                SessionEvent(e.event, e.severity, e.onset, e.serious, bool(e.withdrawn_reason))
                for e in row.adverse_events.order_by("onset", "pk")
            ),
            guidance=row.guidance,
        )

    def withdraw(self, session_id: int, reason: str, by: str | None) -> str | None:
        with transaction.atomic():
            before = models.withdraw_row(models.TreatmentSession, session_id, reason, by)
            if before == "":
                self._derived.refresh(models.TreatmentSession.objects.get(pk=session_id).patient_id)
            return before

    def is_clinician(self, username: str) -> bool:
        return get_user_model().objects.filter(username=username, groups__name=CLINICIAN_GROUP).exists()

    def injectors(self) -> tuple[Injector, ...]:
        users = (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=INJECTING_GROUPS)
            .prefetch_related("groups")
            .distinct()
        )
        found = [
            Injector(
                user.get_username(),
                user.get_full_name() or user.get_username(),
                CLINICIAN_GROUP if any(g.name == CLINICIAN_GROUP for g in user.groups.all()) else "nurse",
            )
            for user in users
        ]
        return tuple(sorted(found, key=lambda injector: (injector.name.casefold(), injector.username)))
