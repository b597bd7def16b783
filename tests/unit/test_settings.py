"""The clinic's time zone setting: BONT_TIME_ZONE must name an IANA zone; without it, the machine's zone."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bont import settings
from bont.settings import BontSettings, machine_time_zone


@pytest.fixture
def no_machine_zone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A machine with no TZ, no /etc/localtime and no /etc/timezone; returns a folder to create them in."""
    monkeypatch.delenv("TZ", raising=False)
    monkeypatch.delenv("BONT_TIME_ZONE", raising=False)
    monkeypatch.setattr(settings, "LOCALTIME", tmp_path / "localtime")
    monkeypatch.setattr(settings, "TIMEZONE_FILE", tmp_path / "timezone")
    return tmp_path


def test_the_clinic_time_zone_is_read_from_bont_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONT_TIME_ZONE", "Europe/Berlin")
    assert BontSettings().time_zone == "Europe/Berlin"


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "CET-1CEST", "../../etc/passwd", ""])
def test_a_bont_time_zone_that_is_not_a_zone_name_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("BONT_TIME_ZONE", name)
    with pytest.raises(ValidationError, match=r"BONT_TIME_ZONE: .* is not a time zone name"):
        BontSettings()


def test_without_bont_time_zone_the_machines_zone_is_used(
    monkeypatch: pytest.MonkeyPatch, no_machine_zone: Path
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert BontSettings().time_zone == "America/New_York"


def test_the_machines_zone_comes_from_tz_then_localtime_then_etc_timezone_then_utc(
    monkeypatch: pytest.MonkeyPatch, no_machine_zone: Path
) -> None:
    assert machine_time_zone() == "UTC"
    (no_machine_zone / "timezone").write_text("Asia/Kolkata\n", encoding="utf-8")
    assert machine_time_zone() == "Asia/Kolkata"
    (no_machine_zone / "localtime").symlink_to(no_machine_zone / "usr/share/zoneinfo/Australia/Adelaide")
    assert machine_time_zone() == "Australia/Adelaide"
    monkeypatch.setenv("TZ", "CET-1CEST")  # a POSIX rule, not a zone name: passed over
    assert machine_time_zone() == "Australia/Adelaide"
    monkeypatch.setenv("TZ", ":Pacific/Auckland")
    assert machine_time_zone() == "Pacific/Auckland"
