"""In-memory fakes of the services' ports: they subclass the port, keep their state in dictionaries, and
behave as the Django adapters do (a unit of work commits on success and rolls back on an error or when
asked), so the services can be tested without a database."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType

from bont.domain.safety import Administration, Patient
from bont.services.ports import ClinicalRecords, PatientCharts, SessionRecord, UnknownPatientError, VialState


@dataclass
class FakeClinic:
    """The clinic's records: patients by id (with their MRN), their history, vials, sessions and clinicians."""

    patients: dict[int, tuple[str, Patient]] = field(default_factory=dict)
    history: dict[int, list[Administration]] = field(default_factory=dict)
    vials: dict[int, VialState] = field(default_factory=dict)
    sessions: list[SessionRecord] = field(default_factory=list)
    clinicians: set[str] = field(default_factory=set)

    def add_patient(self, mrn: str, patient: Patient, history: tuple[Administration, ...] = ()) -> int:
        patient_id = len(self.patients) + 1
        self.patients[patient_id] = (mrn, patient)
        self.history[patient_id] = list(history)
        return patient_id


class FakeClinicalRecords(ClinicalRecords):
    def __init__(self, clinic: FakeClinic) -> None:
        self.clinic = clinic
        self._saved: FakeClinic | None = None
        self._rollback = False

    def __enter__(self) -> FakeClinicalRecords:
        self._saved = copy.deepcopy(self.clinic)
        self._rollback = False
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if (kind is not None or self._rollback) and self._saved is not None:
            self.clinic.__dict__.update(self._saved.__dict__)
        self._saved = None

    def lock_patient(self, patient_id: int, on: date) -> tuple[Patient, tuple[Administration, ...]]:
        _, patient = self.clinic.patients[patient_id]
        return patient, tuple(self.clinic.history[patient_id])

    def lock_vials(self, vial_ids: tuple[int, ...]) -> dict[int, VialState]:
        return {vial_id: self.clinic.vials[vial_id] for vial_id in vial_ids if vial_id in self.clinic.vials}

    def open_vial(self, vial_id: int, at: datetime, diluent_ml: Decimal | None) -> None:
        self.clinic.vials[vial_id] = replace(self.clinic.vials[vial_id], state="reconstituted", reconstituted_at=at)

    def add_session(self, record: SessionRecord) -> int:
        self.clinic.sessions.append(record)
        self.clinic.history[record.patient_id].append(
            Administration(record.on, record.product, record.indication, record.total_units, record.protocol)
        )
        for vial_id, units in record.draws:
            vial = self.clinic.vials[vial_id]
            self.clinic.vials[vial_id] = replace(vial, units_drawn=vial.units_drawn + units)
        return len(self.clinic.sessions)

    def discard_changes(self) -> None:
        self._rollback = True

    def user_may_override(self, username: str) -> bool:
        return username in self.clinic.clinicians


class FakePatientCharts(PatientCharts):
    def __init__(self, clinic: FakeClinic) -> None:
        self.clinic = clinic

    def chart(self, mrn: str, on: date) -> tuple[Patient, tuple[Administration, ...]]:
        for patient_id, (known, patient) in self.clinic.patients.items():
            if known == mrn:
                return patient, tuple(self.clinic.history[patient_id])
        raise UnknownPatientError()
