"""bont's validated settings, read from the environment (``BONT_*`` and ``DATABASE_URL``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCALTIME = Path("/etc/localtime")
TIMEZONE_FILE = Path("/etc/timezone")


def default_data_dir() -> Path:
    return Path(user_data_dir("bont", appauthor=False))


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone name that this machine's zone database knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def machine_time_zone() -> str:
    """The machine's own time zone as an IANA name: the ``TZ`` variable if it names one, else the zone that
    ``/etc/localtime`` links to, else ``/etc/timezone`` (Debian), else UTC."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    if LOCALTIME.is_symlink():
        # e.g. /usr/share/zoneinfo/Europe/Berlin, or .../zoneinfo/posix/Europe/Berlin on some systems
        _, found, name = str(LOCALTIME.resolve()).partition("/zoneinfo/")
        candidates.append(name.removeprefix("posix/") if found else "")
    with contextlib.suppress(OSError):
        candidates.append(TIMEZONE_FILE.read_text(encoding="utf-8").strip())
    return next((name for name in candidates if name and is_time_zone(name)), "UTC")


class BontSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BONT_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    secret_key: str = "bont-development-key-change-me-in-production"
    debug: bool = False
    secure_cookies: bool = False  # set BONT_SECURE_COOKIES=true behind HTTPS
    allowed_hosts: list[str] = []
    # The clinic's time zone (IANA name): what "today" is, and the wall-clock time forms show and take.
    time_zone: str = Field(default_factory=machine_time_zone)
    # The CMS place-of-service code on the clinic's claims (two digits); unset: the knowledge's default, 11 Office.
    place_of_service: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        if not is_time_zone(name):
            raise ValueError(f"BONT_TIME_ZONE: {name!r} is not a time zone name (IANA, e.g. Europe/Berlin or UTC)")
        return name

    @field_validator("place_of_service")
    @classmethod
    def _place_of_service_code(cls, code: str | None) -> str | None:
        if not code:
            return None
        if not (len(code) == 2 and code.isdigit()):
            raise ValueError(f"BONT_PLACE_OF_SERVICE: {code!r} is not a place-of-service code (two digits, e.g. 11)")
        return code

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "bont.sqlite3"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"
