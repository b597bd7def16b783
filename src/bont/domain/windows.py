"""Time windows of dose limits, in days or calendar months as each label states them."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Window:
    """A look-back window: ``days`` (e.g. 30 days) or calendar ``months`` (e.g. "a 3-month interval")."""

    days: int | None = None
    months: int | None = None

    def __post_init__(self) -> None:
        if (self.days is None) == (self.months is None):
            raise ValueError("a window has either days or months")
        if (self.days or self.months or 0) <= 0:
            raise ValueError("a window must be positive")

    def start(self, end: date) -> date:
        """The first day inside the window that ends on ``end`` (inclusive)."""
        if self.days is not None:
            return end - timedelta(days=self.days - 1)
        assert self.months is not None
        month_index = end.year * 12 + end.month - 1 - self.months
        year, month = divmod(month_index, 12)
        day = min(end.day, calendar.monthrange(year, month + 1)[1])
        return date(year, month + 1, day) + timedelta(days=1)

    def __str__(self) -> str:
        if self.days is not None:
            return f"{self.days} days"
        return f"{self.months} month{'s' if self.months != 1 else ''}"
