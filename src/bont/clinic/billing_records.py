"""The Django implementation of the billing port (``bont.services.billing.BillingRecords``)."""

from __future__ import annotations

from datetime import date

from bont.clinic import models
from bont.services.billing import BillableSession, BillingRecords


class DjangoBillingRecords(BillingRecords):
    def sessions(self, start: date, end: date) -> tuple[BillableSession, ...]:
        rows = (
            models.TreatmentSession.objects.filter(date__gte=start, date__lte=end, withdrawn_reason="")
            .select_related("patient")
            .prefetch_related("sites")
            .order_by("date", "pk")
        )
        return tuple(
            BillableSession(
                session_id=row.pk,
                on=row.date,
                patient_mrn=row.patient.mrn,
                product=row.product,
                indication=row.indication,
                guidance=row.guidance,
                sites=tuple((site.muscle, site.side or None) for site in row.sites.all()),
                total_units=row.total_units,
                units_discarded=row.units_discarded,
            )
            for row in rows
        )

    def session_date(self, session_id: int) -> date | None:
        return models.TreatmentSession.objects.filter(pk=session_id).values_list("date", flat=True).first()
