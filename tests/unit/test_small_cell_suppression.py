"""The research page's small-cell suppression: no published count describes fewer than five patients, and no
published cell gives a suppressed one back."""

from __future__ import annotations

from bont.services.research import (
    SMALL_CELL_THRESHOLD,
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


def test_the_threshold_is_five_patients() -> None:
    assert SMALL_CELL_THRESHOLD == 5
    assert str(Cell(None)) == "<5"


def test_a_group_of_fewer_than_five_patients_shows_neither_its_patients_nor_its_sessions() -> None:
    [row] = suppress_small_cells(_treatments(patients=1, sessions=7)).treatments
    assert (str(row.patients), str(row.sessions)) == ("<5", "<5")


def test_a_group_of_five_patients_is_published_whole() -> None:
    [row] = suppress_small_cells(_treatments(patients=5, sessions=12)).treatments
    assert (row.patients, row.sessions) == (Cell(5), Cell(12))


def test_a_rate_that_would_give_back_a_suppressed_count_is_suppressed_with_it() -> None:
    [row] = suppress_small_cells(_rates(responders=12, non_responders=3, not_assessable=0, rate=80)).responders
    assert (str(row.responders), str(row.non_responders), str(row.not_assessable)) == ("12", "<5", "<5")
    assert (row.rate, row.rate_suppressed) == (None, True)  # 80% of 12 + n gives n = 3


def test_zero_is_suppressed_too_as_it_says_something_of_every_member_of_a_small_group() -> None:
    [row] = suppress_small_cells(_rates(responders=0, non_responders=6, not_assessable=9, rate=0)).responders
    assert (str(row.responders), row.non_responders, row.not_assessable, row.rate) == ("<5", Cell(6), Cell(9), None)


def test_counts_of_five_and_more_keep_their_rate() -> None:
    [row] = suppress_small_cells(_rates(responders=6, non_responders=6, not_assessable=2, rate=50)).responders
    assert (row.responders, row.non_responders, str(row.not_assessable), row.rate) == (Cell(6), Cell(6), "<5", 50)
