"""The Django implementation of ``bont.services.fhir_import.OutsideHistoryRecords``: an import's unit of work over
the patients, their lists and weights and the doses given elsewhere (``ExternalAdministration``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import TracebackType

from django.db import transaction
from django.db.models import Q

from bont.clinic import models
from bont.domain.outside_history import ListKind, OutsideAdministration
from bont.services.fhir_import import DoseOnFile, OutsideHistoryRecords, StoredOutsideDose, StoredPatient


def _stored(row: models.Patient) -> StoredPatient:
    return StoredPatient(row.pk, row.chart_key, row.birth_date, row.family_name)


class DjangoOutsideHistoryRecords(OutsideHistoryRecords):
    """One database transaction: a failure anywhere in the import rolls all of it back."""

    def __init__(self) -> None:
        self._unit: transaction.Atomic | None = None

    def __enter__(self) -> DjangoOutsideHistoryRecords:
        self._unit = transaction.atomic()
        self._unit.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._unit is not None
        unit, self._unit = self._unit, None
        unit.__exit__(kind, error, trace)

    def patient_by_mrn(self, mrn: str) -> StoredPatient | None:
        row = models.Patient.objects.select_for_update().filter(mrn=mrn).first()
        return None if row is None else _stored(row)

    def patients_named(self, family_name: str, given_name: str, birth_date: date) -> tuple[StoredPatient, ...]:
        rows = models.Patient.objects.filter(family_name=family_name, given_name=given_name, birth_date=birth_date)
        return tuple(_stored(row) for row in rows.order_by("pk")[:10])

    def add_patient(self, mrn: str, family_name: str, given_name: str, birth_date: date, sex: str) -> StoredPatient:
        row = models.Patient.objects.create(
            mrn=mrn, given_name=given_name, family_name=family_name, birth_date=birth_date, sex=sex
        )
        return _stored(row)

    def current_terms(self, patient_id: int, kind: ListKind, on: date) -> tuple[str, ...]:
        if kind is ListKind.CONDITION:
            current = Q(resolved_on__isnull=True) | Q(resolved_on__gte=on)
            rows = models.PatientCondition.objects.filter(current, patient_id=patient_id)
            return tuple(rows.values_list("term", flat=True))
        if kind is ListKind.MEDICATION:
            taken = Q(stopped_on__isnull=True) | Q(stopped_on__gte=on)
            medicines = models.PatientMedication.objects.filter(taken, patient_id=patient_id)
            return tuple(medicines.values_list("generic_name", flat=True))
        held = Q(removed_on__isnull=True) | Q(removed_on__gte=on)
        allergies = models.PatientAllergy.objects.filter(held, patient_id=patient_id)
        return tuple(allergies.values_list("substance", flat=True))

    def add_term(self, patient_id: int, kind: ListKind, term: str, on: date) -> None:
        if kind is ListKind.CONDITION:
            models.PatientCondition.objects.create(patient_id=patient_id, term=term, onset=on)
        elif kind is ListKind.MEDICATION:  # medicines are kept in lower case, as the registry keeps them
            models.PatientMedication.objects.create(patient_id=patient_id, generic_name=term.casefold(), started_on=on)
        else:
            models.PatientAllergy.objects.create(patient_id=patient_id, substance=term, recorded_on=on)

    def outside_dose(self, source: str, record_id: str) -> tuple[int, StoredOutsideDose] | None:
        row = models.ExternalAdministration.objects.filter(source=source, record_id=record_id).first()
        if row is None:
            return None
        stored = StoredOutsideDose(
            row.pk, row.date, row.product, row.units, row.indication or None, bool(row.withdrawn_reason)
        )
        return row.patient_id, stored

    def add_outside_dose(self, patient_id: int, dose: OutsideAdministration) -> int:
        row = models.ExternalAdministration.objects.create(
            patient_id=patient_id,
            source=dose.source,
            record_id=dose.record_id,
            date=dose.on,
            product=dose.product,
            units=dose.units,
            indication=dose.indication or "",
        )
        return row.pk

    def doses_alike(self, patient_id: int, on: date, product: str, units: Decimal) -> tuple[DoseOnFile, ...]:
        alike = {"patient_id": patient_id, "date": on, "product": product, "withdrawn_reason": ""}
        own = models.TreatmentSession.objects.filter(**alike, total_units=units).exists()
        elsewhere = (
            models.ExternalAdministration.objects.filter(**alike, units=units)
            .order_by("pk")
            .values_list("source", "record_id")
        )
        return (*((DoseOnFile(),) if own else ()), *(DoseOnFile(source, record) for source, record in elsewhere))

    def withdraw_outside_dose(self, dose_id: int, reason: str, by: str | None) -> str | None:
        return models.withdraw_row(models.ExternalAdministration, dose_id, reason, by)

    def weights_on(self, patient_id: int, on: date) -> tuple[Decimal, ...]:
        rows = models.WeightMeasurement.objects.filter(patient_id=patient_id, measured_on=on).order_by("pk")
        return tuple(rows.values_list("weight_kg", flat=True))

    def add_weight(self, patient_id: int, on: date, kg: Decimal) -> None:
        models.WeightMeasurement.objects.create(patient_id=patient_id, measured_on=on, weight_kg=kg)
