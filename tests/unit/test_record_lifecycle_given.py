"""Who gave a session and when, apart from who recorded it, and a correction previewed before it is made. On
in-memory fakes of the ports; the record form is read from the fields as the browser posts them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils.datastructures import MultiValueDict

from bont.domain.anatomy import DiagramView
from bont.domain.canvas import SitePosition
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration, Patient, SessionSite
from bont.interop.session_document import read_session
from bont.services.clock import FixedClock
from bont.services.records import RecordingError, RecordSession, correct_session, preview_correction, record_session
from bont.web.session_form import read_session_form
from tests.fakes import FakeClinic, FakeClinicalRecords, FakeInventory, FakeStockroom

DAY = date(2026, 11, 21)
NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BOTOX = "onabotulinumtoxinA"
DYSTONIA = "cervical-dystonia"
ADULT = Patient(birth_date=date(1970, 1, 1), sex="female", weight_kg=Decimal(70))
# 300 U of BOTOX three weeks ago: 100 U more fits the 400 U in 3 months, 101 U does not.
EARLIER = Administration(DAY - timedelta(days=21), BOTOX, DYSTONIA, Decimal(300), None)
REVIEWED = (("site-dose-exceeds-maximum", "reviewed with the patient"),)
INJECTORS = {"dr-fictional", "nurse-fictional"}


def clinic() -> tuple[FakeClinic, int]:
    clinic = FakeClinic(clinicians={"dr-fictional"}, nurses={"nurse-fictional"})
    return clinic, clinic.add_patient("FICT-G1", ADULT, (EARLIER,))


def given(patient_id: int, units: str, **fields: object) -> RecordSession:
    half = Decimal(units) / 2
    sites = (SessionSite("splenius-capitis", "left", half), SessionSite("splenius-capitis", "right", half))
    command = RecordSession(patient_id, DAY, "dr-fictional", DYSTONIA, "BOTOX", sites, acknowledgements=REVIEWED)
    return replace(command, **fields)  # type: ignore[arg-type]


def test_a_session_keeps_the_nurse_who_gave_it_and_when_apart_from_the_clinician_who_recorded_it(
    knowledge: KnowledgeBase,
) -> None:
    records, patient_id = clinic()
    at = NOON - timedelta(hours=2)
    record_session(FakeClinicalRecords(records), knowledge, given(patient_id, "90", at=at, given_by="nurse-fictional"))
    written = records.sessions[0]
    assert (written.clinician, written.given_by, written.given_at) == ("dr-fictional", "nurse-fictional", at)


@pytest.mark.parametrize("who", ["billing-fictional", "researcher-fictional", "nobody"])
def test_only_a_clinician_or_nurse_of_the_clinic_is_named_as_having_given_a_session(
    knowledge: KnowledgeBase, who: str
) -> None:
    records, patient_id = clinic()
    with pytest.raises(RecordingError) as refused:
        record_session(FakeClinicalRecords(records), knowledge, given(patient_id, "90", given_by=who))
    assert refused.value.field == "given_by"
    assert who not in refused.value.problem  # errors never repeat identifiers
    assert records.sessions == []


def test_a_correction_names_who_gave_the_corrected_session(knowledge: KnowledgeBase) -> None:
    records, patient_id = clinic()
    unit_of_work = FakeClinicalRecords(records)
    first = record_session(unit_of_work, knowledge, given(patient_id, "90", given_by="dr-fictional"))
    corrected = correct_session(
        unit_of_work,
        knowledge,
        first,
        given(patient_id, "80", at=NOON, given_by="nurse-fictional"),
        "the nurse gave it",
        "dr-fictional",
    )
    assert (records.sessions[corrected - 1].given_by, records.sessions[corrected - 1].given_at) == (
        "nurse-fictional",
        NOON,
    )


def test_a_correction_is_previewed_on_the_history_without_the_session_it_corrects_and_writes_nothing(
    knowledge: KnowledgeBase,
) -> None:
    records, patient_id = clinic()
    unit_of_work = FakeClinicalRecords(records)
    first = record_session(unit_of_work, knowledge, given(patient_id, "90"))
    # 300 + 100 U fits 400 U in 3 months once the 90 U session no longer counts; with it, 490 U would block.
    report = preview_correction(unit_of_work, knowledge, first, given(patient_id, "100"))
    assert "cumulative-dose-exceeds-maximum" not in {f.code for f in report.findings}
    assert records.withdrawn == {}
    assert sorted(h.units for h in records.history[patient_id]) == [Decimal(90), Decimal(300)]
    assert len(records.sessions) == 1


def form(**fields: str) -> MultiValueDict[str, str]:
    posted = {
        "date": DAY.isoformat(),
        "given_at": "2026-11-21T10:15",
        "given_by": "nurse-fictional",
        "site_muscle:0": "splenius-capitis",
        "site_side:0": "left",
        "site_units:0": "50",
        **fields,
    }
    return MultiValueDict({name: [value] for name, value in posted.items()})


def read(posted: MultiValueDict[str, str], draws_carried: bool = True) -> tuple[RecordSession | None, dict[str, str]]:
    read = read_session_form(
        posted,  # type: ignore[arg-type]  # what a QueryDict holds, without Django's settings
        patient_id=1,
        clinician="dr-fictional",
        indication=DYSTONIA,
        product=BOTOX,
        units_per_ml=Decimal(50),
        deviation_reason="",
        variant=None,
        guidance="",
        clock=FixedClock(NOON),
        stock=FakeInventory(FakeStockroom()),
        injectors=INJECTORS,
        draws_carried=draws_carried,
    )
    return read.command, read.errors


def test_the_record_form_reads_who_gave_the_injections_and_when_in_the_clinics_time() -> None:
    command, errors = read(form())
    assert errors == {}
    assert command is not None
    assert (command.given_by, command.at) == ("nurse-fictional", datetime(2026, 11, 21, 10, 15, tzinfo=UTC))
    assert command.clinician == "dr-fictional"


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"given_at": "2026-11-21T12:30"}, "given_at", "is in the future"),
        ({"given_at": "2026-11-20T10:15"}, "given_at", "is not on the date given (2026-11-21)"),
        ({"given_at": ""}, "given_at", "give the time the injections were given"),
        ({"given_at": "NaN"}, "given_at", "is not a date and time (YYYY-MM-DDTHH:MM)"),
        ({"given_by": "billing-fictional"}, "given_by", "choose the clinician or nurse"),
        ({"given_by": ""}, "given_by", "choose the clinician or nurse"),
    ],
)
def test_the_record_form_refuses_a_time_in_the_future_or_on_another_day_and_anyone_who_does_not_inject(
    fields: dict[str, str], field: str, problem: str
) -> None:
    command, errors = read(form(**fields))
    assert command is None
    assert errors[field].startswith(problem)


def test_the_record_form_keeps_where_the_canvas_drew_each_site_and_refuses_a_position_that_is_not_one() -> None:
    command, errors = read(form(**{"site_position:0": "back:47.6,12.4"}))
    assert errors == {}
    assert command is not None
    assert command.sites[0].position == SitePosition(DiagramView.BACK, Decimal("47.6"), Decimal("12.4"))
    assert read(form(**{"site_position:0": ""}))[0].sites[0].position is None  # type: ignore[union-attr]
    for forged, problem in (
        ("back:52.4,12.4", "is on the patient's other side"),  # the right splenius, seen from behind
        ("back:47.6", "the position is not two numbers"),
        ("knee:47.6,12.4", "unknown drawing 'knee'"),
    ):
        command, errors = read(form(**{"site_position:0": forged}))
        assert command is None
        assert errors == {"site_position:0": problem}


def test_the_record_form_needs_a_vial_unless_the_session_corrected_drew_from_one() -> None:
    assert read(form(), draws_carried=False)[1] == {
        "draws": "scan the lot or choose the vial the doses were drawn from"
    }
    assert read(form(), draws_carried=True)[1] == {}


def test_the_record_form_reads_only_well_numbered_rows_and_never_fails_on_a_forged_field_name() -> None:
    forged = {"site_muscle:x": "trapezius", "site_muscle:²": "trapezius", "lot:²": "X", "lot:99": "X", "drawn:0": "5"}
    command, errors = read(form(**forged))
    assert errors == {}
    assert command is not None
    assert [site.muscle for site in command.sites] == ["splenius-capitis"]
    assert command.draws == ()


def test_the_example_session_document_names_the_nurse_who_gave_it_and_when() -> None:
    example = Path(__file__).parent.parent.parent / "examples" / "session-given-by-nurse.json"
    command = read_session(example.read_text(encoding="utf-8")).to_command(1, FixedClock(NOON))
    assert (command.clinician, command.given_by) == ("dr-example", "nurse-example")
    assert command.at == datetime(2026, 11, 21, 10, 40, tzinfo=UTC)  # the clinic's wall-clock time
