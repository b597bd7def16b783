"""Import a patient's outside history: botulinum toxin given elsewhere, conditions, allergies and medicines that
another system recorded, read from its FHIR Bundle by ``bont.interop.fhir.read``.

Interface (the command line and the FHIR API call it in the same two steps)::

    from bont.interop.fhir.read import MalformedBundleError, read_bundle
    from bont.services.fhir_import import ImportRefusedError, import_bundle

    record = read_bundle(document, knowledge, source=None)  # MalformedBundleError: the path of the bad element
    report = import_bundle(outside_history_records(), record, today)  # ImportRefusedError: the patient's reason
    withdraw_outside_dose(outside_history_records(), dose_id, reason, by)  # a dose imported wrongly

The patient is matched by bont's MRN, and then the record's birth date and family name (any case) must be the
ones on file; a bont MRN no one has is matched by name and birth date, else registered (a record from another
bont). A record without a bont MRN (another hospital's MRN numbers other patients) is matched by family name,
given name and birth date exactly, and refused when no patient on file has them: the patient is registered
first, never under another hospital's MRN. A bundle refused whole (``MalformedBundleError``,
``ImportRefusedError``) stores nothing. Otherwise each entry is added, matched or refused with its reason; a
second import of the same bundle adds nothing. A dose is matched when its outside record is on file (withdrawn
or not: a withdrawn dose stays withdrawn) or when it is one of this clinic's own sessions (the same day,
product and units: a clinic's own export read back), and refused when a dose given elsewhere of the same day,
product and units is on file under another record (it may be the same dose, sent by another system). A
condition, allergy or medicine is matched when listed, a weight when the same weight is on file that day (kept
to 0.1 kg, as the chart keeps it). A dose given elsewhere keeps its source system, identifier, day, product,
units and indication (None when not known); the safety check and the chart read it with the patient's own
sessions (``Administration.source``) until it is withdrawn. Errors and reports never repeat an MRN, a name or a
birth date.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from types import TracebackType

from bont.domain.doses import format_amount
from bont.domain.errors import FieldError
from bont.domain.outside_history import (
    ListKind,
    OutsideAdministration,
    OutsideListEntry,
    OutsidePatient,
    OutsideRecord,
    OutsideRestatement,
    OutsideWeight,
    entry_number,
)

NAME_LENGTH, MRN_LENGTH = 100, 40  # as the chart stores them
SOURCE_LENGTH, RECORD_ID_LENGTH = 200, 300  # a dose's outside source system and record identifier
WEIGHT_STEP = Decimal("0.1")  # the chart keeps weights to 0.1 kg, as the patient forms round them


class ImportRefusedError(FieldError):
    """The outside record cannot be imported at all (its patient is missing, ambiguous or cannot be registered);
    nothing was stored."""


NOT_THE_PATIENT = "the patient of this record is not the one on file under that MRN"


class Outcome(StrEnum):
    ADDED = "added"
    MATCHED = "matched"
    REFUSED = "refused"


@dataclass(frozen=True)
class ImportedEntry:
    """What became of one resource of the bundle: its path, type, outcome and what it was (or why refused); for
    a dose, the id it is stored under (None when not stored) and the paths of the other site entries of its
    session (``also``), counted in it."""

    path: str
    resource: str
    outcome: Outcome
    detail: str
    dose_id: int | None = None
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    """The patient (added: registered now; matched: already on file), by chart key, and every entry."""

    patient: Outcome
    chart_key: str
    entries: tuple[ImportedEntry, ...]

    def _with(self, outcome: Outcome) -> tuple[ImportedEntry, ...]:
        return tuple(entry for entry in self.entries if entry.outcome is outcome)

    @property
    def added(self) -> tuple[ImportedEntry, ...]:
        return self._with(Outcome.ADDED)

    @property
    def matched(self) -> tuple[ImportedEntry, ...]:
        return self._with(Outcome.MATCHED)

    @property
    def refused(self) -> tuple[ImportedEntry, ...]:
        return self._with(Outcome.REFUSED)

    @property
    def nothing_imported(self) -> bool:
        """Every entry was refused (a bundle of the patient alone imports them)."""
        return bool(self.entries) and not (self.added or self.matched)


@dataclass(frozen=True)
class StoredPatient:
    patient_id: int
    chart_key: str
    birth_date: date
    family_name: str


@dataclass(frozen=True)
class StoredOutsideDose:
    """A dose given elsewhere as stored (its id; withdrawn or not): what a second import of its record is
    compared with."""

    dose_id: int
    on: date
    product: str
    units: Decimal
    indication: str | None
    withdrawn: bool = False


@dataclass(frozen=True)
class DoseOnFile:
    """A dose of the patient on file: this clinic's own session (``source`` None), or a dose given elsewhere
    (its source and outside record identifier)."""

    source: str | None = None
    record_id: str | None = None


class OutsideHistoryRecords(abc.ABC):
    """One unit of work over the patients' records for an import: everything written in it commits together, or
    not at all. Implemented by ``bont.clinic.outside_history_records`` and by a fake in the tests."""

    @abc.abstractmethod
    def __enter__(self) -> OutsideHistoryRecords: ...

    @abc.abstractmethod
    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    @abc.abstractmethod
    def patient_by_mrn(self, mrn: str) -> StoredPatient | None:
        """The patient with this MRN, locked until the unit of work ends; None when there is none."""

    @abc.abstractmethod
    def patients_named(self, family_name: str, given_name: str, birth_date: date) -> tuple[StoredPatient, ...]:
        """The patients with exactly these names and birth date."""

    @abc.abstractmethod
    def add_patient(self, mrn: str, family_name: str, given_name: str, birth_date: date, sex: str) -> StoredPatient:
        """Register a patient (no weight, lists or pregnancy yet: the import adds its lists)."""

    @abc.abstractmethod
    def current_terms(self, patient_id: int, kind: ListKind, on: date) -> tuple[str, ...]:
        """The patient's conditions, allergies or medicines current on ``on``, as recorded."""

    @abc.abstractmethod
    def add_term(self, patient_id: int, kind: ListKind, term: str, on: date) -> None:
        """Add a condition, allergy or medicine to the patient's list from ``on``."""

    @abc.abstractmethod
    def outside_dose(self, source: str, record_id: str) -> tuple[int, StoredOutsideDose] | None:
        """The patient id and dose stored for this outside record; None when it was never imported."""

    @abc.abstractmethod
    def add_outside_dose(self, patient_id: int, dose: OutsideAdministration) -> int:
        """Store a dose given elsewhere for the patient; returns its id."""

    @abc.abstractmethod
    def doses_alike(self, patient_id: int, on: date, product: str, units: Decimal) -> tuple[DoseOnFile, ...]:
        """The patient's doses on file of this day, product and units, withdrawn ones left out: sessions given
        here and doses given elsewhere."""

    @abc.abstractmethod
    def withdraw_outside_dose(self, dose_id: int, reason: str, by: str | None) -> str | None:
        """Mark a dose given elsewhere withdrawn, with who withdrew it: None when there is no such dose, the
        earlier reason when it was already withdrawn, "" when withdrawn now."""

    @abc.abstractmethod
    def weights_on(self, patient_id: int, on: date) -> tuple[Decimal, ...]:
        """The weights (kg) measured on ``on``, in the order recorded."""

    @abc.abstractmethod
    def add_weight(self, patient_id: int, on: date, kg: Decimal) -> None:
        """Record a weight measured on ``on``: the day's last recorded weight is the one the chart reads."""


