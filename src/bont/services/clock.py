"""The clock port: what "now" and "today" mean for the clinic.

Every use case that needs the date or the time asks a ``Clock`` instead of the machine, so that one clinic
time zone (``BONT_TIME_ZONE``) decides what "today" is, stored moments are timezone-aware, and tests can
fix the day.
"""

from __future__ import annotations

import abc
from datetime import date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from bont.domain.errors import FieldError


class Clock(abc.ABC):
    """The clinic's clock: aware moments in the clinic's time zone."""

    @property
    @abc.abstractmethod
    def zone(self) -> tzinfo:
        """The clinic's time zone."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The current moment, timezone-aware, in the clinic's zone."""

    def today(self) -> date:
        """The clinic's calendar day (not the server's, not UTC's)."""
        return self.now().date()

    def local(self, moment: datetime) -> datetime:
        """A moment as the clinic reads it: a naive time is clinic-local time; an aware one is converted."""
        if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
            return moment.replace(tzinfo=self.zone)
        return moment.astimezone(self.zone)

    def noon(self, day: date) -> datetime:
        """Noon of a clinic day: the moment used for a session given only by its date."""
        return datetime.combine(day, time(12), tzinfo=self.zone)


class SystemClock(Clock):
    """The machine's clock, read in the clinic's time zone."""

    def __init__(self, zone: tzinfo | str) -> None:
        self._zone = ZoneInfo(zone) if isinstance(zone, str) else zone

    @property
    def zone(self) -> tzinfo:
        return self._zone

    def now(self) -> datetime:
        return datetime.now(self._zone)


class FixedClock(Clock):
    """A clock stopped at one moment: for tests, demos and "what if" questions (``--on DATE``)."""

    def __init__(self, moment: datetime, zone: tzinfo | None = None) -> None:
        self._zone = zone or moment.tzinfo or ZoneInfo("UTC")
        self._moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=self._zone)

    @property
    def zone(self) -> tzinfo:
        return self._zone

    def now(self) -> datetime:
        return self._moment.astimezone(self._zone)

    @classmethod
    def on(cls, day: date, zone: tzinfo | None = None) -> FixedClock:
        """A clock at noon of ``day`` in ``zone`` (UTC when not given)."""
        chosen = zone or ZoneInfo("UTC")
        return cls(datetime.combine(day, time(12), tzinfo=chosen), chosen)


def read_moment(text: str, field: str, clock: Clock) -> datetime:
    """A moment that has happened, as a person typed it ("YYYY-MM-DDTHH:MM", what a ``datetime-local`` field
    sends): wall-clock time at the clinic unless it names its own offset. Refused, naming ``field``, when it
    is not a date and time or lies in the future."""
    try:
        moment = clock.local(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise FieldError(field, "is not a date and time (YYYY-MM-DDTHH:MM)") from None
    if moment > clock.now():
        raise FieldError(field, "is in the future")
    return moment
