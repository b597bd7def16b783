"""``bont patient next`` and ``bont patient check`` read the stored record and agree with the recorder: the
day ``next`` gives is the first on which ``check`` (and recording) of the same session does not block. The
commands run in process; ``tests/integration/test_background_runs.py`` runs this module once per engine."""

from __future__ import annotations

import json
from datetime import date, timedelta

from tests.contract.clinic import Clinic

NECK = [
    {"muscle": "splenius-capitis", "side": "left", "units": 50},
    {"muscle": "trapezius", "side": "left", "units": 50},
    {"muscle": "levator-scapulae", "side": "left", "units": 50},
    {"muscle": "splenius-capitis", "side": "right", "units": 50},
    {"muscle": "trapezius", "side": "right", "units": 50},
]


def test_the_next_session_day_is_the_first_day_the_check_and_the_recorder_allow(clinic: Clinic) -> None:
    first = clinic.session_file("first", indication="cervical-dystonia", sites=NECK, date="2026-07-01")
    assert clinic.run("session", "record", str(first)).returncode == 0
    (row,) = clinic.ok("patient", "next", "FICT-0001", "--on", "2026-08-01")
    assert (row["indication"], row["product"], row["last"], row["last_units"]) == (
        "cervical-dystonia",
        "onabotulinumtoxinA",
        "2026-07-01",
        250,
    )
    earliest = date.fromisoformat(row["earliest"])
    assert earliest > date(2026, 8, 1)
    assert row["limited_by"]

    def check(day: date) -> int:
        return clinic.run(
            "patient", "check", "FICT-0001", "--indication", "cervical-dystonia", "--product", "BOTOX",
            "--units", "250", "--on", day.isoformat(), "--json",
        ).returncode  # fmt: skip

    assert check(earliest - timedelta(days=1)) == 3
    assert check(earliest) == 0
    blocked = clinic.run(
        "patient", "check", "FICT-0001", "--indication", "cervical-dystonia", "--product", "BOTOX",
        "--units", "250", "--on", (earliest - timedelta(days=1)).isoformat(), "--json",
    )  # fmt: skip
    report = json.loads(blocked.stdout)
    assert report["verdict"] == "block"
    assert {f["code"] for f in report["findings"] if f["severity"] == "block"} <= set(row["limited_by"])
    # The recorder refuses the same session the day before, as the check does (a day that has passed: a session
    # dated in the future is refused for that alone).
    before = clinic.session_file(
        "before", indication="cervical-dystonia", sites=NECK, date=(earliest - timedelta(days=1)).isoformat()
    )
    assert clinic.run("session", "record", str(before)).returncode == 3

    # Bad input is named, and an unknown patient is not repeated back.
    unknown = clinic.run(
        "patient", "check", "FICT-NOBODY", "--indication", "cervical-dystonia", "--product", "BOTOX", "--units", "100"
    )
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: MRN:")
    assert "FICT-NOBODY" not in unknown.stderr
    both = clinic.run("patient", "check", "FICT-0001", "--indication", "cervical-dystonia", "--product", "BOTOX")
    assert both.returncode == 2
    assert both.stderr.startswith("error: --units:")
