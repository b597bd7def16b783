"""The database itself: what ``bont db info`` reports (its engine, how many migrations are pending), and the
backup and restore of the embedded SQLite file."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bont.settings import private_file


@dataclass(frozen=True)
class DatabaseState:
    engine: str  # Django's vendor name: sqlite, postgresql
    pending_migrations: int


def database_state() -> DatabaseState:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return DatabaseState(engine=connection.vendor, pending_migrations=len(pending))


def sqlite_file() -> str:
    """The file of the SQLite database in use (for the online backup)."""
    from django.db import connection

    return str(connection.settings_dict["NAME"])


def close_connections() -> None:
    """Close this process's database connections (before a server forks workers, which open their own)."""
    from django.db import connections

    connections.close_all()


def holds_no_patient() -> bool:
    """Whether the clinic's records are empty (the demo is loaded only into an empty database)."""
    from bont.clinic.models import Patient

    return not Patient.objects.exists()


def has_user(username: str) -> bool:
    from django.contrib.auth import get_user_model

    return bool(get_user_model().objects.filter(username=username).exists())


# Backup and restore of the embedded SQLite database. A restore takes only a file this bont can run on: an
# SQLite database whose applied migrations are all this bont's (an older schema is brought up to date by the
# next command; a newer one is refused), intact (integrity_check) and with no broken foreign key.
class NotRestorable(ValueError):
    """The file is not a backup this bont can restore; nothing was changed."""


def _known_migrations() -> set[tuple[str, str]]:
    from django.db.migrations.loader import MigrationLoader

    # Read from the installed apps' migration modules, without a database connection.
    return set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def restore_problem(path: Path) -> str | None:
    """What makes ``path`` unfit to restore, or None: not SQLite, not bont's, a newer bont's, or damaged."""
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as backup:
            tables = {row[0] for row in backup.execute("select name from sqlite_master where type = 'table'")}
            if "django_migrations" not in tables:
                return "not a bont database (no schema migrations)"
            applied = {(app, name) for app, name in backup.execute("select app, name from django_migrations")}
            integrity = [row[0] for row in backup.execute("pragma integrity_check")]
            broken_keys = backup.execute("pragma foreign_key_check").fetchall()
    except sqlite3.DatabaseError:
        return "not an SQLite database"
    if not any(app == "clinic" for app, _ in applied):
        return "not a bont database (no clinic schema)"
    unknown = sorted(f"{app}.{name}" for app, name in applied - _known_migrations())
    if unknown:
        return f"made by a newer bont (schema {', '.join(unknown[:3])} unknown here); upgrade bont first"
    if integrity != ["ok"]:
        return "damaged (the SQLite integrity check failed)"
    if broken_keys:
        tables_hit = sorted({str(row[0]) for row in broken_keys})
        return f"damaged ({len(broken_keys)} broken references, in {', '.join(tables_hit)})"
    return None


def copy_sqlite(source: Path, target: Path) -> None:
    """An online copy of the database ``source`` into the new file ``target``, created owner-only; raises
    ``FileExistsError`` when ``target`` exists (a backup is never overwritten)."""
    private_file(target)
    with contextlib.closing(sqlite3.connect(source)) as reading, contextlib.closing(sqlite3.connect(target)) as copy:
        reading.backup(copy)


def undo_copy_name(live: Path, at: datetime) -> Path:
    """A name for the undo copy of ``live`` that no file has: the time of the restore, and a number after it
    when two restores fall in one second."""
    stamp = at.strftime("%Y%m%dT%H%M%SZ")
    names = (
        live.with_name(f"{live.name}.before-restore-{stamp}" + (f"-{number}" if number > 1 else ""))
        for number in itertools.count(1)
    )
    return next(name for name in names if not name.exists())


def restore_sqlite(backup: Path, live: Path, at: datetime) -> Path | None:
    """Replace the database ``live`` with ``backup``, keeping ``live`` first under a new name (returned; None
    when there was no live database). Raises ``NotRestorable`` (nothing changed) for a file
    ``restore_problem`` refuses, or for the live database itself."""
    if live.exists() and backup.resolve() == live.resolve():
        raise NotRestorable("this is the live database itself")
    problem = restore_problem(backup)
    if problem is not None:
        raise NotRestorable(problem)
    kept = None
    if live.exists() and live.stat().st_size > 0:
        while True:
            kept = undo_copy_name(live, at)
            with contextlib.suppress(FileExistsError):  # taken meanwhile: the next name
                copy_sqlite(live, kept)
                break
    elif not live.exists():
        live.parent.mkdir(parents=True, exist_ok=True)
        private_file(live)
    with contextlib.closing(sqlite3.connect(backup)) as source, contextlib.closing(sqlite3.connect(live)) as target:
        source.backup(target)
    return kept