def import_bundle(records: OutsideHistoryRecords, record: OutsideRecord, today: date) -> ImportReport:
    """Store what ``record`` adds to its patient's history (matched or registered), in one unit of work; raises
    ``ImportRefusedError`` (nothing stored) when the patient cannot be matched or registered."""
    with records:
        patient, outcome = _patient(records, record.patient, today)
        entries: list[ImportedEntry] = []
        # A session's site entries are one dose, reported once, its other entries listed in it.
        entries += [replace(_dose(records, patient.patient_id, d, today), also=d.also) for d in record.administrations]
        entries += [_restatement(restated) for restated in record.restatements]
        entries += _list_entries(records, patient.patient_id, record.list_entries, today)
        entries += [_weight(records, patient.patient_id, weight, today) for weight in record.weights]
        entries += [ImportedEntry(r.path, r.resource, Outcome.REFUSED, r.reason) for r in record.refused]
    return ImportReport(outcome, patient.chart_key, tuple(sorted(entries, key=_entry_order)))


def _entry_order(entry: ImportedEntry) -> tuple[int, str]:
    return entry_number(entry.path), entry.path


def _patient(
    records: OutsideHistoryRecords, patient: OutsidePatient | None, today: date
) -> tuple[StoredPatient, Outcome]:
    if patient is None:
        raise ImportRefusedError("Patient", "the bundle has no Patient")
    if patient.mrn:
        found = records.patient_by_mrn(patient.mrn)
        if found is not None:
            # A mistyped or reused number must not file one patient's doses in another's chart. One refusal for
            # every mismatch: it tells the sender nothing of the patient on file.
            family = (patient.family_name or "").casefold()
            if patient.birth_date != found.birth_date or family != found.family_name.casefold():
                raise ImportRefusedError(patient.path, NOT_THE_PATIENT)
            return found, Outcome.MATCHED
    if patient.family_name and patient.given_name and patient.birth_date is not None:
        named = records.patients_named(patient.family_name, patient.given_name, patient.birth_date)
        if len(named) > 1:
            raise ImportRefusedError(
                patient.path, f"{len(named)} patients have this name and birth date; import under the MRN"
            )
        if named:
            return named[0], Outcome.MATCHED
    if not patient.mrn:
        raise ImportRefusedError(
            patient.path,
            "no patient on file has this record's family name, given name and birth date, and the record gives no "
            "MRN of this clinic: register the patient first (bont patient add), then import",
        )
    if not (patient.family_name and patient.given_name and patient.birth_date is not None):
        raise ImportRefusedError(patient.path, "a new patient needs a family name, a given name and a birth date")
    if patient.birth_date > today:
        raise ImportRefusedError(patient.path, "the birth date is in the future")
    if max(len(patient.family_name), len(patient.given_name)) > NAME_LENGTH or len(patient.mrn) > MRN_LENGTH:
        raise ImportRefusedError(patient.path, f"a name longer than {NAME_LENGTH} or an MRN longer than {MRN_LENGTH}")
    stored = records.add_patient(patient.mrn, patient.family_name, patient.given_name, patient.birth_date, patient.sex)
    return stored, Outcome.ADDED


