"""The search parameters the FHIR API takes, read from a query string and refused naming the parameter.

Dates are searched at day precision (FHIR R4 §3.1.1.5.3 "date", prefixes §3.1.1.4.2): ``eq``, ``ge``, ``gt``,
``le`` and ``lt`` before a ``YYYY-MM-DD`` day, no prefix meaning ``eq``; several date parameters must all
hold (``date=ge2026-01-01&date=le2026-06-30`` is the first half of 2026). A parameter this API does not support
is refused rather than ignored, so that a client never reads an unfiltered answer as a filtered one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["DayRange", "SearchError", "day_range", "reference_id", "refuse_unknown", "single"]

# The FHIR id datatype: letters, digits, '-' and '.', at most 64 characters.
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_DAY = re.compile(r"(eq|ge|gt|le|lt)?(\d{4}-\d{2}-\d{2})")


class SearchError(ValueError):
    """A search parameter was refused: ``parameter`` names it, ``problem`` says why (never echoing its value,
    which may be a patient's)."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter
        self.problem = problem


@dataclass(frozen=True)
class DayRange:
    """The days a date search allows, both included; None: unbounded on that side."""

    start: date | None = None
    end: date | None = None

    def narrowed(self, start: date | None, end: date | None) -> DayRange:
        return DayRange(
            start if self.start is None or (start is not None and start > self.start) else self.start,
            end if self.end is None or (end is not None and end < self.end) else self.end,
        )


def day_range(values: Iterable[str], parameter: str = "date") -> DayRange:
    """The days every value of the date parameter ``parameter`` allows together."""
    allowed = DayRange()
    for value in values:
        matched = _DAY.fullmatch(value)
        if matched is None:
            raise SearchError(parameter, "must be a day (YYYY-MM-DD), after eq, ge, gt, le or lt if any")
        prefix, text = matched.groups()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise SearchError(parameter, "is not a day of the calendar") from None
        if prefix in (None, "eq"):
            allowed = allowed.narrowed(day, day)
        elif prefix == "ge":
            allowed = allowed.narrowed(day, None)
        elif prefix == "gt":
            allowed = allowed.narrowed(day + timedelta(days=1), None)
        elif prefix == "le":
            allowed = allowed.narrowed(None, day)
        else:
            allowed = allowed.narrowed(None, day - timedelta(days=1))
    return allowed


def refuse_unknown(query: Mapping[str, Sequence[str]], supported: Iterable[str]) -> None:
    """Refuse the first parameter (by name) that is not ``supported``."""
    unknown = sorted(set(query) - set(supported))
    if unknown:
        raise SearchError(unknown[0][:80], "is not a search parameter this server supports here")


def single(query: Mapping[str, Sequence[str]], parameter: str) -> str | None:
    """The one value of ``parameter``, or None when it is absent; refused when given twice."""
    values = query.get(parameter, ())
    if len(values) > 1:
        raise SearchError(parameter, "may be given once")
    return values[0] if values else None


def reference_id(value: str, parameter: str) -> str:
    """The Patient id of a reference search value: ``ID`` or ``Patient/ID``."""
    found = value.removeprefix("Patient/")
    if not _ID.fullmatch(found):
        raise SearchError(parameter, "must be a Patient id or Patient/id")
    return found
