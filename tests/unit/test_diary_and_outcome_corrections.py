"""The patient's diary keeps to the period of its link and never replaces a day silently, and a measurement
entered wrongly is corrected (the wrong version withdrawn with the reason, the right one stored), on the
in-memory fakes of the outcome port (bont.services.outcomes)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.services.outcome_ports import GivenSession
from bont.services.outcomes import (
    DiaryDayTaken,
    correct_outcome,
    create_diary_link,
    diary_page,
    outcome_entries,
    record_outcome,
    save_diary_entry,
)
from tests.fakes import FakeOutcomeClinic, FakeOutcomeRecords

TODAY = date(2026, 11, 29)
LINK_MADE = date(2026, 11, 1)
BORN = date(1980, 4, 2)
HYPERHIDROSIS = "axillary-hyperhidrosis"
BOTOX = "onabotulinumtoxinA"


@pytest.fixture
def clinic() -> FakeOutcomeClinic:
    return FakeOutcomeClinic()


@pytest.fixture
def records(clinic: FakeOutcomeClinic) -> FakeOutcomeRecords:
    return FakeOutcomeRecords(clinic)


def bladder_link(clinic: FakeOutcomeClinic, records: FakeOutcomeRecords) -> str:
    clinic.add_patient("FICT-D1", BORN)
    return create_diary_link(records, "FICT-D1", "bladder", LINK_MADE)


def test_a_diary_page_states_the_first_day_its_link_covers(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords
) -> None:
    page = diary_page(records, bladder_link(clinic, records), TODAY)
    assert page is not None
    assert page.starts_on == LINK_MADE


def test_a_diary_day_before_the_link_was_made_is_refused_and_nothing_is_stored(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords
) -> None:
    token = bladder_link(clinic, records)
    with pytest.raises(FieldError) as refused:
        save_diary_entry(records, token, date(2023, 1, 1), {"voids": "8"}, TODAY)
    assert refused.value.field == "day"
    assert "before this diary began on 01 November 2026" in refused.value.problem
    assert clinic.diaries == {}
    assert save_diary_entry(records, token, LINK_MADE, {"voids": "8"}, TODAY)  # its first day is kept


def test_a_diary_day_after_today_is_refused(clinic: FakeOutcomeClinic, records: FakeOutcomeRecords) -> None:
    token = bladder_link(clinic, records)
    with pytest.raises(FieldError, match="in the future") as refused:
        save_diary_entry(records, token, TODAY + timedelta(days=1), {"voids": "8"}, TODAY)
    assert refused.value.field == "day"


def test_a_day_already_filled_in_is_shown_and_replaced_only_when_the_patient_confirms(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords
) -> None:
    token = bladder_link(clinic, records)
    assert save_diary_entry(records, token, TODAY, {"voids": "8", "incontinence_episodes": "1"}, TODAY)
    with pytest.raises(DiaryDayTaken) as taken:
        save_diary_entry(records, token, TODAY, {"voids": "5"}, TODAY)
    assert taken.value.field == "replace"
    assert taken.value.stored == {"voids": "8", "incontinence_episodes": "1"}
    [(stored_day, stored)] = next(iter(clinic.diaries.values())).items()
    assert (stored_day, stored["voids"]) == (TODAY, "8")  # untouched
    assert save_diary_entry(records, token, TODAY, {"voids": "5"}, TODAY, replace_entry=True)
    assert next(iter(clinic.diaries.values()))[TODAY]["voids"] == "5"


def test_wrong_values_are_refused_before_the_patient_is_asked_to_replace_a_day(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords
) -> None:
    token = bladder_link(clinic, records)
    assert save_diary_entry(records, token, TODAY, {"voids": "8"}, TODAY)
    with pytest.raises(FieldError) as refused:
        save_diary_entry(records, token, TODAY, {"voids": "61"}, TODAY)
    assert refused.value.field == "voids"


def hyperhidrosis_patient(clinic: FakeOutcomeClinic) -> None:
    patient_id = clinic.add_patient("FICT-C1", BORN)
    clinic.add_session(patient_id, GivenSession(date(2026, 6, 1), HYPERHIDROSIS, BOTOX, Decimal(100), "ok"))


def test_a_corrected_measurement_is_withdrawn_with_the_reason_and_the_right_value_stored(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    hyperhidrosis_patient(clinic)
    wrong = record_outcome(records, knowledge, "FICT-C1", HYPERHIDROSIS, "hdss", date(2026, 7, 1), "4", "nurse", TODAY)
    right = correct_outcome(records, knowledge, wrong, date(2026, 7, 2), "2", "typed the baseline grade", "dr", TODAY)
    entries = {entry.id: entry for entry in outcome_entries(records, knowledge, "FICT-C1")}
    assert entries[wrong].withdrawn_reason == "corrected: typed the baseline grade"
    assert entries[wrong].withdrawn_by == "dr"
    assert (entries[right].value, entries[right].measured_on, entries[right].withdrawn) == (
        "2",
        date(2026, 7, 2),
        False,
    )


@pytest.mark.parametrize(
    ("on", "value", "reason", "field"),
    [
        (date(2026, 7, 1), "2", "  ", "reason"),
        (TODAY + timedelta(days=1), "2", "wrong day", "measured_on"),
        (date(2026, 7, 1), "NaN", "wrong grade", "value"),
        (date(2026, 7, 1), "7", "wrong grade", "value"),
    ],
)
def test_a_correction_the_scale_or_the_calendar_refuses_changes_nothing(
    clinic: FakeOutcomeClinic,
    records: FakeOutcomeRecords,
    knowledge: KnowledgeBase,
    on: date,
    value: str,
    reason: str,
    field: str,
) -> None:
    hyperhidrosis_patient(clinic)
    wrong = record_outcome(records, knowledge, "FICT-C1", HYPERHIDROSIS, "hdss", date(2026, 7, 1), "4", "nurse", TODAY)
    with pytest.raises(FieldError) as refused:
        correct_outcome(records, knowledge, wrong, on, value, reason, "dr", TODAY)
    assert refused.value.field == field
    [entry] = outcome_entries(records, knowledge, "FICT-C1")
    assert (entry.value, entry.withdrawn) == ("4", False)


def test_a_withdrawn_or_unknown_measurement_cannot_be_corrected(
    clinic: FakeOutcomeClinic, records: FakeOutcomeRecords, knowledge: KnowledgeBase
) -> None:
    hyperhidrosis_patient(clinic)
    wrong = record_outcome(records, knowledge, "FICT-C1", HYPERHIDROSIS, "hdss", date(2026, 7, 1), "4", "nurse", TODAY)
    correct_outcome(records, knowledge, wrong, date(2026, 7, 1), "3", "wrong grade", "dr", TODAY)
    for outcome_id in (wrong, 999):
        with pytest.raises(FieldError) as refused:
            correct_outcome(records, knowledge, outcome_id, date(2026, 7, 1), "2", "again", "dr", TODAY)
        assert refused.value.field == "outcome"
