"""The clinic's time zone setting: BONT_TIME_ZONE must name an IANA zone; without it, the machine's zone."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bont import settings, time_zone
from bont.settings import BontSettings, machine_time_zone


@pytest.fixture
def no_machine_zone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A machine with no TZ, no /etc/localtime and no /etc/timezone; returns a folder to create them in."""
    monkeypatch.delenv("TZ", raising=False)
    monkeypatch.delenv("BONT_TIME_ZONE", raising=False)
    monkeypatch.setattr(time_zone, "LOCALTIME", tmp_path / "localtime")
    monkeypatch.setattr(time_zone, "TIMEZONE_FILE", tmp_path / "timezone")
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


# Deployment: the secret key, TLS behind a reverse proxy, SQLite's durability.
@pytest.fixture
def clinic_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An environment with no deployment setting: the clinic's SQLite database in ``tmp_path``."""
    for name in (
        "BONT_SECRET_KEY",
        "BONT_TRUSTED_ORIGINS",
        "BONT_ALLOWED_HOSTS",
        "BONT_BEHIND_TLS_PROXY",
        "BONT_SECURE_COOKIES",
        "BONT_SSL_REDIRECT",
        "BONT_SQLITE_SYNCHRONOUS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bont.sqlite3'}")
    return tmp_path


def test_a_secret_key_is_generated_on_the_first_run_kept_owner_only_and_read_back(clinic_folder: Path) -> None:
    first = BontSettings().effective_secret_key()
    kept = clinic_folder / "secret-key"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 50
    assert BontSettings().effective_secret_key() == first  # sessions survive a restart
    other_clinic = clinic_folder / "other"
    other_clinic.mkdir()
    assert settings.stored_secret_key(other_clinic / "secret-key") != first  # never a fixed, public key


def test_the_secret_key_of_the_environment_wins_and_a_short_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, clinic_folder: Path
) -> None:
    monkeypatch.setenv("BONT_SECRET_KEY", "k" * 50)
    assert BontSettings().effective_secret_key() == "k" * 50
    assert not (clinic_folder / "secret-key").exists()
    monkeypatch.setenv("BONT_SECRET_KEY", "change-me")
    with pytest.raises(ValidationError, match="BONT_SECRET_KEY: a secret key has at least 50 characters"):
        BontSettings()


def test_trusted_origins_are_comma_separated_and_their_hosts_are_allowed(
    monkeypatch: pytest.MonkeyPatch, clinic_folder: Path
) -> None:
    monkeypatch.setenv("BONT_TRUSTED_ORIGINS", "https://bont.clinic.example, https://bont.clinic.example:8443")
    monkeypatch.setenv("BONT_ALLOWED_HOSTS", "bont-internal")
    configured = BontSettings()
    assert configured.trusted_origins == ["https://bont.clinic.example", "https://bont.clinic.example:8443"]
    assert configured.hosts == ["127.0.0.1", "localhost", "bont-internal", "bont.clinic.example"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BONT_TRUSTED_ORIGINS", "bont.clinic.example", "BONT_TRUSTED_ORIGINS: 'bont.clinic.example' is not an origin"),
        ("BONT_TRUSTED_ORIGINS", "https://bont.clinic.example/login/", "is not an origin"),
        ("BONT_ALLOWED_HOSTS", "https://bont.clinic.example", "BONT_ALLOWED_HOSTS: .* is not a host name"),
        ("BONT_SSL_REDIRECT", "true", "BONT_SSL_REDIRECT: redirecting to HTTPS needs BONT_BEHIND_TLS_PROXY"),
        ("BONT_SQLITE_SYNCHRONOUS", "sometimes", "sqlite_synchronous"),
    ],
)
def test_a_deployment_setting_that_cannot_work_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, clinic_folder: Path, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message):
        BontSettings()


def test_behind_a_tls_proxy_the_clinic_counts_as_served_over_https(
    monkeypatch: pytest.MonkeyPatch, clinic_folder: Path
) -> None:
    assert not BontSettings().served_over_https  # plain http://127.0.0.1 on the clinic's own machine
    monkeypatch.setenv("BONT_BEHIND_TLS_PROXY", "true")
    monkeypatch.setenv("BONT_SSL_REDIRECT", "true")
    configured = BontSettings()
    assert configured.served_over_https
    assert configured.ssl_redirect
    assert configured.hsts_seconds == 365 * 24 * 60 * 60
    assert not configured.hsts_include_subdomains


def test_sqlite_can_be_made_to_survive_a_power_cut(monkeypatch: pytest.MonkeyPatch, clinic_folder: Path) -> None:
    assert BontSettings().sqlite_synchronous == "NORMAL"
    monkeypatch.setenv("BONT_SQLITE_SYNCHRONOUS", "full")
    assert BontSettings().sqlite_synchronous == "FULL"


def test_files_for_patient_records_are_created_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite3"
    settings.private_file(backup)
    assert backup.stat().st_mode & 0o777 == 0o600
    backup.write_text("records", encoding="utf-8")
    with pytest.raises(FileExistsError):
        settings.private_file(backup)
    assert backup.read_text(encoding="utf-8") == "records"


def test_the_sqlite_durability_setting_reaches_every_connection(clinic_folder: Path) -> None:
    from bont.clinic.django_settings import database_config

    options = database_config(f"sqlite:///{clinic_folder / 'bont.sqlite3'}", "FULL")["OPTIONS"]
    assert "PRAGMA synchronous=FULL;" in options["init_command"]
    assert "PRAGMA foreign_keys=ON;" in options["init_command"]
