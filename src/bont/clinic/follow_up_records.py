"""The Django implementation of ``bont.services.follow_up.FollowUpRecords``: a page of the assessments due read
from the summary the recording transactions keep (``bont.clinic.derived``), and the charts of a page of treated
patients read together (each kind of row in one query for the whole page), as ``bont.clinic.repositories`` reads
one patient's chart."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet

from bont.clinic import models
from bont.domain.adverse_events import EventSeverity
from bont.domain.safety import Administration, Patient, PriorAdverseEvent
from bont.services.follow_up import AssessmentDue, FollowUpRecords, TreatedChart
from bont.services.outcome_ports import PatientIdentity


def _given() -> Q:
    return Q(withdrawn_reason="")  # a withdrawn session was entered in error


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
        return models.FollowUpSummary.objects.values("patient_id").distinct().count()

    def kept_with(self) -> str | None:
        # The derived rows are kept together (bont.clinic.derived): the verdicts' basis stands for both.
        return models.ResponderVerdictBasis.objects.values_list("basis", flat=True).first()

    def treated_charts(self, on: date, offset: int, limit: int) -> tuple[TreatedChart, ...]:
        # A patient with a session not withdrawn has a summary row.
        treated = models.Patient.objects.filter(
            Exists(models.FollowUpSummary.objects.filter(patient_id=OuterRef("pk")))
        )
        patients = list(treated.order_by("family_name", "given_name", "pk")[offset : offset + limit])
        ids = [row.pk for row in patients]
        mine = Q(patient_id__in=ids)
        # Plain value rows, as the chart reads them: model instances of a page's twenty years of sessions cost
        # several times the queries.
        # The latest weight on or before the day; a same-day reweigh wins.
        weights = dict(
            models.WeightMeasurement.objects.filter(mine, measured_on__lte=on)
            .order_by("measured_on", "pk")
            .values_list("patient_id", "weight_kg")
        )
        statuses: dict[int, set[str]] = defaultdict(set)
        for patient_id, status in (
            models.ReproductiveStatus.objects.filter(mine, from_date__lte=on)
            .filter(Q(to_date__isnull=True) | Q(to_date__gte=on))
            .values_list("patient_id", "status")
        ):
            statuses[patient_id].add(status)
        conditions = _terms(
            models.PatientCondition, mine & (Q(resolved_on__isnull=True) | Q(resolved_on__gte=on)), "term"
        )
        medications = _terms(
            models.PatientMedication, mine & (Q(stopped_on__isnull=True) | Q(stopped_on__gte=on)), "generic_name"
        )
        allergies = _terms(
            models.PatientAllergy, mine & (Q(removed_on__isnull=True) | Q(removed_on__gte=on)), "substance"
        )
        history: dict[int, list[Administration]] = defaultdict(list)
        for patient_id, day, product, indication, units, protocol in (
            models.TreatmentSession.objects.filter(mine, _given())
            .order_by("date", "pk")
            .values_list("patient_id", "date", "product", "indication", "total_units", "protocol")
        ):
            history[patient_id].append(Administration(day, product, indication, units, protocol or None))
        # Doses given elsewhere count as the chart counts them (``patient_snapshot``), among the sessions by date.
        for patient_id, day, product, indication, units, source in (
            models.ExternalAdministration.objects.filter(mine, withdrawn_reason="")  # withdrawn: imported wrongly
            .order_by("date", "pk")
            .values_list("patient_id", "date", "product", "indication", "units", "source")
        ):
            history[patient_id].append(Administration(day, product, indication or None, units, source=source))
            history[patient_id].sort(key=lambda item: item.on)
        events: dict[int, list[PriorAdverseEvent]] = defaultdict(list)
        for patient_id, onset, term, severity, serious, product, indication, withdrawn in (
            models.AdverseEvent.objects.filter(mine, onset__lte=on, withdrawn_reason="")  # withdrawn: in error
            .order_by("onset", "pk")
            .values_list(
                "patient_id",
                "onset",
                "event",
                "severity",
                "serious",
                "suspected_session__product",
                "suspected_session__indication",
                "suspected_session__withdrawn_reason",
            )
        ):
            # A withdrawn session (entered in error) names no treatment; nor does an event with no session.
            named = product is not None and not withdrawn
            events[patient_id].append(
                PriorAdverseEvent(
                    on=onset,
                    term=term,
                    severity=EventSeverity(severity),
                    serious=serious,
                    product=product if named else None,
                    indication=indication if named else None,
                )
            )
        charts = []
        for row in patients:
            patient = Patient(
                birth_date=row.birth_date,
                sex=row.sex,
                weight_kg=weights.get(row.pk),
                conditions=conditions.get(row.pk, ()),
                medications=medications.get(row.pk, ()),
                allergies=allergies.get(row.pk, ()),
                pregnant=models.ReproductiveStatus.Status.PREGNANT in statuses[row.pk],
                breastfeeding=models.ReproductiveStatus.Status.BREASTFEEDING in statuses[row.pk],
                catheterizes=row.catheterizes,
            )
            identity = PatientIdentity(int(row.pk), row.mrn, row.given_name, row.family_name, row.birth_date)
            charts.append(TreatedChart(identity, patient, tuple(history[row.pk]), tuple(events[row.pk])))
        return tuple(charts)


def _terms(model: type[models.NeverDelete], where: Q, column: str) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = defaultdict(list)
    for patient_id, term in model._default_manager.filter(where).order_by("pk").values_list("patient_id", column):
        found[patient_id].append(term)
    return {patient_id: tuple(terms) for patient_id, terms in found.items()}
