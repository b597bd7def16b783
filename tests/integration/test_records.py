"""Backup and restore of the SQLite records by the ``bont`` commands in processes of their own, as a clinic
runs them: an online backup while a process has the database open, and a restore by the installed command
that replaces the database file, which a new process then reads.

The other record journeys (sessions refused as the safety engine says, concurrent writers, a crash mid-write,
the audit trail, the demo clinic and billing) run on SQLite and PostgreSQL in
``tests/contract/test_records_commands.py``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.commands import CommandProcess, installed_bont
from tests.contract.clinic import session_file
from tests.databases import migrated_sqlite_database


def test_backup_and_restore_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": migrated_sqlite_database(tmp_path, "live.sqlite3")}

    def sessions(clinic: CommandProcess) -> int:
        shown = clinic.run("patient", "show", "FICT-0001", "--json")
        assert shown.returncode == 0, shown.stderr
        return len(json.loads(shown.stdout)["sessions"])

    def ok(clinic: CommandProcess, *args: str) -> None:
        done = clinic.run(*args)
        assert done.returncode == 0, (args, done.stderr)

    backup = tmp_path / "backup.sqlite3"
    # A day at the clinic, in one process with the database open: a session, an online backup, another session.
    # The database is a copy of one already migrated, which every command checks: no `db migrate` to run first.
    day = CommandProcess(env)
    try:
        ok(day, "user", "add", "dr-fictional", "--role", "clinician")
        ok(day, "patient", "add", "--mrn", "FICT-0001", "--given-name", "Test", "--family-name", "Fictional",
           "--birth-date", "1971-02-03", "--sex", "female", "--weight-kg", "64")  # fmt: skip
        ok(day, "session", "record", str(session_file(tmp_path, "one", date="2026-08-21", at="2026-08-21T10:00:00")))
        ok(day, "backup", str(backup))
        assert day.run("backup", str(backup)).returncode == 2  # never overwrites a backup
        ok(day, "session", "record", str(session_file(tmp_path, "two")))
        assert sessions(day) == 2
    finally:
        day.close()
    # The restore, by the installed command; a new process then finds the records as they were backed up.
    restored = installed_bont("restore", str(backup), "--yes", env=env)
    assert restored.returncode == 0, restored.stderr
    after = CommandProcess(env)
    try:
        assert sessions(after) == 1
        assert after.run("restore", str(backup)).returncode == 2  # needs --yes
        not_a_backup = tmp_path / "notes.txt"
        not_a_backup.write_text("hello", encoding="utf-8")
        assert after.run("restore", str(not_a_backup), "--yes").returncode == 2
        assert sessions(after) == 1
    finally:
        after.close()
