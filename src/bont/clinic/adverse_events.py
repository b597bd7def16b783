"""The Django implementation of ``bont.services.adverse_events.AdverseEvents``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from bont.clinic import models
from bont.services.adverse_events import (
    AdverseEventCorrection,
    AdverseEventReport,
    AdverseEventRow,
    AdverseEvents,
    ReportingContext,
    StoredAdverseEventDetail,
    SuspectableSession,
)
from bont.services.ports import UnknownPatientError


class DjangoAdverseEvents(AdverseEvents):
    def reporting_context(self, mrn: str) -> ReportingContext:
        row = models.Patient.objects.filter(mrn=mrn).first()
        if row is None:
            raise UnknownPatientError()
        return ReportingContext(
            mrn=row.mrn,
            given_name=row.given_name,
            family_name=row.family_name,
            birth_date=row.birth_date,
            sessions=tuple(
                SuspectableSession(s.pk, s.date, s.product, s.total_units, bool(s.withdrawn_reason))
                for s in row.sessions.order_by("date", "pk")
            ),
        )

    def add(self, report: AdverseEventReport) -> int:
        with transaction.atomic():
            patient = models.Patient.objects.get(mrn=report.mrn)
            row = models.AdverseEvent.objects.create(
                patient=patient,
                suspected_session_id=report.session_id,
                event=report.event,
                onset=report.onset,
                severity=report.severity,
                serious=bool(report.serious),
                outcome=report.outcome,
                notes=report.notes,
            )
        return int(row.pk)

    def listing(self, product: str | None, limit: int) -> tuple[AdverseEventRow, ...]:
        rows = models.AdverseEvent.objects.select_related("patient", "suspected_session", "withdrawn_by").order_by(
            "-onset", "-pk"
        )
        if product:
            rows = rows.filter(suspected_session__product=product)
        return tuple(
            AdverseEventRow(
                id=e.pk,
                mrn=e.patient.mrn,
                event=e.event,
                onset=e.onset,
                severity=e.severity,
                outcome=e.outcome,
                session_id=e.suspected_session_id,
                session_on=e.suspected_session.date if e.suspected_session else None,
                session_product=e.suspected_session.product if e.suspected_session else None,
                serious=e.serious,
                withdrawn_reason=e.withdrawn_reason,
                withdrawn_by=e.withdrawn_by.get_username() if e.withdrawn_by else None,
            )
            for e in rows[:limit]
        )

    def event(self, event_id: int) -> StoredAdverseEventDetail | None:
        row = models.AdverseEvent.objects.select_related("patient", "withdrawn_by").filter(pk=event_id).first()
        if row is None:
            return None
        return StoredAdverseEventDetail(
            id=int(row.pk),
            mrn=row.patient.mrn,
            event=row.event,
            onset=row.onset,
            severity=row.severity,
            serious=row.serious,
            outcome=row.outcome,
            notes=row.notes,
            session_id=row.suspected_session_id,
            withdrawn_reason=row.withdrawn_reason,
            withdrawn_by=row.withdrawn_by.get_username() if row.withdrawn_by else None,
        )

    def correct(self, event_id: int, correction: AdverseEventCorrection, by: str | None) -> None:
        with transaction.atomic():
            row = models.AdverseEvent.objects.select_for_update().get(pk=event_id)
            for name, value in correction.changes().items():
                setattr(row, name, value)
            if by is not None:
                row._history_user = get_user_model().objects.filter(username=by).first()  # type: ignore[attr-defined]
            row.save()

    def withdraw(self, event_id: int, reason: str, by: str | None) -> str | None:
        return models.withdraw_row(models.AdverseEvent, event_id, reason, by)
