"""Bounded memo tables: answers kept by key so that the same question is worked out once."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def remember(table: dict[K, V], key: K, value: V, bound: int) -> V:
    """Keep ``value`` under ``key`` and return it. A table holding ``bound`` entries (full of rare keys: typed
    doses, names outside the knowledge base) starts again, so that its memory stays bounded and the common keys
    come back at once."""
    if len(table) >= bound:
        table.clear()
    table[key] = value
    return value
