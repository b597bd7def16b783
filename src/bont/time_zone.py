"""The clinic's time zone: ``BONT_TIME_ZONE``, else the machine's own zone.

Kept apart from the settings class so that a command that only needs "today" (``bont plan``) reads it without
importing pydantic-settings, which costs more than the rest of that command.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOCALTIME = Path("/etc/localtime")
TIMEZONE_FILE = Path("/etc/timezone")
VARIABLE = "BONT_TIME_ZONE"


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


def clinic_time_zone() -> str | None:
    """The zone the settings would give: ``BONT_TIME_ZONE`` (in any case, as the settings read it) when it names
    a zone, the machine's zone when it is unset; None when it is set to anything else, for the settings to
    refuse with their message."""
    values = [value for name, value in os.environ.items() if name.upper() == VARIABLE]
    if not values:
        return machine_time_zone()
    return values[0] if len(values) == 1 and is_time_zone(values[0]) else None
