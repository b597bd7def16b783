"""The Django implementation of ``bont.services.follow_up.FollowUpRecords``: the latest session, measurement
and diary day of every patient as aggregates, and the charts of a page of treated patients read together (each
kind of row in one query for the whole page), as ``bont.clinic.repositories`` reads one patient's chart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date

from django.db.models import Exists, Max, OuterRef, Q

from bont.clinic import models
from bont.domain.adverse_events import EventSeverity
from bont.domain.safety import Administration, Patient, PriorAdverseEvent
from bont.services.follow_up import FollowUpRecords, LastSession, TreatedChart
from bont.services.outcome_ports import PatientIdentity


def _given() -> Q:
    return Q(withdrawn_reason="")  # a withdrawn session was entered in error


class DjangoFollowUpRecords(FollowUpRecords):
    def last_sessions(self) -> tuple[LastSession, ...]:
        rows = (
            models.TreatmentSession.objects.filter(_given())
            .values("patient_id", "indication")
            .annotate(last=Max("date"))
            .values_list("patient_id", "patient__family_name", "patient__given_name", "indication", "last")
        )
        return tuple(LastSession(*row) for row in rows)

    def last_measured(self) -> Mapping[tuple[int, str], date]:
        rows = (
            models.OutcomeRecord.objects.filter(withdrawn_reason="")
            .values("patient_id", "indication")
            .annotate(last=Max("measured_on"))
            .values_list("patient_id", "indication", "last")
        )
        return {(patient_id, indication): last for patient_id, indication, last in rows}

    def last_diary_days(self) -> Mapping[tuple[int, str], date]:
        rows = models.DiaryDay.objects.values("patient_id", "kind").annotate(last=Max("day"))
        return {(r["patient_id"], r["kind"]): r["last"] for r in rows}

    def identities(self, patient_ids: Collection[int]) -> Mapping[int, PatientIdentity]:
        rows = models.Patient.objects.filter(pk__in=patient_ids).values_list(
            "pk", "mrn", "given_name", "family_name", "birth_date"
        )
        return {row[0]: PatientIdentity(*row) for row in rows}

    def treated_charts(self, on: date, offset: int, limit: int) -> tuple[TreatedChart, ...]:
        treated = models.Patient.objects.filter(
            Exists(models.TreatmentSession.objects.filter(_given(), patient_id=OuterRef("pk")))
        )
        patients = list(treated.order_by("family_name", "given_name", "pk")[offset : offset + limit])
        ids = [row.pk for row in patients]
        mine = Q(patient_id__in=ids)
        weights: dict[int, models.WeightMeasurement] = {}
        # The latest weight on or before the day; a same-day reweigh wins.
        for w in models.WeightMeasurement.objects.filter(mine, measured_on__lte=on).order_by("measured_on", "pk"):
            weights[w.patient_id] = w
        statuses: dict[int, set[str]] = defaultdict(set)
        for s in models.ReproductiveStatus.objects.filter(mine, from_date__lte=on).filter(
            Q(to_date__isnull=True) | Q(to_date__gte=on)
        ):
            statuses[s.patient_id].add(s.status)
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
        for given in models.TreatmentSession.objects.filter(mine, _given()).order_by("date", "pk"):
            history[given.patient_id].append(
                Administration(given.date, given.product, given.indication, given.total_units, given.protocol or None)
            )
        events: dict[int, list[PriorAdverseEvent]] = defaultdict(list)
        for e in (
            models.AdverseEvent.objects.select_related("suspected_session")
            .filter(mine, onset__lte=on, withdrawn_reason="")  # a withdrawn event was entered in error
            .order_by("onset", "pk")
        ):
            # A withdrawn session (entered in error) names no treatment.
            session = e.suspected_session if e.suspected_session and not e.suspected_session.withdrawn_reason else None
            events[e.patient_id].append(
                PriorAdverseEvent(
                    on=e.onset,
                    term=e.event,
                    severity=EventSeverity(e.severity),
                    serious=e.serious,
                    product=session.product if session is not None else None,
                    indication=session.indication if session is not None else None,
                )
            )
        charts = []
        for row in patients:
            weight = weights.get(row.pk)
            patient = Patient(
                birth_date=row.birth_date,
                sex=row.sex,
                weight_kg=weight.weight_kg if weight else None,
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
