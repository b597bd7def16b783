"""The Django implementation of ``bont.services.adverse_events.AdverseEvents``."""

from __future__ import annotations

from django.db import transaction

from bont.clinic import models
from bont.services.adverse_events import (
    AdverseEventReport,
    AdverseEventRow,
    AdverseEvents,
    ReportingContext,
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
        rows = models.AdverseEvent.objects.select_related("patient", "suspected_session").order_by("-onset", "-pk")
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
            )
            for e in rows[:limit]
        )
