"""Rows merged session by session (bont.clinic.session_streams): each session gets its own rows in order, a
session without rows gets none, and a row of a session the sessions stream never read is passed over."""

from __future__ import annotations

from datetime import date

from bont.clinic.session_streams import RowsBySession

MAY_1, MAY_2 = date(2026, 5, 1), date(2026, 5, 2)


def test_each_session_gets_its_rows_and_a_row_of_an_unread_session_goes_to_no_one() -> None:
    sites = RowsBySession(
        iter(
            [
                (MAY_1, 7, "frontalis"),
                (MAY_1, 7, "procerus"),
                (MAY_1, 8, "orphan: recorded after the sessions were read"),
                (MAY_1, 9, "soleus"),
                (MAY_2, 3, "biceps-brachii"),  # a later day orders before a higher id
                (MAY_2, 11, "orphan: the last row"),
            ]
        )
    )
    read = [(MAY_1, 7), (MAY_1, 9), (MAY_1, 10), (MAY_2, 3), (MAY_2, 12)]
    assert [[row[2] for row in sites.rows_of(key)] for key in read] == [
        ["frontalis", "procerus"],
        ["soleus"],
        [],
        ["biceps-brachii"],
        [],
    ]


def test_no_rows_at_all_give_every_session_none() -> None:
    sites = RowsBySession(iter([]))
    assert sites.rows_of((MAY_1, 1)) == []
    assert sites.rows_of((MAY_2, 2)) == []
