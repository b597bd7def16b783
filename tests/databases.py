"""Real databases for the records tests: a fresh SQLite file, or a fresh database on a throwaway
PostgreSQL server that the tests start themselves (or on the server named by BONT_TEST_POSTGRES_URL).

Applying every migration to a new database costs about ten seconds of CPU (Django renders the model states of each
migration, and the audit history doubles the models): a test that needs a clinic, not a migration, starts from a
copy of one database migrated once per test session (:func:`migrated_sqlite_database`; on PostgreSQL
:func:`migrated_postgres_database`, a ``CREATE DATABASE … TEMPLATE``), and a test that needs the demo clinic from a
copy of one loaded once (:func:`demo_sqlite_database`). The tests of migrating
itself (a bare ``bont serve``, ``tests/contract/test_adapter_migrations.py``) keep starting from nothing."""

from __future__ import annotations

import atexit
import fcntl
import glob
import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
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


def fresh_postgres_database(server_url: str, template: str | None = None) -> str:
    """A new database on the server: empty, or a copy of the database ``template``."""
    name = f"bont_test_{uuid.uuid4().hex[:12]}"
    # FILE_COPY: a copy of the template's files, where the default (WAL_LOG) writes every page through the WAL.
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"{copy}')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def migrated_postgres_database(server_url: str) -> str:
    """A new PostgreSQL database on the server with every migration applied and nothing else: what ``bont db
    migrate`` leaves in an empty database, copied from the one migrated once for the test session on that server."""
    return fresh_postgres_database(server_url, _postgres_template(server_url))


@cache
def _postgres_template(server_url: str) -> str:
    """The migrated template database on the server, made by whichever process asks first while the others wait
    for it; its name is kept beside the SQLite templates (a server named by BONT_TEST_POSTGRES_URL outlives the
    test session: each session migrates a template of its own)."""
    share_templates()
    folder = Path(os.environ[TEMPLATES_VARIABLE])
    server = hashlib.sha256(server_url.encode()).hexdigest()[:12]
    named = folder / f"postgres-{server}.name"
    with open(folder / f"postgres-{server}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not named.exists():
            url = fresh_postgres_database(server_url)
            _bont(url, "db", "migrate")  # its connections closed when it exits: a template copied must have none
            named.write_text(url.rsplit("/", 1)[1], encoding="utf-8")
    return named.read_text(encoding="utf-8")


def fresh_sqlite_database(folder: Path) -> str:
    return f"sqlite:///{folder / 'bont.sqlite3'}"


def migrated_sqlite_database(folder: Path, name: str = "bont.sqlite3") -> str:
    """A new SQLite database in ``folder`` with every migration applied and nothing else: what ``bont db migrate``
    leaves in an empty file, copied from the one migrated once for the test session."""
    return _copied(_template("migrated", _migrate), folder / name)


def demo_sqlite_database(folder: Path, name: str = "bont.sqlite3") -> str:
    """A new SQLite database in ``folder`` holding the fictional demo clinic as ``bont demo`` loads it (today's),
    copied from the one loaded once for the test session: loading it records every session through the use
    cases, about fifteen seconds of CPU."""
    return _copied(_template("demo", _load_demo), folder / name)


def demo_sqlite_template() -> tuple[Path, str]:
    """The demo template itself (to read, never to write) and what ``bont demo`` printed when it loaded it, for a
    test of that load on SQLite that would otherwise load the demo clinic a second time."""
    database = _template("demo", _load_demo)
    return database, _demo_output(database).read_text(encoding="utf-8")


# Where the templates are kept: a folder the main run names in its environment before it starts the runs beside it,
# so that every process of the test session shares one of each; a process of its own makes its own folder.
TEMPLATES_VARIABLE = "BONT_TEST_TEMPLATES"


def share_templates() -> None:
    """Name a folder for the templates of this test session (unless one is named), removed when it ends."""
    if TEMPLATES_VARIABLE not in os.environ:
        folder = tempfile.mkdtemp(prefix="bont-templates-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ[TEMPLATES_VARIABLE] = folder


def _copied(template: Path, database: Path) -> str:
    shutil.copyfile(template, database)
    database.chmod(0o600)  # owner-only, as bont creates a database
    return f"sqlite:///{database}"


@cache
def _template(name: str, build: Callable[[Path], None]) -> Path:
    """The template ``name``, built by ``build`` (given the new file's path) by whichever process asks first while
    the others wait for it."""
    share_templates()
    folder = Path(os.environ[TEMPLATES_VARIABLE])
    database = folder / f"{name}.sqlite3"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not database.exists():
            building = folder / f"{name}.building.sqlite3"
            build(building)
            with closing(sqlite3.connect(building)) as connection:
                connection.execute("PRAGMA journal_mode=DELETE")  # the whole database in its one file, to copy
            building.replace(database)
    return database


def _bont(database: Path | str, *args: str) -> str:
    """Run the installed ``bont ARGS`` on ``database`` (a SQLite file, or a database's URL); what it printed."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("bont")), *args],
        env={**os.environ, "DATABASE_URL": database if isinstance(database, str) else f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bont {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def _migrate(database: Path) -> None:
    _bont(database, "db", "migrate")


def _load_demo(database: Path) -> None:
    shutil.copyfile(_template("migrated", _migrate), database)
    _demo_output(database).write_text(_bont(database, "demo"), encoding="utf-8")


def _demo_output(database: Path) -> Path:
    return database.parent / "demo.stdout"
