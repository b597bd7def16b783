"""The Django implementation of the billing port (``bont.services.billing.BillingRecords``): each session not
withdrawn, with its patient's name and conditions open on the day, the clinician's NPI and the vials drawn.

The sessions are read from their claim inputs (``models.SessionClaimInputs``, kept by the recording transactions
in ``bont.clinic.derived``): a few numbers per session given (its day, patient, clinician and claim content), all
held by the index by date, streamed from it in one query by date then session, so that a year's export reads one
index in order and constant memory but for the patients and claim contents it meets. Those are read with each
chunk of sessions that brings new ones, each once per export: a claim content's sites and draws parsed once."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import CharField, F, QuerySet
from django.db.models.functions import Cast

from bont.clinic import models
from bont.clinic.derived import CENTS, CONTENT_COLUMNS
from bont.domain.billing import VialUsed
from bont.services.billing import BillableSession, BillingRecords, ClaimContent

CHUNK = 2_000  # rows fetched at once
PARSED_KEPT = 50_000  # distinct claim contents kept parsed per export: bounds its memory


class _Parsed:
    """The stored values as billing reads them, each distinct one converted once."""

    def __init__(self, muscles: Collection[str] | None) -> None:
        self.muscles = None if muscles is None else frozenset(muscles)
        self.days: dict[object, date] = {}

    def day(self, value: object) -> date:
        """A date as the driver gives it (SQLite: its ISO text) as a ``date``."""
        found = self.days.get(value)
        if found is None:
            found = self.days[value] = value if isinstance(value, date) else date.fromisoformat(str(value))
        return found

    def content(self, values: tuple[Any, ...]) -> ClaimContent:
        """A claim content's row (``CONTENT_COLUMNS``, read through the ORM) as billing reads it: the sites in the
        muscles billing reads."""
        indication, product, protocol, guidance, total_units, units_discarded, sites, vials = values
        return ClaimContent(
            product=product,
            indication=indication,
            guidance=guidance,
            sites=tuple(
                (muscle, side or None)
                for muscle, side in json.loads(sites)
                if self.muscles is None or muscle in self.muscles
            ),
            total_units=total_units,
            units_discarded=units_discarded,
            protocol=protocol,
            vials=tuple(
                VialUsed(Decimal(vial_units).quantize(CENTS), Decimal(units).quantize(CENTS), ndc)
                for vial_units, units, ndc in json.loads(vials)
            ),
        )


def _chunks(query: QuerySet[Any, tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """The query's rows as the database driver gives them, a chunk at a time (on PostgreSQL through a server-side
    cursor, as ``QuerySet.iterator`` reads): Django's converters would cost more than the rest of the export."""
    connection = connections[query.db]
    sql, parameters = query.query.get_compiler(using=query.db).as_sql()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, parameters)
        while chunk := cursor.fetchmany(CHUNK):
            yield chunk


class _Patients:
    """The record number, name and conditions of the patients an export meets, read once each: with the chunk of
    sessions that first names them, or all at once when a chunk names many (a long range meets most of the clinic,
    and reading every patient in order costs less than looking each one up)."""

    ALL_AT_ONCE = 500  # new patients in one chunk that make reading every patient cheaper

    def __init__(self, days: _Parsed) -> None:
        self.days = days
        # (record number, "Family, Given", the conditions when all are still open, as most patients' are)
        self.known: dict[int, tuple[str, str, tuple[str, ...] | None]] = {}
        self.resolved: dict[int, list[tuple[str, date | None]]] = {}  # the conditions of the others
        self.everyone = False

    def meet(self, patient_ids: Collection[int]) -> None:
        new = sorted({patient_id for patient_id in patient_ids if patient_id not in self.known})
        if not new:
            return
        patients = models.Patient.objects.order_by("pk")
        conditions = models.PatientCondition.objects.order_by("patient_id", "pk")  # the chart's order
        if len(new) >= self.ALL_AT_ONCE and not self.everyone:  # (after that, only a patient added meanwhile)
            self.everyone = True
        else:
            patients, conditions = patients.filter(pk__in=new), conditions.filter(patient_id__in=new)
        # Read as the driver gives them (a clinic's every patient, at times): the ORM's converters cost more.
        held: dict[int, list[tuple[str, date | None]]] = defaultdict(list)
        for chunk in _chunks(conditions.values_list("patient_id", "term", "resolved_on")):
            for patient_id, term, resolved_on in chunk:
                held[patient_id].append((term, None if resolved_on is None else self.days.day(resolved_on)))
        rows = _chunks(patients.values_list("pk", "mrn", "family_name", "given_name"))
        for patient_id, mrn, family_name, given_name in (row for chunk in rows for row in chunk):
            terms = held.get(patient_id, [])
            always_open = None
            if all(resolved_on is None for _, resolved_on in terms):
                always_open = tuple(term for term, _ in terms)
            else:
                self.resolved[patient_id] = terms
            self.known[patient_id] = (mrn, f"{family_name}, {given_name}", always_open)

    def open_on(self, patient_id: int, on: date) -> tuple[str, ...]:
        """The conditions open on the day of a patient some of whose conditions were resolved, as the safety
        check's patient snapshot reads them (``bont.clinic.repositories``)."""
        return tuple(
            term for term, resolved_on in self.resolved[patient_id] if resolved_on is None or resolved_on >= on
        )


class DjangoBillingRecords(BillingRecords):
    def sessions(self, start: date, end: date, muscles: Collection[str] | None = None) -> Iterator[BillableSession]:
        npis = dict(models.ProviderProfile.objects.values_list("user_id", "npi"))  # one row per clinician
        staff = {
            pk: (str(username), npis.get(pk, ""))
            for pk, username in get_user_model().objects.values_list("pk", get_user_model().USERNAME_FIELD)
        }
        given = models.SessionClaimInputs.objects.filter(date__gte=start, date__lte=end).order_by("date", "session_id")
        if connections[given.db].vendor == "sqlite":
            # The day as text: SQLite's driver would otherwise parse it on each row, not once per day.
            given = given.annotate(day=Cast("date", output_field=CharField()))
        else:  # (PostgreSQL's text of a date follows the server's DateStyle; its driver reads any)
            given = given.annotate(day=F("date"))
        rows = given.values_list("day", "session_id", "patient_id", "clinician_id", "content_id")
        parsed = _Parsed(muscles)
        patients = _Patients(parsed)
        contents: dict[int, ClaimContent] = {}
        for chunk in _chunks(rows):
            # The chunk is read first: its patients and contents, read next, are those of every session it names,
            # even one recorded meanwhile.
            patients.meet([row[2] for row in chunk])
            new = sorted({row[4] for row in chunk if row[4] not in contents})
            if new:
                if len(contents) >= PARSED_KEPT:
                    contents.clear()
                    new = sorted({row[4] for row in chunk})
                for content_id, *values in models.ClaimContent.objects.filter(pk__in=new).values_list(
                    "pk", *CONTENT_COLUMNS
                ):
                    contents[content_id] = parsed.content(tuple(values))
            known = patients.known
            for day, session_id, patient_id, clinician_id, content_id in chunk:
                on = parsed.day(day)
                mrn, name, always_open = known[patient_id]
                clinician, npi = staff.get(clinician_id, ("", ""))
                yield BillableSession(
                    session_id,
                    on,
                    mrn,
                    contents[content_id],
                    name,
                    always_open if always_open is not None else patients.open_on(patient_id, on),
                    clinician,
                    npi,
                )

    def session_date(self, session_id: int) -> date | None:
        return models.TreatmentSession.objects.filter(pk=session_id).values_list("date", flat=True).first()
