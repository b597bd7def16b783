"""Deploying a clinic, by the ``bont`` commands in a process of their own on a real SQLite database: the
first administrator with a password the policy accepts, files that hold patient records created owner-only,
and a restore that keeps every undo copy and takes only an intact database of a bont it knows.

The web side of a deployment (no demo without --demo, sign-in behind a TLS proxy, no-store) is
tests/e2e/test_web_deployment.py's."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.commands import CommandProcess, installed_bont
from tests.databases import migrated_sqlite_database

PASSWORD = "fictional clinic passphrase"


@dataclass
class Clinic:
    folder: Path
    commands: CommandProcess

    @property
    def database(self) -> Path:
        return self.folder / "bont.sqlite3"

    def run(self, *args: str, stdin: str | None = None) -> tuple[int, str]:
        done = self.commands.run(*args, stdin=stdin)
        return done.returncode, done.stdout + done.stderr

    def undo_copies(self) -> set[Path]:
        return set(self.folder.glob("bont.sqlite3.before-restore-*"))

    def usernames(self) -> list[str]:
        code, listed = self.run("user", "list", "--json")
        assert code == 0, listed
        return [user["username"] for user in json.loads(listed)]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    folder = tmp_path_factory.mktemp("clinic")
    env = {**os.environ, "DATABASE_URL": migrated_sqlite_database(folder)}
    env.pop("BONT_SECRET_KEY", None)
    commands = CommandProcess(env)
    try:
        clinic = Clinic(folder, commands)
        assert clinic.run("db", "migrate")[0] == 0
        yield clinic
    finally:
        commands.close()


@pytest.fixture(scope="module")
def backup(clinic: Clinic) -> Path:
    """A backup of a clinic with its first administrator."""
    code, said = clinic.run("admin", "create", "fict-admin", "--password-file", "-", stdin=PASSWORD + "\n")
    assert code == 0, said
    made = clinic.folder / "backups" / "monday.sqlite3"
    made.parent.mkdir()
    code, said = clinic.run("backup", str(made))
    assert code == 0, said
    return made


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_first_administrator_chooses_a_password_the_policy_accepts(clinic: Clinic, backup: Path) -> None:
    assert clinic.usernames() == ["fict-admin"]
    code, said = clinic.run("admin", "create", "fict-second", "--password-file", "-", stdin="short\n")
    assert code == 2
    assert "PASSWORD: This password is too short. It must contain at least 12 characters." in said
    assert "short\n" not in said  # the refused password is not repeated
    code, said = clinic.run("admin", "create", "fict-second", stdin=f"{PASSWORD}\n{PASSWORD}\n")  # typed twice
    assert code == 0, said
    assert PASSWORD not in said
    password_file = clinic.folder / "third-password"
    password_file.write_text("another fictional passphrase\n", encoding="utf-8")
    code, said = clinic.run("admin", "create", "fict-third", "--password-file", str(password_file))
    assert code == 0, said
    assert clinic.run("admin", "create", "fict-third", "--password-file", str(password_file))[0] == 2
    code, listed = clinic.run("user", "list", "--json")
    assert {user["username"]: user["roles"] for user in json.loads(listed)} == {
        "fict-admin": ["admin"],
        "fict-second": ["admin"],
        "fict-third": ["admin"],
    }


def test_the_database_its_key_backups_and_undo_copies_are_readable_by_their_owner_only(
    clinic: Clinic, backup: Path
) -> None:
    code, said = clinic.run("restore", str(backup), "--yes")
    assert code == 0, said
    private = [clinic.database, clinic.folder / "secret-key", backup, *clinic.undo_copies()]
    private += list(clinic.folder.glob("bont.sqlite3-*"))  # -wal and -shm, while in use
    assert len(private) >= 4
    assert {path.name: oct(path.stat().st_mode & 0o777) for path in private} == {path.name: "0o600" for path in private}


def test_restore_keeps_every_undo_copy_under_a_new_name(clinic: Clinic, backup: Path) -> None:
    before = clinic.undo_copies()
    assert clinic.run("restore", str(backup), "--yes")[0] == 0
    assert clinic.run("restore", str(backup), "--yes")[0] == 0
    kept = clinic.undo_copies() - before
    assert len(kept) == 2  # two restores within a second keep two copies
    # Restoring an undo copy keeps the live database under yet another name and leaves the copy as it was.
    undo = sorted(kept)[0]
    digest = _digest(undo)
    code, said = clinic.run("restore", str(undo), "--yes")
    assert code == 0, said
    assert _digest(undo) == digest
    assert len(clinic.undo_copies() - before) == 3
    assert clinic.usernames() == ["fict-admin"]  # as backed up


def _newer_bont(path: Path) -> None:
    with closing(sqlite3.connect(path)) as database, database:
        database.execute(
            "insert into django_migrations (app, name, applied) values ('clinic', '9999_from_a_newer_bont', "
            "'2030-01-01 00:00:00')"
        )


def _broken_reference(path: Path) -> None:
    """A user put in a group, neither of which exists (a bare connection does not enforce foreign keys)."""
    with closing(sqlite3.connect(path)) as database, database:
        database.execute("insert into auth_user_groups (user_id, group_id) values (999999, 999999)")


def _other_application(path: Path) -> None:
    path.unlink()
    with closing(sqlite3.connect(path)) as database, database:
        database.execute("create table clinic_patient (id integer primary key, mrn text)")


def _not_sqlite(path: Path) -> None:
    path.write_text("patient notes", encoding="utf-8")


@pytest.mark.parametrize(
    ("spoil", "refusal"),
    [
        (_newer_bont, "PATH: made by a newer bont (schema clinic.9999_from_a_newer_bont unknown here)"),
        (_broken_reference, "PATH: damaged (2 broken references, in auth_user_groups); nothing was changed"),
        (_other_application, "PATH: not a bont database (no schema migrations); nothing was changed"),
        (_not_sqlite, "PATH: not an SQLite database; nothing was changed"),
    ],
    ids=["newer-bont", "broken-reference", "other-application", "not-sqlite"],
)
def test_restore_refuses_a_file_it_cannot_trust_and_changes_nothing(
    clinic: Clinic, backup: Path, tmp_path: Path, spoil: Callable[[Path], None], refusal: str
) -> None:
    candidate = tmp_path / "candidate.sqlite3"
    shutil.copyfile(backup, candidate)
    spoil(candidate)
    before = (clinic.undo_copies(), _digest(clinic.database))
    code, said = clinic.run("restore", str(candidate), "--yes")
    assert (code, refusal in said) == (2, True), said
    assert (clinic.undo_copies(), _digest(clinic.database)) == before


def test_restore_refuses_the_live_database_itself(clinic: Clinic, backup: Path) -> None:
    before = clinic.undo_copies()
    code, said = clinic.run("restore", str(clinic.database), "--yes")
    assert (code, "PATH: this is the live database itself; nothing was changed" in said) == (2, True), said
    assert clinic.undo_copies() == before


def test_the_demo_is_never_served_over_a_clinics_own_records(clinic: Clinic, backup: Path) -> None:
    code, said = clinic.run(
        "patient", "add", "--mrn", "FICT-0001", "--given-name", "Test", "--family-name", "Fictional",
        "--birth-date", "1971-02-03", "--sex", "female", "--weight-kg", "64",
    )  # fmt: skip
    assert code == 0, said
    refused = installed_bont("serve", "--demo", "--port", "9", env={"DATABASE_URL": f"sqlite:///{clinic.database}"})
    assert refused.returncode == 2, refused.stderr
    assert "--demo: this database holds a clinic's own records" in refused.stderr
    assert "demo-clinician" not in clinic.usernames()
