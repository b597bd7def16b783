"""A clinic on the database of a per-engine contract run, driven through the ``bont`` commands in this
process (see ``tests/commands.py``); only what needs processes of its own (two writers racing, a writer
killed mid-write, a clinic in another time zone) starts them."""

from __future__ import annotations

import hashlib
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


# The rows ``flush`` writes again once it has emptied every table (its post_migrate signal), with their ids.
_MIGRATE_ROWS = {
    "django_content_type": "SELECT id, app_label, model FROM django_content_type ORDER BY id",
    "auth_permission": "SELECT id, content_type_id, codename, name FROM auth_permission ORDER BY id",
}
# The tables whose sequence has given an id (``flush`` sets it back), and the last one given, by engine.
_USED_SEQUENCES = {
    "postgresql": """
        SELECT owner.relname, used.last_value FROM pg_sequences used
        JOIN pg_class sequence ON sequence.relname = used.sequencename
            AND sequence.relnamespace = used.schemaname::regnamespace
        JOIN pg_depend link ON link.classid = 'pg_class'::regclass AND link.objid = sequence.oid
            AND link.refclassid = 'pg_class'::regclass
        JOIN pg_class owner ON owner.oid = link.refobjid
        WHERE used.schemaname = current_schema() AND used.last_value IS NOT NULL""",
    "sqlite": "SELECT name, seq FROM sqlite_sequence WHERE seq > 0",
}
_flushed: dict[str, str] = {}  # the digest of those rows just after this process's first flush, by database name


def _migrate_rows_digest(cursor: Any) -> str:
    """The rows the post_migrate signal wrote, and where their tables' sequences stand."""
    digest = hashlib.sha256()
    for query in _MIGRATE_ROWS.values():
        cursor.execute(query)
        digest.update(repr(cursor.fetchall()).encode())
    digest.update(repr(sorted((t, n) for t, n in _used_sequences(cursor).items() if t in _MIGRATE_ROWS)).encode())
    return digest.hexdigest()


def _used_sequences(cursor: Any) -> dict[str, int]:
    from django.db import connection  # noqa: TID251 (below the ORM: the engine's catalogue)

    cursor.execute(_USED_SEQUENCES[connection.vendor])
    return dict(cursor.fetchall())


def empty_database() -> None:
    """Leave the run's database as ``flush`` leaves it: every table empty, every sequence back at its start, and
    the rows the post_migrate signal writes (content types, permissions) as it writes them.

    ``flush`` empties about a hundred tables, most of them already empty, and writes those rows again: on
    PostgreSQL about a quarter of a second a test, most of it in the server. Here only the tables that hold rows
    or whose sequence has moved are emptied, and the content types and permissions stay as the first flush of
    the process wrote them, unless a test changed them (then ``flush`` again)."""
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection  # noqa: TID251 (below the ORM: which tables hold rows)

    name = str(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        if name not in _flushed or _migrate_rows_digest(cursor) != _flushed[name]:
            call_command("flush", interactive=False, verbosity=0)
            _flushed[name] = _migrate_rows_digest(cursor)
            return
        tables = set(connection.introspection.django_table_names(only_existing=True)) - set(_MIGRATE_ROWS)
        # The tables that hold a row, in one round trip.
        cursor.execute(
            " UNION ALL ".join(
                f"SELECT %s WHERE EXISTS (SELECT 1 FROM {connection.ops.quote_name(table)})" for table in sorted(tables)
            ),
            sorted(tables),
        )
        emptied = sorted(tables & {table for (table,) in cursor.fetchall()}.union(_used_sequences(cursor)))
    # PostgreSQL: an empty table that refers to a truncated one must be truncated with it (CASCADE); SQLite checks
    # its foreign keys at the end of the transaction, when the tables left hold no rows.
    sql = connection.ops.sql_flush(
        no_style(), emptied, reset_sequences=True, allow_cascade=connection.vendor == "postgresql"
    )
    connection.ops.execute_sql_flush(sql)


def emptied(folder: Path) -> Clinic:
    """The run's database, emptied."""
    empty_database()
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
