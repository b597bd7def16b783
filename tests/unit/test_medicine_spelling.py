"""The spelling distance behind "did you mean" for medicines: a bounded edit distance that counts a swap of
two neighbouring letters as one edit, and a bound that grows slowly with the length of the name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bont.domain.knowledge import max_spelling_edits, medicine_key, medicine_words, spelling_edits

LETTERS = st.text(alphabet="abcdeilmnorstuy", min_size=0, max_size=12)


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance, unbounded: the reference the bounded version must agree with."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


@pytest.mark.parametrize(
    ("typed", "meant", "edits"),
    [
        ("gentamycin", "gentamicin", 1),
        ("sertralin", "sertraline", 1),
        ("amitryptiline", "amitriptyline", 2),  # i and y trade places
        ("sertarline", "sertraline", 1),  # two neighbours swapped
        ("topiramte", "topiramate", 1),
    ],
)
def test_a_typo_is_one_or_two_edits(typed: str, meant: str, edits: int) -> None:
    assert spelling_edits(typed, meant, 3) == edits


def test_topiramate_is_far_from_tobramycin() -> None:
    assert spelling_edits("topiramate", "tobramycin", max_spelling_edits(len("topiramate"))) is None
    assert _distance("topiramate", "tobramycin") > max_spelling_edits(len("topiramate"))


def test_the_bound_grows_with_the_length_of_the_name() -> None:
    assert [max_spelling_edits(n) for n in (3, 4, 8, 9, 14, 15)] == [0, 1, 1, 2, 2, 3]


@given(LETTERS, LETTERS, st.integers(min_value=0, max_value=3))
def test_the_bounded_distance_agrees_with_the_full_one(a: str, b: str, bound: int) -> None:
    full = _distance(a, b)
    assert spelling_edits(a, b, bound) == (full if full <= bound else None)


@given(LETTERS, LETTERS)
def test_the_distance_is_symmetric(a: str, b: str) -> None:
    assert spelling_edits(a, b, 3) == spelling_edits(b, a, 3)


def test_entries_are_compared_by_their_words() -> None:
    assert medicine_words("Klor-Con M20") == ("klor", "con", "m20")
    assert medicine_key("St. John's Wort") == "st johns wort"
    assert medicine_key("  Zoloft\t50mg ") == "zoloft 50mg"
