"""The Django implementation of ``bont.services.follow_up.FollowUpRecords``: a page of the assessments due read
from the summary the recording transactions keep (``bont.clinic.derived``), and the charts of a page of treated
patients read together (each kind of row in one query for the whole page), as ``bont.clinic.repositories`` reads
one patient's chart."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Context, Decimal
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet

from bont.clinic import models
from bont.domain.adverse_events import EventSeverity
from bont.domain.safety import Administration, Patient, PriorAdverseEvent
from bont.services.follow_up import AssessmentDue, FollowUpRecords, TreatedChart
from bont.services.outcome_ports import PatientIdentity


class DjangoFollowUpRecords(FollowUpRecords):
    def _due(self, until: date) -> QuerySet[models.FollowUpSummary]:
        return models.FollowUpSummary.objects.filter(assessment_pending_since__lte=until)

    def assessments_due(self, until: date, offset: int, limit: int) -> tuple[AssessmentDue, ...]:
        # The summary's index holds the rows in the list's order: a page is read without sorting the others.
        rows = (
            self._due(until)
            .order_by("assessment_pending_since", "family_name", "given_name", "patient_id", "indication")
            .values_list(
                "patient_id",
                "patient__mrn",
                "patient__given_name",
                "patient__family_name",
                "patient__birth_date",
                "indication",
                "last_session",
            )[offset : offset + limit]
        )
        return tuple(AssessmentDue(PatientIdentity(*row[:5]), row[5], row[6]) for row in rows)

    def assessments_due_count(self, until: date) -> int:
        return self._due(until).count()

    def treated_count(self) -> int:
        return models.TreatedPatient.objects.count()

    def kept_with(self) -> str | None:
        # The derived rows are kept together (bont.clinic.derived): the verdicts' basis stands for both.
        return models.ResponderVerdictBasis.objects.values_list("basis", flat=True).first()

    def treated_charts(self, on: date, offset: int, limit: int) -> tuple[TreatedChart, ...]:
        # Plain SQL on the driver's cursor, each row as the driver gives it: composing these nine queries through
        # the ORM (fifty ids each) cost more than running them, and model instances of a page's twenty years of
        # sessions several times the queries.
        with connection.cursor() as cursor:
            # The patients treated (with a session not withdrawn), as ``treated_count`` counts them.
            cursor.execute(
                "SELECT p.id, p.mrn, p.given_name, p.family_name, p.birth_date, p.sex, p.catheterizes"
                " FROM clinic_patient p WHERE EXISTS (SELECT 1 FROM clinic_treatedpatient t WHERE t.patient_id = p.id)"
                " ORDER BY p.family_name, p.given_name, p.id LIMIT %s OFFSET %s",
                [limit, offset],
            )
            patients = cursor.fetchall()
            if not patients:
                return ()
            read = _PageReader(cursor, [row[0] for row in patients], on)
            # The latest weight on or before the day; a same-day reweigh wins.
            weights = {
                patient_id: _amount(weight, WEIGHT_PLACES)
                for patient_id, weight in read(
                    "weight_kg FROM clinic_weightmeasurement", "measured_on <= %s", "measured_on, id"
                )
            }
            statuses: dict[int, set[str]] = defaultdict(set)
            for patient_id, status in read(
                "status FROM clinic_reproductivestatus", "from_date <= %s AND (to_date IS NULL OR to_date >= %s)"
            ):
                statuses[patient_id].add(status)
            conditions = read.terms("term FROM clinic_patientcondition", "resolved_on")
            medications = read.terms("generic_name FROM clinic_patientmedication", "stopped_on")
            allergies = read.terms("substance FROM clinic_patientallergy", "removed_on")
            history: dict[int, list[Administration]] = defaultdict(list)
            for patient_id, day, product, indication, units, protocol in read(
                "date, product, indication, total_units, protocol FROM clinic_treatmentsession",
                "withdrawn_reason = ''",  # a withdrawn session was entered in error
                "date, id",
            ):
                history[patient_id].append(
                    Administration(day, product, indication, _amount(units, UNITS_PLACES), protocol or None)
                )
            # Doses given elsewhere count as the chart counts them (``patient_snapshot``), among the sessions by date.
            for patient_id, day, product, indication, units, source in read(
                "date, product, indication, units, source FROM clinic_externaladministration",
                "withdrawn_reason = ''",  # withdrawn: imported wrongly
                "date, id",
            ):
                history[patient_id].append(
                    Administration(day, product, indication or None, _amount(units, UNITS_PLACES), source=source)
                )
                history[patient_id].sort(key=lambda item: item.on)
            events: dict[int, list[PriorAdverseEvent]] = defaultdict(list)
            for patient_id, onset, term, severity, serious, product, indication, withdrawn in read(
                "e.onset, e.event, e.severity, e.serious, s.product, s.indication, s.withdrawn_reason"
                " FROM clinic_adverseevent e LEFT JOIN clinic_treatmentsession s ON s.id = e.suspected_session_id",
                "e.onset <= %s AND e.withdrawn_reason = ''",  # withdrawn: entered in error
                "e.onset, e.id",
                alias="e.",
            ):
                # A withdrawn session (entered in error) names no treatment; nor does an event with no session.
                named = product is not None and not withdrawn
                events[patient_id].append(
                    PriorAdverseEvent(
                        on=onset,
                        term=term,
                        severity=EventSeverity(severity),
                        serious=bool(serious),
                        product=product if named else None,
                        indication=indication if named else None,
                    )
                )
        charts = []
        for patient_id, mrn, given_name, family_name, birth_date, sex, catheterizes in patients:
            patient = Patient(
                birth_date=birth_date,
                sex=sex,
                weight_kg=weights.get(patient_id),
                conditions=conditions.get(patient_id, ()),
                medications=medications.get(patient_id, ()),
                allergies=allergies.get(patient_id, ()),
                pregnant=models.ReproductiveStatus.Status.PREGNANT in statuses[patient_id],
                breastfeeding=models.ReproductiveStatus.Status.BREASTFEEDING in statuses[patient_id],
                catheterizes=bool(catheterizes),
            )
            identity = PatientIdentity(int(patient_id), mrn, given_name, family_name, birth_date)
            charts.append(TreatedChart(identity, patient, tuple(history[patient_id]), tuple(events[patient_id])))
        return tuple(charts)


WEIGHT_PLACES = 1  # WeightMeasurement.weight_kg's decimal places
UNITS_PLACES = 2  # units_field's
FIFTEEN_DIGITS = Context(prec=15)  # a float read from SQLite, as Django's converter reads it


@lru_cache(maxsize=4_096)  # a clinic's doses are a few hundred figures
def _amount(value: Decimal | float | int, places: int) -> Decimal:
    """A decimal column as the ORM reads it: PostgreSQL's driver gives a Decimal, SQLite's an int or a float (read
    to 15 significant digits, then to the column's places)."""
    exact = value if isinstance(value, Decimal) else FIFTEEN_DIGITS.create_decimal_from_float(float(value))
    return exact.quantize(Decimal(1).scaleb(-places))


class _PageReader:
    """The rows of one page's patients from one table, each led by its patient's id."""

    def __init__(self, cursor: CursorWrapper, patient_ids: list[int], on: date) -> None:
        self.cursor, self.patient_ids, self.on = cursor, patient_ids, on
        self.among = ", ".join(["%s"] * len(patient_ids))

    def __call__(self, columns: str, where: str, order: str = "", alias: str = "") -> list[tuple[Any, ...]]:
        """``SELECT patient_id, columns WHERE where`` (each ``%s`` in it the day) for the page's patients."""
        self.cursor.execute(
            f"SELECT {alias}patient_id, {columns} WHERE {alias}patient_id IN ({self.among}) AND {where}"
            + (f" ORDER BY {order}" if order else ""),
            [*self.patient_ids, *[self.on] * where.count("%s")],
        )
        return list(self.cursor.fetchall())

    def terms(self, columns: str, ended: str) -> dict[int, tuple[str, ...]]:
        """Each patient's terms not ended before the day, in the chart's order."""
        found: dict[int, list[str]] = defaultdict(list)
        for patient_id, term in self(columns, f"({ended} IS NULL OR {ended} >= %s)", "id"):
            found[patient_id].append(term)
        return {patient_id: tuple(terms) for patient_id, terms in found.items()}