def _dose(records: OutsideHistoryRecords, patient_id: int, dose: OutsideAdministration, today: date) -> ImportedEntry:
    what = f"{format_amount(dose.units)} U {dose.product} on {dose.on.isoformat()}, given elsewhere ({dose.source})"
    if dose.also:
        what += f"; the {len(dose.also) + 1} site entries of one session, summed"
    if dose.on > today:
        return ImportedEntry(dose.path, dose.resource, Outcome.REFUSED, f"{what}: the day is in the future")
    if len(dose.source) > SOURCE_LENGTH or len(dose.record_id) > RECORD_ID_LENGTH:
        reason = f"the source or record identifier is longer than {SOURCE_LENGTH} or {RECORD_ID_LENGTH} characters"
        return ImportedEntry(dose.path, dose.resource, Outcome.REFUSED, f"{what}: {reason}")
    stored = records.outside_dose(dose.source, dose.record_id)
    if stored is None:
        return _new_dose(records, patient_id, dose, what)
    owner, kept = stored
    if owner != patient_id:
        return ImportedEntry(
            dose.path, dose.resource, Outcome.REFUSED, f"{what}: this record was imported for another patient"
        )
    if (kept.on, kept.product, kept.units, kept.indication) != (dose.on, dose.product, dose.units, dose.indication):
        # A changed outside record is not overwritten silently: a clinician reads both.
        return ImportedEntry(
            dose.path,
            dose.resource,
            Outcome.REFUSED,
            f"{what}: imported before with other values ({kept.units} U {kept.product} on "
            f"{kept.on.isoformat()}); nothing was changed",
            kept.dose_id,
        )
    if kept.withdrawn:
        what += "; withdrawn on file, it stays withdrawn and is not counted"
    return ImportedEntry(dose.path, dose.resource, Outcome.MATCHED, what, kept.dose_id)


