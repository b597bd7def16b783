"""Contract tests: what every implementation of a port must do, run against the in-memory fake in the main
test run and against the Django adapter on SQLite and on PostgreSQL.

``tests/integration/test_background_runs.py`` runs this folder again in a subprocess per engine with
``BONT_CONTRACT_DATABASE_URL`` set (Django is configured once per process, for one database). Each contract
test takes the ``adapters`` fixture: the ports plus an ``arrange`` helper that stores what the test needs.

The ``test_*_commands.py`` modules are the clinic's journeys through the ``bont`` commands, run in process on
the Django adapters: they are collected only in the per-engine runs, where each takes the ``clinic`` fixture
(the run's database, emptied, with a clinician, a nurse and the patient FICT-0001) or ``empty_clinic``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import pytest

from bont.services.ports import ClinicalRecords, PatientCharts
from tests.contract.clinic import Clinic, emptied, empty_database, set_up
from tests.fakes import FakeClinic, FakeClinicalRecords, FakePatientCharts

DATABASE_VARIABLE = "BONT_CONTRACT_DATABASE_URL"

# The journeys through the commands, the migrations and the research dataset's extract need a real database: the
# main test run, on the fakes, leaves them out.
collect_ignore_glob = (
    []
    if os.environ.get(DATABASE_VARIABLE)
    else ["test_*_commands.py", "test_adapter_migrations.py", "test_research_dataset.py"]
)


class Arrange(Protocol):
    """Stores a test's starting records the way the adapter under test keeps them."""

    def patient(self, mrn: str, **fields: Any) -> int: ...

    def clinician(self, username: str) -> None: ...

    def withdraw_sessions(self, patient_id: int, on: date) -> None: ...

    def withdraw_adverse_events(self, patient_id: int) -> None: ...

    def vial(self) -> int:
        """A reconstituted 200 U vial of BOTOX, nothing drawn yet."""

    def adverse_event(
        self, patient_id: int, onset: date, term: str, severity: str, serious: bool, session_on: date | None = None
    ) -> None:
        """An adverse event, suspected of the patient's session on ``session_on`` (if any)."""


@dataclass
class Adapters:
    records: ClinicalRecords
    charts: PatientCharts
    arrange: Arrange
    engine: str


class FakeArrange:
    def __init__(self, clinic: FakeClinic) -> None:
        self.clinic = clinic

    def patient(self, mrn: str, **fields: Any) -> int:
        from bont.domain.safety import Patient

        return self.clinic.add_patient(mrn, Patient(**fields))

    def clinician(self, username: str) -> None:
        self.clinic.clinicians.add(username)

    def withdraw_sessions(self, patient_id: int, on: date) -> None:
        self.clinic.history[patient_id] = [h for h in self.clinic.history[patient_id] if h.on != on]

    def withdraw_adverse_events(self, patient_id: int) -> None:
        self.clinic.adverse_events[patient_id] = []

    def vial(self) -> int:
        from datetime import UTC, datetime
        from decimal import Decimal

        from bont.services.ports import VialState

        vial_id = len(self.clinic.vials) + 1
        opened = datetime(2026, 9, 1, 9, tzinfo=UTC)
        self.clinic.vials[vial_id] = VialState(
            vial_id,
            "onabotulinumtoxinA",
            "FICT-LOT",
            date(2027, 6, 30),
            Decimal(200),
            Decimal(0),
            opened,
            "reconstituted",
        )
        return vial_id

    def adverse_event(
        self, patient_id: int, onset: date, term: str, severity: str, serious: bool, session_on: date | None = None
    ) -> None:
        from bont.domain.adverse_events import EventSeverity
        from bont.domain.safety import PriorAdverseEvent

        # A withdrawn session is no longer in the fake's history: its event names no treatment, as in Django.
        given = next((h for h in self.clinic.history[patient_id] if h.on == session_on), None)
        self.clinic.add_adverse_event(
            patient_id,
            PriorAdverseEvent(
                onset,
                term,
                EventSeverity(severity),
                serious,
                given.product if given else None,
                given.indication if given else None,
            ),
        )


