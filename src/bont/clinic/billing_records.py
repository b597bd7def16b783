"""The Django implementation of the billing port (``bont.services.billing.BillingRecords``): each session not
withdrawn, with its patient's name and conditions open on the day, the clinician's NPI and the vials drawn.

The sessions are read from their claim inputs (``models.SessionClaimInputs``, kept by the recording transactions
in ``bont.clinic.derived``): one compact row per session given, its sites and vial draws as JSON, laid out by
date; streamed in one query by date then session, so that a year's export reads consecutive pages, in constant
memory but for the record number, name and conditions of the patients seen in the range, each read once. The
same few site lists and draws recur across a clinic: each distinct one is parsed once per export."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterator
from datetime import date
from decimal import Context, Decimal
from itertools import chain
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import QuerySet, Subquery

from bont.clinic import models
from bont.domain.billing import VialUsed
from bont.services.billing import BillableSession, BillingRecords

CHUNK = 2_000  # rows fetched at once
PARSED_KEPT = 50_000  # distinct site lists and draws kept parsed per export: bounds its memory
CENTS = Decimal("0.01")  # the units fields' two decimal places, as the ORM reads them back
FIFTEEN_DIGITS = Context(prec=15)


class _Parsed:
    """The stored JSON lists as billing reads them, each distinct text parsed once."""

    def __init__(self, muscles: Collection[str] | None) -> None:
        self.muscles = None if muscles is None else frozenset(muscles)
        self.sites: dict[str, tuple[tuple[str, str | None], ...]] = {}
        self.vials: dict[str, tuple[VialUsed, ...]] = {}
        self.days: dict[object, date] = {}
        self.amounts: dict[Decimal | float, Decimal] = {}

    def day(self, value: object) -> date:
        """A date as the driver gives it (SQLite: its ISO text) as a ``date``."""
        found = self.days.get(value)
        if found is None:
            found = self.days[value] = value if isinstance(value, date) else date.fromisoformat(str(value))
        return found

    def units(self, value: Decimal | float) -> Decimal:
        """Units as the driver gives them (SQLite: an int or a float) as the ORM reads them: to hundredths."""
        found = self.amounts.get(value)
        if found is None:
            if len(self.amounts) >= PARSED_KEPT:
                self.amounts.clear()
            # (SQLite's 15 significant digits, as Django's converter reads them)
            exact = value if isinstance(value, Decimal) else FIFTEEN_DIGITS.create_decimal_from_float(value)
            found = self.amounts[value] = exact.quantize(CENTS)
        return found

    def sites_of(self, text: str) -> tuple[tuple[str, str | None], ...]:
        found = self.sites.get(text)
        if found is None:
            if len(self.sites) >= PARSED_KEPT:
                self.sites.clear()
            found = self.sites[text] = tuple(
                (muscle, side or None)
                for muscle, side in json.loads(text)
                if self.muscles is None or muscle in self.muscles
            )
        return found

    def vials_of(self, text: str) -> tuple[VialUsed, ...]:
        found = self.vials.get(text)
        if found is None:
            if len(self.vials) >= PARSED_KEPT:
                self.vials.clear()
            found = self.vials[text] = tuple(
                VialUsed(Decimal(vial_units).quantize(CENTS), Decimal(units).quantize(CENTS), ndc)
                for vial_units, units, ndc in json.loads(text)
            )
        return found


def _rows(query: QuerySet[Any, tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The query's rows as the database driver gives them, a chunk at a time (on PostgreSQL through a server-side
    cursor, as ``QuerySet.iterator`` reads): Django's converters would cost more than the rest of the export."""
    connection = connections[query.db]
    sql, parameters = query.query.get_compiler(using=query.db).as_sql()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, parameters)
        while chunk := cursor.fetchmany(CHUNK):
            yield from chunk


class DjangoBillingRecords(BillingRecords):
    def sessions(self, start: date, end: date, muscles: Collection[str] | None = None) -> Iterator[BillableSession]:
        npis = dict(models.ProviderProfile.objects.values_list("user_id", "npi"))  # one row per clinician
        clinicians = dict(get_user_model().objects.values_list("pk", get_user_model().USERNAME_FIELD))
        given = models.SessionClaimInputs.objects.filter(date__gte=start, date__lte=end)
        rows = _rows(
            given.order_by("date", "session_id").values_list(
                "date",
                "session_id",
                "patient_id",
                "product",
                "indication",
                "guidance",
                "total_units",
                "units_discarded",
                "protocol",
                "clinician_id",
                "sites",
                "vials",
            )
        )
        # The sessions are read first: the patients and conditions, read next, are those of every patient the
        # sessions name, even one recorded for the first time meanwhile.
        first = next(rows, None)
        if first is None:
            return
        seen = Subquery(given.values("patient_id"))
        # Each patient's record number and name, read once (in the patients' order) rather than joined to each
        # session: a join looks up the patient's row again for every session, all over the file.
        patients = {
            patient_id: (mrn, f"{family_name}, {given_name}")
            for patient_id, mrn, family_name, given_name in models.Patient.objects.filter(pk__in=seen)
            .order_by("pk")
            .values_list("pk", "mrn", "family_name", "given_name")
        }
        conditions: dict[int, list[tuple[str, date | None]]] = defaultdict(list)
        for patient_id, term, resolved_on in (
            models.PatientCondition.objects.filter(patient_id__in=seen)
            .order_by("patient_id", "pk")  # each patient's in the chart's order, as the index holds them
            .values_list("patient_id", "term", "resolved_on")
        ):
            conditions[patient_id].append((term, resolved_on))
        # most patients' conditions are all still open: the same terms every day, made once
        always_open = {
            patient_id: tuple(term for term, _ in held)
            for patient_id, held in conditions.items()
            if all(resolved_on is None for _, resolved_on in held)
        }
        parsed = _Parsed(muscles)
        for (
            on,
            session_id,
            patient_id,
            product,
            indication,
            guidance,
            total_units,
            units_discarded,
            protocol,
            clinician_id,
            sites,
            vials,
        ) in chain((first,), rows):
            on = parsed.day(on)
            mrn, name = patients[patient_id]
            yield BillableSession(
                session_id=session_id,
                on=on,
                patient_mrn=mrn,
                product=product,
                indication=indication,
                guidance=guidance,
                sites=parsed.sites_of(sites),
                total_units=parsed.units(total_units),
                units_discarded=parsed.units(units_discarded),
                patient_name=name,
                # open on the day, as the safety check's patient snapshot reads them (bont.clinic.repositories)
                conditions=always_open.get(patient_id)
                or tuple(
                    term
                    for term, resolved_on in conditions.get(patient_id, ())
                    if resolved_on is None or resolved_on >= on
                ),
                protocol=protocol,
                clinician=str(clinicians.get(clinician_id, "")),
                clinician_npi=npis.get(clinician_id, ""),
                vials=parsed.vials_of(vials),
            )

    def session_date(self, session_id: int) -> date | None:
        return models.TreatmentSession.objects.filter(pk=session_id).values_list("date", flat=True).first()