def _new_dose(records: OutsideHistoryRecords, patient_id: int, dose: OutsideAdministration, what: str) -> ImportedEntry:
    """Add a dose not imported before, unless the patient's file already holds a dose of the same day, product
    and units: the same dose must not be counted twice against the limits."""
    alike = records.doses_alike(patient_id, dose.on, dose.product, dose.units)
    if any(found.source is None for found in alike):
        return ImportedEntry(
            dose.path, dose.resource, Outcome.MATCHED, f"{what}: this clinic's own session, already counted"
        )
    if alike:
        return ImportedEntry(
            dose.path,
            dose.resource,
            Outcome.REFUSED,
            f"{what}: may already be on file ({alike[0].source}): check, and import it alone if it is another dose",
        )
    return ImportedEntry(dose.path, dose.resource, Outcome.ADDED, what, records.add_outside_dose(patient_id, dose))


def _restatement(restated: OutsideRestatement) -> ImportedEntry:
    return ImportedEntry(
        restated.path,
        restated.resource,
        Outcome.MATCHED,
        f"restates the MedicationAdministration at {restated.restates}: one dose, read there",
    )


def withdraw_outside_dose(records: OutsideHistoryRecords, dose_id: int, reason: str, by: str | None = None) -> None:
    """Withdraw a dose given elsewhere that was imported wrongly, with a written reason: it is kept, marked with
    who withdrew it and why, no longer counts in the safety check or on the chart, and a second import of its
    record matches it and leaves it withdrawn. Refused, naming the field: no reason, no such dose, or one
    already withdrawn."""
    written = reason.strip()
    if not written:
        raise FieldError("reason", "give the reason the dose is withdrawn")
    with records:
        before = records.withdraw_outside_dose(dose_id, written, by)
    if before is None:
        raise FieldError("dose", "no dose given elsewhere with this id")
    if before:
        raise FieldError("dose", "this dose is already withdrawn")


def _weight(records: OutsideHistoryRecords, patient_id: int, weight: OutsideWeight, today: date) -> ImportedEntry:
    kg = weight.kg.quantize(WEIGHT_STEP, ROUND_HALF_EVEN)
    what = f"weight {kg} kg on {weight.on.isoformat()}" + (f" (sent as {weight.kg} kg)" if kg != weight.kg else "")
    if weight.on > today:
        return ImportedEntry(weight.path, weight.resource, Outcome.REFUSED, f"{what}: the day is in the future")
    if kg in records.weights_on(patient_id, weight.on):
        return ImportedEntry(weight.path, weight.resource, Outcome.MATCHED, what)
    # Another weight the same day is a reweigh: recorded after the others, it is the day's weight from now on.
    records.add_weight(patient_id, weight.on, kg)
    return ImportedEntry(weight.path, weight.resource, Outcome.ADDED, what)


def _list_entries(
    records: OutsideHistoryRecords, patient_id: int, entries: tuple[OutsideListEntry, ...], today: date
) -> list[ImportedEntry]:
    on_file = {kind: {t.casefold() for t in records.current_terms(patient_id, kind, today)} for kind in ListKind}
    result = []
    for entry in entries:
        what = f"{entry.kind}: {entry.term}"
        if entry.term.casefold() in on_file[entry.kind]:
            result.append(ImportedEntry(entry.path, entry.resource, Outcome.MATCHED, what))
            continue
        records.add_term(patient_id, entry.kind, entry.term, today)
        on_file[entry.kind].add(entry.term.casefold())  # the same term twice in one bundle is added once
        result.append(ImportedEntry(entry.path, entry.resource, Outcome.ADDED, what))
    return result
