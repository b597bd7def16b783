"""Pages of a long list, from its number of rows alone: how many there are, and which one a request gets."""

from __future__ import annotations


def page_count(rows: int, per_page: int) -> int:
    """The pages ``rows`` rows fill at ``per_page`` a page: at least one (no rows is one empty page)."""
    return max(1, -(-rows // per_page))


def page_within(page: int, rows: int, per_page: int) -> int:
    """Page ``page`` (from 1) of those: the first when a lower one is asked, the last when one beyond it."""
    return min(max(page, 1), page_count(rows, per_page))
