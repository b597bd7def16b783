"""The research page's small-cell suppression: no published count describes 1 to 10 patients (the clinic's minimum
cell size, 11 unless configured), a zero is shown, and no published cell gives a suppressed one back."""

from __future__ import annotations

from bont.domain.research.disclosure import MinimumCell
from bont.services.research import (
    Cell,
    Registry,
    ResponderRate,
    TreatmentCount,
    suppress_small_cells,
)


def _treatments(patients: int, sessions: int) -> Registry:
    return Registry(
        (TreatmentCount("chronic-migraine", "onabotulinumtoxinA", "Chronic migraine", "BOTOX", sessions, patients),), ()
    )


def _rates(responders: int, non_responders: int, not_assessable: int, rate: int | None) -> Registry:
    return Registry(
        (), (ResponderRate("Chronic migraine", "Headache days", responders, non_responders, not_assessable, rate),)
    )


def test_the_minimum_is_eleven_patients_unless_the_clinic_sets_another() -> None:
    assert str(Cell(None)) == "<11"
    [row] = suppress_small_cells(_treatments(patients=7, sessions=30), MinimumCell(5)).treatments
    assert (row.patients, row.sessions) == (Cell(7, 5), Cell(30, 5))


def test_a_group_of_fewer_than_eleven_patients_shows_neither_its_patients_nor_its_sessions() -> None:
    [row] = suppress_small_cells(_treatments(patients=10, sessions=70)).treatments
    assert (str(row.patients), str(row.sessions)) == ("<11", "<11")


def test_a_group_of_eleven_patients_is_published_whole() -> None:
    [row] = suppress_small_cells(_treatments(patients=11, sessions=12)).treatments
    assert (row.patients, row.sessions) == (Cell(11), Cell(12))


def test_a_rate_that_would_give_back_a_suppressed_count_is_suppressed_with_it() -> None:
    [row] = suppress_small_cells(_rates(responders=40, non_responders=3, not_assessable=12, rate=93)).responders
    assert (str(row.responders), str(row.non_responders), str(row.not_assessable)) == ("40", "<11", "12")
    assert (row.rate, row.rate_suppressed) == (None, True)  # 93% of 40 + n gives n = 3


def test_a_zero_beside_a_suppressed_partner_is_suppressed_or_it_would_say_every_judged_patient_failed() -> None:
    [row] = suppress_small_cells(_rates(responders=0, non_responders=4, not_assessable=20, rate=0)).responders
    assert (str(row.responders), str(row.non_responders), str(row.not_assessable)) == ("<11", "<11", "20")
    assert (row.rate, row.rate_suppressed) == (None, True)
    # Nobody judged beside a few not assessable: "—" for the rate would say the two hidden counts are zeros.
    [alone] = suppress_small_cells(_rates(responders=0, non_responders=0, not_assessable=1, rate=None)).responders
    assert {str(alone.responders), str(alone.non_responders), str(alone.not_assessable)} == {"<11"}
    assert (alone.rate, alone.rate_suppressed) == (None, True)


def test_a_zero_is_shown_and_keeps_its_rate() -> None:
    [row] = suppress_small_cells(_rates(responders=0, non_responders=16, not_assessable=19, rate=0)).responders
    assert (row.responders, row.non_responders, row.not_assessable, row.rate) == (Cell(0), Cell(16), Cell(19), 0)


def test_counts_of_eleven_and_more_keep_their_rate() -> None:
    [row] = suppress_small_cells(_rates(responders=12, non_responders=12, not_assessable=2, rate=50)).responders
    assert (row.responders, row.non_responders, str(row.not_assessable), row.rate) == (Cell(12), Cell(12), "<11", 50)