class DjangoArrange:
    def patient(self, mrn: str, **fields: Any) -> int:
        from bont.clinic.registry import NewPatient, add_patient

        return add_patient(
            NewPatient(
                mrn=mrn,
                given_name="Fictional",
                family_name="Contract",
                birth_date=fields["birth_date"],
                sex=fields.get("sex") or "unknown",
                weight_kg=fields.get("weight_kg"),
                conditions=tuple(fields.get("conditions", ())),
                medications=tuple(fields.get("medications", ())),
                allergies=tuple(fields.get("allergies", ())),
                recorded_on=fields["birth_date"],
            )
        )

    def clinician(self, username: str) -> None:
        from bont.clinic.registry import add_user

        add_user(username, "clinician")

    def withdraw_sessions(self, patient_id: int, on: date) -> None:
        from bont.clinic import models

        models.TreatmentSession.objects.filter(patient_id=patient_id, date=on).update(withdrawn_reason="in error")

    def withdraw_adverse_events(self, patient_id: int) -> None:
        from bont.clinic import models

        models.AdverseEvent.objects.filter(patient_id=patient_id).update(withdrawn_reason="in error")

    def vial(self) -> int:
        from datetime import UTC, datetime
        from decimal import Decimal

        from bont.clinic import models
        from bont.clinic.registry import add_lot

        number = f"FICT-LOT-{models.Lot.objects.count() + 1}"
        [vial_id] = add_lot("onabotulinumtoxinA", number, date(2027, 6, 30), Decimal(200), 1, date(2026, 8, 1))
        opened = datetime(2026, 9, 1, 9, tzinfo=UTC)
        models.Vial.objects.filter(pk=vial_id).update(state="reconstituted", reconstituted_at=opened)
        return vial_id

    def adverse_event(
        self, patient_id: int, onset: date, term: str, severity: str, serious: bool, session_on: date | None = None
    ) -> None:
        from bont.clinic import models

        session = models.TreatmentSession.objects.filter(patient_id=patient_id, date=session_on).first()
        models.AdverseEvent.objects.create(
            patient_id=patient_id,
            suspected_session=session if session_on else None,
            event=term,
            onset=onset,
            severity=severity,
            serious=serious,
        )


@pytest.fixture(scope="session")
def database() -> str | None:
    url = os.environ.get(DATABASE_VARIABLE)
    if url:
        os.environ["DATABASE_URL"] = url
        from bont.bootstrap import setup_database

        setup_database()
    return url


@pytest.fixture
def adapters(database: str | None) -> Iterator[Adapters]:
    if database is None:
        clinic = FakeClinic()
        yield Adapters(FakeClinicalRecords(clinic), FakePatientCharts(clinic), FakeArrange(clinic), "fake")
        return
    from bont.bootstrap import clinical_records, patient_charts

    empty_database()
    yield Adapters(clinical_records(), patient_charts(), DjangoArrange(), database.split(":", 1)[0])


@pytest.fixture
def clinic(database: str | None, tmp_path: Path) -> Clinic:
    """The run's database, emptied, with a clinician, a nurse and the patient FICT-0001."""
    assert database is not None, f"the journeys through the commands need {DATABASE_VARIABLE}"
    return set_up(tmp_path)


@pytest.fixture
def empty_clinic(database: str | None, tmp_path: Path) -> Clinic:
    """The run's database, emptied."""
    assert database is not None, f"the journeys through the commands need {DATABASE_VARIABLE}"
    return emptied(tmp_path)


@pytest.fixture
def engine(database: str | None) -> str:
    assert database is not None, f"the journeys through the commands need {DATABASE_VARIABLE}"
    return database.split(":", 1)[0]
