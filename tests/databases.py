"""Real databases for the records tests: a fresh SQLite file, or a fresh database on a throwaway
PostgreSQL server that the tests start themselves (or on the server named by BONT_TEST_POSTGRES_URL).

Applying every migration to a new database costs about ten seconds of CPU (Django renders the model states of each
migration, and the audit history doubles the models): a test that needs a clinic, not a migration, starts from a
copy of one database migrated once per test process (:func:`migrated_sqlite_database`). The tests of migrating
itself (a bare ``bont serve``, ``tests/contract/test_adapter_migrations.py``) keep starting from nothing."""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path

import psycopg


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    # initdb refuses to run as root; the Debian package creates the postgres user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a PostgreSQL server's maintenance database; stop the server afterwards."""
    given = os.environ.get("BONT_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not binaries:
        raise RuntimeError("PostgreSQL is not installed: run scripts/ensure-postgres.sh (make test does)")
    bin_dir = Path(binaries[-1])
    root = Path(tempfile.mkdtemp(prefix="bont-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    # A throwaway server: nothing survives a crash (fsync off), so neither full-page images nor frequent
    # checkpoints buy anything; a bulk load (the scale generator) then writes about half the WAL.
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        " -c max_wal_size=8GB -c checkpoint_timeout=30min"
    )
    subprocess.run(
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def fresh_postgres_database(server_url: str) -> str:
    name = f"bont_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def fresh_sqlite_database(folder: Path) -> str:
    return f"sqlite:///{folder / 'bont.sqlite3'}"


def migrated_sqlite_database(folder: Path, name: str = "bont.sqlite3") -> str:
    """A new SQLite database in ``folder`` with every migration applied and nothing else: what ``bont db migrate``
    leaves in an empty file, copied from the one this process migrated."""
    shutil.copyfile(_migrated_template(), folder / name)
    (folder / name).chmod(0o600)  # owner-only, as bont creates a database
    return f"sqlite:///{folder / name}"


@cache
def _migrated_template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bont-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    database = folder / "bont.sqlite3"
    migrated = subprocess.run(
        [str(Path(sys.executable).with_name("bont")), "db", "migrate"],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        check=False,
    )
    if migrated.returncode != 0:
        raise RuntimeError(f"bont db migrate failed: {migrated.stderr}")
    with closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")  # the whole database in its one file, to copy
    return database
