"""The Django implementation of the billing port (``bont.services.billing.BillingRecords``): each session not
withdrawn, with its patient's name and conditions open on the day, the clinician's NPI and the vials drawn."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch

from bont.clinic import models
from bont.domain.billing import VialUsed
from bont.services.billing import BillableSession, BillingRecords


class DjangoBillingRecords(BillingRecords):
    def sessions(self, start: date, end: date) -> tuple[BillableSession, ...]:
        rows = list(
            models.TreatmentSession.objects.filter(date__gte=start, date__lte=end, withdrawn_reason="")
            .select_related("patient", "clinician")
            .prefetch_related(
                "sites",
                Prefetch("draws", queryset=models.VialDraw.objects.select_related("vial__lot").order_by("pk")),
                Prefetch("patient__conditions", queryset=models.PatientCondition.objects.order_by("pk")),
            )
            .order_by("date", "pk")
        )
        npis = dict(
            models.ProviderProfile.objects.filter(user_id__in={row.clinician_id for row in rows}).values_list(
                "user_id", "npi"
            )
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
                patient_name=f"{row.patient.family_name}, {row.patient.given_name}",
                # open on the day, as the safety check's patient snapshot reads them (bont.clinic.repositories)
                conditions=tuple(
                    c.term for c in row.patient.conditions.all() if c.resolved_on is None or c.resolved_on >= row.date
                ),
                protocol=row.protocol,
                clinician=str(row.clinician.get_username()),
                clinician_npi=npis.get(row.clinician_id, ""),
                vials=tuple(VialUsed(d.vial.lot.vial_units, d.units, d.vial.lot.ndc) for d in row.draws.all()),
            )
            for row in rows
        )

    def session_date(self, session_id: int) -> date | None:
        return models.TreatmentSession.objects.filter(pk=session_id).values_list("date", flat=True).first()
