"""What recording a session refuses before the safety check runs, each naming the field and writing nothing: a
draw from a vial still sealed (its opening not recorded with the session), a session dated after the moment it
is recorded, and a clinician the clinic does not have."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Patient, SessionSite
from bont.services.ports import VialState
from bont.services.records import RecordingError, RecordSession, VialOpening, record_session
from tests.fakes import FakeClinic, FakeClinicalRecords

DAY = date(2026, 11, 21)
ZONE = ZoneInfo("Europe/Berlin")
NOON = datetime.combine(DAY, time(12), tzinfo=ZONE)
BOTOX = "onabotulinumtoxinA"
ACKNOWLEDGED = (("bilateral-neck-injection", "reviewed"), ("unrecognized-term", "reviewed"))


def clinic() -> tuple[FakeClinic, int]:
    """A clinician, a patient and vial 12: a sealed 100 U vial of BOTOX."""
    fake = FakeClinic(clinicians={"dr-fictional"}, nurses={"nurse-fictional"})
    patient_id = fake.add_patient("FICT-V1", Patient(birth_date=date(1970, 1, 1), sex="female"))
    fake.vials[12] = VialState(12, BOTOX, "FICT-LOT", date(2027, 6, 30), Decimal(100), Decimal(0), None, "sealed")
    return fake, patient_id


def session(patient_id: int, **fields: object) -> RecordSession:
    sites = tuple(SessionSite("splenius-capitis", side, Decimal(20)) for side in ("left", "right"))
    command = RecordSession(
        patient_id,
        DAY,
        "dr-fictional",
        "cervical-dystonia",
        "BOTOX",
        sites,
        draws=((12, Decimal(40)),),
        acknowledgements=ACKNOWLEDGED,
        at=NOON,
        recorded_at=NOON + timedelta(hours=1),
    )
    return replace(command, **fields)  # type: ignore[arg-type]


def refused(fake: FakeClinic, knowledge: KnowledgeBase, command: RecordSession) -> RecordingError:
    with pytest.raises(RecordingError) as refusal:
        record_session(FakeClinicalRecords(fake), knowledge, command)
    assert fake.sessions == []
    return refusal.value


def test_a_draw_from_a_sealed_vial_needs_its_opening_in_the_same_session(knowledge: KnowledgeBase) -> None:
    fake, patient_id = clinic()
    error = refused(fake, knowledge, session(patient_id))
    assert (error.field, error.problem) == (
        "draws",
        "vial 12 is sealed; record its reconstitution (openings) in the same session",
    )
    assert fake.vials[12].state == "sealed"
    opened = session(patient_id, openings=(VialOpening(12, NOON - timedelta(hours=1), Decimal(2)),))
    record_session(FakeClinicalRecords(fake), knowledge, opened)
    assert fake.vials[12].state == "reconstituted"
    assert fake.vials[12].units_drawn == 40


def test_an_opening_recorded_with_the_session_lets_the_beyond_use_time_block_a_late_draw(
    knowledge: KnowledgeBase,
) -> None:
    # Opened 30 hours before the injection: past BOTOX's 24 hours, the check blocks it, which it never could
    # while the vial was drawn from sealed.
    fake, patient_id = clinic()
    late = session(patient_id, openings=(VialOpening(12, NOON - timedelta(hours=30), Decimal(2)),))
    error = refused(fake, knowledge, late)
    assert error.field == "override_reason"
    assert "reconstituted-vial-expired" in error.problem
    assert fake.vials[12].state == "sealed"  # the refused session opened nothing


def test_a_session_dated_after_its_recording_is_refused(knowledge: KnowledgeBase) -> None:
    fake, patient_id = clinic()
    opened = (VialOpening(12, NOON - timedelta(hours=1), Decimal(2)),)
    tomorrow = session(patient_id, on=DAY + timedelta(days=1), at=None, openings=opened)
    assert (refused(fake, knowledge, tomorrow).field, refused(fake, knowledge, tomorrow).problem) == (
        "date",
        "is in the future; record a session once it is given",
    )
    later_today = session(patient_id, at=NOON + timedelta(hours=3), openings=opened)
    assert refused(fake, knowledge, later_today).field == "given_at"


def test_an_unknown_clinician_is_a_field_error(knowledge: KnowledgeBase) -> None:
    fake, patient_id = clinic()
    opened = (VialOpening(12, NOON - timedelta(hours=1), Decimal(2)),)
    error = refused(fake, knowledge, session(patient_id, clinician="dr-nobody", openings=opened))
    assert (error.field, error.problem) == ("clinician", "must name an active clinician or nurse of the clinic")
