"""A clinic on the database of a per-engine contract run, driven through the ``bont`` commands in this
process (see ``tests/commands.py``); only what needs processes of its own (two writers racing, a writer
killed mid-write, a clinic in another time zone) starts them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.commands import CommandProcess, bont


def session_file(folder: Path, name: str, **fields: Any) -> Path:
    """A ``bont session record`` document in ``folder``: chronic migraine for FICT-0001 by dr-fictional, with
    ``fields`` replacing the defaults."""
    document = {
        "patient_mrn": "FICT-0001",
        "date": "2026-11-21",
        "at": "2026-11-21T10:00:00",
        "clinician": "dr-fictional",
        "indication": "chronic-migraine",
        "product": "onabotulinumtoxinA",
        "sites": [
            {"muscle": "frontalis", "side": "left", "units": 10},
            {"muscle": "frontalis", "side": "right", "units": 10},
        ],
        "draws": [],
        "acknowledgements": {},
        **fields,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


class Clinic:
    """The clinic's database (emptied for each test) and the commands a clinic would run against it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = dict(os.environ)  # DATABASE_URL names this run's database

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return bont(*args, stdin=stdin)

    def elsewhere(self, env: dict[str, str]) -> CommandProcess:
        """A process of its own running ``bont`` commands on this database, with more environment (e.g. the
        clinic's time zone, read once per process); close it when done."""
        return CommandProcess({**self.env, **env})

    def ok(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def session_file(self, name: str, **fields: Any) -> Path:
        return session_file(self.folder, name, **fields)

    def receive_lot(self, product: str, lot: str, vial_units: str, expiry: str = "2027-12-31") -> list[int]:
        """One vial of a new lot; returns the vial ids."""
        received = self.ok(
            "lot", "add", "--product", product, "--lot", lot, "--expiry", expiry, "--quantity", "1",
            "--vial-units", vial_units,
        )  # fmt: skip
        return list(received["vials"])

    def sessions(self, mrn: str = "FICT-0001") -> list[dict[str, Any]]:
        return list(self.ok("patient", "show", mrn)["sessions"])

    def python(self, script: str) -> subprocess.CompletedProcess[str]:
        """A Python script in a process of its own, on this clinic's database."""
        return subprocess.run(
            [sys.executable, "-c", script], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )


def emptied(folder: Path) -> Clinic:
    """The run's database, emptied."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    return Clinic(folder)


def set_up(folder: Path) -> Clinic:
    """An empty clinic with a clinician, a nurse and one patient, FICT-0001."""
    clinic = emptied(folder)
    assert clinic.run("user", "add", "dr-fictional", "--role", "clinician").returncode == 0
    assert clinic.run("user", "add", "nurse-fictional", "--role", "nurse").returncode == 0
    clinic.ok(
        "patient", "add", "--mrn", "FICT-0001", "--given-name", "Test", "--family-name", "Fictional",
        "--birth-date", "1971-02-03", "--sex", "female", "--weight-kg", "64",
    )  # fmt: skip
    return clinic
