"""The Django implementation of the billing port (``bont.services.billing.BillingRecords``): each session not
withdrawn, with its patient's name and conditions open on the day, the clinician's NPI and the vials drawn.

Read as plain values in three streams ordered alike (by session date, then session): the sessions, their sites
and their vial draws, each filtered by the date range itself rather than by lists of ids, merged as they come;
plus the conditions of the patients seen in the range, read once. So a year's export streams in constant memory
(but for those conditions) and in five queries whatever its length."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from datetime import date
from decimal import Decimal
from itertools import chain

from django.contrib.auth import get_user_model
from django.db.models import Subquery

from bont.clinic import models
from bont.clinic.session_streams import RowsBySession
from bont.domain.billing import VialUsed
from bont.services.billing import BillableSession, BillingRecords

CHUNK = 2_000  # rows fetched at once from each stream


class DjangoBillingRecords(BillingRecords):
    def sessions(self, start: date, end: date, muscles: Collection[str] | None = None) -> Iterator[BillableSession]:
        npis = dict(models.ProviderProfile.objects.values_list("user_id", "npi"))  # one row per clinician
        given = models.TreatmentSession.objects.filter(date__gte=start, date__lte=end, withdrawn_reason="")
        rows = (
            given.order_by("date", "pk")
            .values_list(
                "date",
                "pk",
                "patient_id",
                "patient__mrn",
                "patient__family_name",
                "patient__given_name",
                "product",
                "indication",
                "guidance",
                "total_units",
                "units_discarded",
                "protocol",
                "clinician_id",
                f"clinician__{get_user_model().USERNAME_FIELD}",
            )
            .iterator(chunk_size=CHUNK)
        )
        # The sessions are read first: each query sees the records as they were when it started, so every session
        # this one reads had its sites, draws and conditions committed before the later queries began. A session
        # withdrawn meanwhile keeps its sites in them; one recorded meanwhile has rows the merge passes over.
        first = next(rows, None)
        if first is None:
            return
        rows = chain((first,), rows)
        in_range = {"session__date__gte": start, "session__date__lte": end}
        site_rows = models.SessionSite.objects.filter(**in_range)
        if muscles is not None:
            site_rows = site_rows.filter(muscle__in=sorted(muscles))
        sites = RowsBySession(
            site_rows.order_by("session__date", "session_id", "pk")
            .values_list("session__date", "session_id", "muscle", "side")
            .iterator(chunk_size=CHUNK)
        )
        draws = RowsBySession(
            models.VialDraw.objects.filter(**in_range)
            .order_by("session__date", "session_id", "pk")
            .values_list("session__date", "session_id", "vial__lot__vial_units", "units", "vial__lot__ndc")
            .iterator(chunk_size=CHUNK)
        )
        conditions: dict[int, list[tuple[str, date | None]]] = defaultdict(list)
        for patient_id, term, resolved_on in (
            models.PatientCondition.objects.filter(patient_id__in=Subquery(given.values("patient_id")))
            .order_by("patient_id", "pk")  # each patient's in the chart's order, as the index holds them
            .values_list("patient_id", "term", "resolved_on")
        ):
            conditions[patient_id].append((term, resolved_on))
        vials_used: dict[tuple[Decimal, Decimal, str], VialUsed] = {}  # the same few draws recur: made once
        for (
            on,
            session_id,
            patient_id,
            mrn,
            family_name,
            given_name,
            product,
            indication,
            guidance,
            total_units,
            units_discarded,
            protocol,
            clinician_id,
            clinician,
        ) in rows:
            key = (on, session_id)
            vials = []
            for _, _, vial_units, units, ndc in draws.rows_of(key):
                vial = vials_used.get((vial_units, units, ndc))
                if vial is None:
                    vial = vials_used[vial_units, units, ndc] = VialUsed(vial_units, units, ndc)
                vials.append(vial)
            yield BillableSession(
                session_id=session_id,
                on=on,
                patient_mrn=mrn,
                product=product,
                indication=indication,
                guidance=guidance,
                sites=tuple((muscle, side or None) for _, _, muscle, side in sites.rows_of(key)),
                total_units=total_units,
                units_discarded=units_discarded,
                patient_name=f"{family_name}, {given_name}",
                # open on the day, as the safety check's patient snapshot reads them (bont.clinic.repositories)
                conditions=tuple(
                    term for term, resolved_on in conditions[patient_id] if resolved_on is None or resolved_on >= on
                ),
                protocol=protocol,
                clinician=str(clinician),
                clinician_npi=npis.get(clinician_id, ""),
                vials=tuple(vials),
            )

    def session_date(self, session_id: int) -> date | None:
        return models.TreatmentSession.objects.filter(pk=session_id).values_list("date", flat=True).first()
