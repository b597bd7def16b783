"""Use cases: a patient's record as FHIR R4 resources — one patient's Bundle (``bont fhir export``, the API's
``$everything``), the patient's resources filtered by type and date (the API's searches), and a FHIR Bulk Data
style NDJSON export of every patient or a cohort, de-identified on request (``bont fhir bulk-export``).

This module gathers the record through the ports (``PatientRegistry``, ``PatientCharts``, ``SessionRecords``,
``OutcomeRecords``, ``Inventory``) into a ``PatientExport`` and hands it to the ``FhirMapping`` port, which the
FHIR adapter ``bont.interop.fhir`` implements (services never import adapters); ``bont.bootstrap.fhir_exchange``
builds a ``FhirExchange`` with both. The interface the REST API relies on (a ``chart_key`` is the chart's own
key; the adapter's ``chart_key_of`` reads it from a Patient's FHIR id):

- ``FhirExchange.patient_everything(chart_key, base_url=None) -> dict``: a Bundle of type ``searchset`` (as
  ``Patient/$everything`` answers) with ``total``; raises ``UnknownPatientError`` for a key of no chart.
- ``FhirExchange.patient_resources(chart_key, resource_type=None, date_from=None, date_to=None) -> list[dict]``:
  the patient's resources, of one type, whose clinical days (``FhirMapping.clinical_days``: a day, or the period
  a measurement covers) overlap [date_from, date_to]; a resource without a clinical date (Patient, Medication)
  is left out once a date bound is given.
- ``FhirExchange.resource(resource_type, resource_id) -> FoundResource | None``: one Patient, Procedure,
  MedicationAdministration, Provenance or Observation by its id, with its patient's MRN for the access log (None:
  no such resource); the owner is found from the id alone (``FhirMapping.source_of``).
- ``FhirExchange.export_patient(mrn) -> dict``: the ``collection`` Bundle of ``bont fhir export MRN``.
- ``FhirExchange.bulk_export(directory, *, deidentified, mrns=None) -> dict[str, int]``: the NDJSON files and
  their manifest; returns the count of resources per type.

Moments are written in the clinic's time zone, which the clock gives (``PatientExport.zone``); diary days are
read back from their stored text as the diary's typed days (``headache_entry``, ``bladder_entry``). What is
exported: the record as it stands, without what was withdrawn as entered in error (sessions, their
administrations, outcome measurements, adverse events). Errors name the field and never repeat an identifier.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from bont.domain.errors import FieldError
from bont.domain.outcomes import BladderDiaryDay, HeadacheDiaryDay
from bont.services.clock import Clock
from bont.services.inventory import Inventory
from bont.services.outcome_ports import OutcomeRecords, StoredOutcome
from bont.services.outcomes import HEADACHE, bladder_entry, headache_entry
from bont.services.patients import (
    AuditEntry,
    PatientRecord,
    PatientRegistry,
    SessionEntry,
)
from bont.services.ports import PatientCharts, UnknownPatientError
from bont.services.sessions import SessionDetail, SessionRecords

__all__ = [
    "MANIFEST",
    "ExportedSession",
    "FhirExchange",
    "FhirExportError",
    "FhirMapping",
    "FoundResource",
    "PatientExport",
    "Pseudonymiser",
]

MANIFEST = "manifest.json"
_PAGE = 200  # patients read per page of a bulk export


class FhirExportError(FieldError):
    """An export was refused; nothing was written."""


@dataclass(frozen=True)
class ExportedSession:
    """A session given (not withdrawn): its chart entry, what was given where and from which vials, the size of
    each vial drawn (for the vial's NDC) and when the audit trail says it was recorded, and by whom."""

    entry: SessionEntry
    detail: SessionDetail
    vial_units: Mapping[int, Decimal]  # vial id -> units the vial held
    recorded: AuditEntry | None  # the audit trail's creation of the session (None: not found)


@dataclass(frozen=True)
class PatientExport:
    """One patient's record as the FHIR mapping reads it (withdrawn records left out)."""

    chart_key: str
    record: PatientRecord
    current_conditions: tuple[str, ...]  # as of the day of the export; the others are resolved
    current_medications: tuple[str, ...]  # as of the day of the export; the others are stopped
    sessions: tuple[ExportedSession, ...]  # by date
    outcomes: tuple[StoredOutcome, ...]  # by day measured
    diaries: Mapping[str, tuple[HeadacheDiaryDay | BladderDiaryDay, ...]]  # kind -> its days, by date
    today: date
    zone: tzinfo  # the clinic's: a moment is written in it, so that its first 10 characters are the clinic's day


@dataclass(frozen=True)
class FoundResource:
    """A resource read by its id, and the MRN of the patient whose record holds it (for the access log)."""

    mrn: str
    resource: dict[str, Any]


class FhirMapping(abc.ABC):
    """Turns a gathered record into FHIR resources (JSON-ready dicts, each validated); ``bont.interop.fhir``."""

    @abc.abstractmethod
    def resources(self, record: PatientExport) -> list[dict[str, Any]]:
        """Every resource of the record, the Patient first; ids are derived from bont's keys (deterministic)."""

    @abc.abstractmethod
    def bundle(
        self, resources: Sequence[dict[str, Any]], kind: str, bundle_id: str, base_url: str | None
    ) -> dict[str, Any]:
        """A validated Bundle of ``kind`` (``collection`` or ``searchset``) holding ``resources``."""

    @abc.abstractmethod
    def clinical_days(self, resource: Mapping[str, Any]) -> tuple[date, date] | None:
        """The first and last day a resource is about (given, measured or the period measured, onset, recorded);
        None for one without (a Patient)."""

    @abc.abstractmethod
    def source_of(self, resource_type: str, resource_id: str) -> tuple[str, str] | None:
        """What record a resource id was derived from: ("patient", chart key), ("session", id) or ("outcome",
        id); None for an id of another kind."""

    @abc.abstractmethod
    def pseudonymiser(self) -> Pseudonymiser:
        """A fresh de-identifier for one export (its pseudonyms are shared across the export's patients)."""


class Pseudonymiser(abc.ABC):
    """De-identifies patients' resources for one export, keeping references consistent across the export."""

    @abc.abstractmethod
    def deidentify(self, resources: Sequence[dict[str, Any]], today: date) -> list[dict[str, Any]]:
        """One patient's resources, de-identified (identifiers removed, birth year only), with a date shift of
        its own; those whose shifted date is after the export's horizon left out, and all of them when nothing
        dated is left."""


class FhirExchange:
    """The FHIR use cases over the clinic's records (built by ``bont.bootstrap.fhir_exchange``)."""

    def __init__(
        self,
        *,
        registry: PatientRegistry,
        charts: PatientCharts,
        sessions: SessionRecords,
        outcomes: OutcomeRecords,
        inventory: Inventory,
        mapping: FhirMapping,
        clock: Clock,
    ) -> None:
        self._registry = registry
        self._charts = charts
        self._sessions = sessions
        self._outcomes = outcomes
        self._inventory = inventory
        self._mapping = mapping
        self._clock = clock

    # -- one patient

    def gather(self, mrn: str) -> PatientExport:
        """The patient's record for the mapping; raises ``UnknownPatientError``."""
        record = self._registry.record(mrn)
        today = self._clock.today()
        current, _ = self._charts.chart(mrn, today)
        created = _session_creations(self._registry.audit_trail(mrn))
        sessions = []
        for entry in sorted(record.sessions, key=lambda s: (s.on, s.id)):
            detail = self._sessions.session(entry.id)
            if entry.withdrawn_reason or detail is None:
                continue
            sizes = {}
            for draw in detail.draws:
                vial = self._inventory.vial(draw.vial_id)
                if vial is not None:
                    sizes[draw.vial_id] = vial.vial_units
            sessions.append(ExportedSession(entry, detail, sizes, created.get(entry.id)))
        identity = self._outcomes.patient(mrn)
        history = next(iter(self._outcomes.outcome_histories([identity.patient_id])))
        return PatientExport(
            chart_key=self._registry.chart_key(mrn),
            record=record,
            current_conditions=current.conditions,
            current_medications=current.medications,
            sessions=tuple(sessions),
            outcomes=tuple(o for o in history.outcomes if not o.withdrawn),
            diaries={kind: _diary_days(kind, days) for kind, days in history.diaries.items()},
            today=today,
            zone=self._clock.zone,
        )

    def resources_of(self, mrn: str) -> list[dict[str, Any]]:
        return self._mapping.resources(self.gather(mrn))

    def export_patient(self, mrn: str) -> dict[str, Any]:
        """The patient's record as a ``collection`` Bundle (``bont fhir export``); raises ``UnknownPatientError``."""
        record = self.gather(mrn)
        return self._mapping.bundle(self._mapping.resources(record), "collection", f"{record.chart_key}-record", None)

    def patient_everything(self, chart_key: str, base_url: str | None = None) -> dict[str, Any]:
        """``Patient/$everything``: a ``searchset`` Bundle with every resource of the patient, ``fullUrl`` under
        ``base_url`` when given; raises ``UnknownPatientError`` for a key of no chart."""
        mrn = self._registry.mrn_for_chart_key(chart_key)
        resources = self.resources_of(mrn)
        return self._mapping.bundle(resources, "searchset", f"{chart_key}-everything", base_url)

    def patient_resources(
        self,
        chart_key: str,
        resource_type: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> list[dict[str, Any]]:
        """The patient's resources of ``resource_type`` (all when None) whose clinical days overlap
        [``date_from``, ``date_to``] (either bound optional; once one is given, resources without a clinical
        date are left out); raises ``UnknownPatientError`` for a key of no chart."""
        mrn = self._registry.mrn_for_chart_key(chart_key)
        found = []
        for resource in self.resources_of(mrn):
            if resource_type is not None and resource["resourceType"] != resource_type:
                continue
            if date_from is not None or date_to is not None:
                days = self._mapping.clinical_days(resource)
                if (
                    days is None
                    or (date_from is not None and days[1] < date_from)
                    or (date_to is not None and days[0] > date_to)
                ):
                    continue
            found.append(resource)
        return found

    def resource(self, resource_type: str, resource_id: str) -> FoundResource | None:
        """One resource by type and id (``GET /fhir/<type>/<id>``): a Patient, or a Procedure,
        MedicationAdministration, Provenance or Observation (their ids name the patient, session or measurement
        they come from), with its patient's MRN; None when there is no such resource, or it was withdrawn."""
        mrn = self._owner(resource_type, resource_id)
        if mrn is None:
            return None
        for found in self.resources_of(mrn):
            if found["resourceType"] == resource_type and found["id"] == resource_id:
                return FoundResource(mrn, found)
        return None

    def _owner(self, resource_type: str, resource_id: str) -> str | None:
        source = self._mapping.source_of(resource_type, resource_id)
        if source is None:
            return None
        kind, key = source
        if kind == "patient":
            try:
                return self._registry.mrn_for_chart_key(key)
            except UnknownPatientError:
                return None
        if kind == "session":
            detail = self._sessions.session(int(key))
            return None if detail is None else detail.patient.mrn
        stored = self._outcomes.outcome(int(key))
        return None if stored is None else self._outcomes.patient_by_id(stored.patient_id).mrn

    # -- bulk

    def bulk_export(
        self,
        directory: Path,
        *,
        deidentified: bool,
        mrns: Sequence[str] | None = None,
        pseudonymiser: Pseudonymiser | None = None,
    ) -> dict[str, int]:
        """Write every patient's resources (or those of ``mrns``) as FHIR Bulk Data NDJSON into ``directory``:
        ``<Type>.ndjson`` per resource type, one resource a line, and ``manifest.json`` (the output files, their
        types and counts, as a Bulk Data status response lists them). The files are written into a new folder
        beside ``directory`` and renamed to it at the end; an existing ``directory`` must be empty. A resource
        shared by patients (the Medication of a lot) is written once. Raises ``FhirExportError`` (field
        ``directory``) and ``UnknownPatientError`` (an MRN of no patient) before anything is written. De-identified
        by ``pseudonymiser`` when given (a registry export's keeps less), else by the mapping's."""
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise FhirExportError("directory", "exists and is not an empty folder")
        chosen = list(dict.fromkeys(mrns)) if mrns else None
        if chosen is not None:
            for mrn in chosen:
                self._registry.chart_key(mrn)  # an unknown MRN is refused before anything is written
        directory.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))  # owner-only
        try:
            if deidentified and pseudonymiser is None:
                pseudonymiser = self._mapping.pseudonymiser()
            counts = self._write_ndjson(folder, chosen if chosen is not None else self._all_mrns(), pseudonymiser)
            manifest = {
                "transactionTime": self._clock.now().isoformat(),
                "request": "bont fhir bulk-export",
                "requiresAccessToken": False,
                "output": [{"type": kind, "url": f"{kind}.ndjson", "count": counts[kind]} for kind in sorted(counts)],
                "error": [],
                "extension": {"https://bont.example/fhir/bulk-export/deidentified": deidentified},
            }
            _write_private(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
            if directory.exists():
                directory.rmdir()  # empty, as checked: the export takes its place
            os.replace(folder, directory)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return counts

    def _all_mrns(self) -> Iterator[str]:
        offset = 0
        while True:
            page = self._registry.search("", _PAGE, offset)
            yield from (row.mrn for row in page)
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def _write_ndjson(
        self, folder: Path, mrns: Iterator[str] | list[str], pseudonymiser: Pseudonymiser | None
    ) -> dict[str, int]:
        today = self._clock.today()
        counts: dict[str, int] = {}
        written: set[tuple[str, str]] = set()
        with contextlib.ExitStack() as files:
            opened: dict[str, Any] = {}
            for mrn in mrns:
                resources = self.resources_of(mrn)
                if pseudonymiser is not None:
                    resources = pseudonymiser.deidentify(resources, today)
                for resource in resources:
                    kind, key = resource["resourceType"], resource["id"]
                    if (kind, key) in written:
                        continue
                    written.add((kind, key))
                    if kind not in opened:
                        descriptor = os.open(folder / f"{kind}.ndjson", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                        opened[kind] = files.enter_context(open(descriptor, "w", encoding="utf-8"))
                    opened[kind].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
                    counts[kind] = counts.get(kind, 0) + 1
        return counts


def _diary_days(kind: str, stored: Mapping[date, Mapping[str, Any]]) -> tuple[HeadacheDiaryDay | BladderDiaryDay, ...]:
    """A diary's stored days (every value kept as text) read back as the diary's own typed days, by date."""
    read = headache_entry if kind == HEADACHE else bladder_entry
    return tuple(read(values, day) for day, values in sorted(stored.items()))


def _session_creations(trail: Sequence[AuditEntry]) -> dict[int, AuditEntry]:
    """The audit trail's creation of each session ("session 12 (2026-11-21, chronic-migraine)", "Created")."""
    created = {}
    for entry in trail:
        if entry.type == "Created" and entry.what.startswith("session "):
            number = entry.what.split(" ", 2)[1]
            if number.isdigit() and entry.what.split(" ", 2)[2].startswith("("):
                created[int(number)] = entry
    return created


def _write_private(path: Path, text: str) -> None:
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
        file.write(text)
