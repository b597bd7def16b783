"""The clinic's clock: "today" is the clinic's day, a time typed without an offset is the clinic's wall-clock
time, and a reconstitution time typed in a clinic east of UTC is not taken for a time in the future."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bont.domain.errors import FieldError
from bont.services.clock import FixedClock, SystemClock, read_moment

BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1 in winter
HALF_PAST_ELEVEN_PM_UTC = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)


def test_today_is_the_clinics_day_not_utcs_half_an_hour_before_utc_midnight() -> None:
    assert FixedClock(HALF_PAST_ELEVEN_PM_UTC, BERLIN).today() == date(2026, 1, 16)
    assert FixedClock(HALF_PAST_ELEVEN_PM_UTC, UTC).today() == date(2026, 1, 15)


def test_now_is_aware_and_in_the_clinics_zone() -> None:
    now = FixedClock(HALF_PAST_ELEVEN_PM_UTC, BERLIN).now()
    assert now == HALF_PAST_ELEVEN_PM_UTC
    assert now.utcoffset() == timedelta(hours=1)
    assert (now.hour, now.minute) == (0, 30)


def test_a_naive_time_is_the_clinics_wall_clock_time() -> None:
    clock = FixedClock(HALF_PAST_ELEVEN_PM_UTC, BERLIN)
    local = clock.local(datetime(2026, 1, 15, 9, 30))
    assert (local.hour, local.minute, local.tzinfo) == (9, 30, BERLIN)
    assert local == datetime(2026, 1, 15, 8, 30, tzinfo=UTC)


def test_an_aware_time_keeps_its_moment_and_is_shown_in_the_clinics_zone() -> None:
    local = FixedClock(HALF_PAST_ELEVEN_PM_UTC, BERLIN).local(datetime(2026, 1, 15, 8, 30, tzinfo=UTC))
    assert local == datetime(2026, 1, 15, 8, 30, tzinfo=UTC)
    assert (local.hour, local.tzinfo) == (9, BERLIN)


def test_noon_of_a_clinic_day_is_noon_at_the_clinic() -> None:
    noon = FixedClock(HALF_PAST_ELEVEN_PM_UTC, BERLIN).noon(date(2026, 7, 1))
    assert noon == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # UTC+2 in summer


def test_a_fixed_clock_given_a_naive_moment_reads_it_in_its_zone() -> None:
    clock = FixedClock(datetime(2026, 1, 15, 9, 0), BERLIN)
    assert clock.now() == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert FixedClock.on(date(2026, 1, 15)).now() == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_the_system_clock_reads_the_machines_time_in_the_clinics_zone() -> None:
    clock = SystemClock("Europe/Berlin")
    before = datetime.now(UTC)
    now = clock.now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo == BERLIN
    assert clock.today() == now.date()


NURSE_IN_BERLIN = FixedClock(datetime(2026, 1, 15, 10, 0), BERLIN)  # 10:00 in Berlin is 09:00 UTC


def test_a_reconstitution_time_typed_half_an_hour_ago_in_berlin_is_accepted() -> None:
    # Read as UTC, 09:30 would lie half an hour in the future: the bug this clock fixes.
    moment = read_moment("2026-01-15T09:30", "opened_at:1", NURSE_IN_BERLIN)
    assert moment == datetime(2026, 1, 15, 8, 30, tzinfo=UTC)


def test_a_reconstitution_time_typed_half_an_hour_ahead_in_berlin_is_refused() -> None:
    with pytest.raises(FieldError) as refused:
        read_moment("2026-01-15T10:30", "opened_at:1", NURSE_IN_BERLIN)
    assert (refused.value.field, refused.value.problem) == ("opened_at:1", "is in the future")


def test_a_typed_time_with_its_own_offset_keeps_it() -> None:
    assert read_moment("2026-01-15T08:45+00:00", "at", NURSE_IN_BERLIN) == datetime(2026, 1, 15, 8, 45, tzinfo=UTC)
    with pytest.raises(FieldError, match="is in the future"):
        read_moment("2026-01-15T09:30Z", "at", NURSE_IN_BERLIN)


def test_a_typed_time_that_is_not_a_date_and_time_names_the_field() -> None:
    with pytest.raises(FieldError) as refused:
        read_moment("half past nine", "--at", NURSE_IN_BERLIN)
    assert (refused.value.field, refused.value.problem) == ("--at", "is not a date and time (YYYY-MM-DDTHH:MM)")
