"""Rows read in session order, handed out session by session: the merge that lets an adapter read a session's
sites or vial draws for a whole date range in one streamed query, beside the sessions themselves, instead of
one query per chunk of sessions with a list of their ids (plain Python: no Django here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any

SessionKey = tuple[date, int]  # (session date, session id): the order of the sessions and of every stream


class RowsBySession:
    """Rows whose first two values are their session's date and id, ordered by them, handed out as the sessions
    stream reaches each session. A row of a session the sessions stream did not read (withdrawn, or recorded
    after the sessions query began) is passed over, never given to a later session."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self.groups = groupby(rows, key=itemgetter(0, 1))
        self.pending = next(self.groups, None)

    def rows_of(self, key: SessionKey) -> list[tuple[Any, ...]]:
        """The rows of the session ``key``; call it in the sessions' order."""
        while self.pending is not None and self.pending[0] < key:
            self.pending = next(self.groups, None)
        if self.pending is None or self.pending[0] != key:
            return []
        found = list(self.pending[1])
        self.pending = next(self.groups, None)
        return found
