"""The Django implementation of the billing port (``bont.services.billing.BillingRecords``): each session not
withdrawn, with its patient's name and conditions open on the day, the clinician's NPI and the vials drawn.

Read as plain values a chunk of sessions at a time (their sites, draws and patients' conditions in one query per
chunk), so that a year's export streams in constant memory and a fixed number of queries per chunk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model

from bont.clinic import models
from bont.domain.billing import VialUsed
from bont.services.billing import BillableSession, BillingRecords

CHUNK = 2_000  # sessions read at once


class DjangoBillingRecords(BillingRecords):
    def sessions(self, start: date, end: date) -> Iterator[BillableSession]:
        npis = dict(models.ProviderProfile.objects.values_list("user_id", "npi"))  # one row per clinician
        rows = (
            models.TreatmentSession.objects.filter(date__gte=start, date__lte=end, withdrawn_reason="")
            .order_by("date", "pk")
            .values_list(
                "pk",
                "date",
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
        while chunk := list(islice(rows, CHUNK)):
            yield from _chunk(chunk, npis)

    def session_date(self, session_id: int) -> date | None:
        return models.TreatmentSession.objects.filter(pk=session_id).values_list("date", flat=True).first()


def _chunk(chunk: list[tuple[Any, ...]], npis: dict[int, str]) -> Iterator[BillableSession]:
    ids = [row[0] for row in chunk]
    sites: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for session_id, muscle, side in (
        models.SessionSite.objects.filter(session_id__in=ids).order_by("pk").values_list("session_id", "muscle", "side")
    ):
        sites[session_id].append((muscle, side or None))
    vials: dict[int, list[VialUsed]] = defaultdict(list)
    for session_id, vial_units, units, ndc in (
        models.VialDraw.objects.filter(session_id__in=ids)
        .order_by("pk")
        .values_list("session_id", "vial__lot__vial_units", "units", "vial__lot__ndc")
    ):
        vials[session_id].append(VialUsed(vial_units, units, ndc))
    conditions: dict[int, list[tuple[str, date | None]]] = defaultdict(list)
    for patient_id, term, resolved_on in (
        models.PatientCondition.objects.filter(patient_id__in={row[2] for row in chunk})
        .order_by("pk")
        .values_list("patient_id", "term", "resolved_on")
    ):
        conditions[patient_id].append((term, resolved_on))
    for (
        session_id,
        on,
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
    ) in chunk:
        yield BillableSession(
            session_id=session_id,
            on=on,
            patient_mrn=mrn,
            product=product,
            indication=indication,
            guidance=guidance,
            sites=tuple(sites[session_id]),
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
            vials=tuple(vials[session_id]),
        )
