"""The ``bont user`` commands that manage accounts (list, disable, enable, role, reset-password, unlock, token,
tokens, revoke-token), in process, on the fakes: they translate, the service decides."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bont.services.clock import FixedClock
from tests.commands import bont
from tests.fakes import FakeRegistry, FakeUserAccounts

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    from bont import bootstrap
    from bont.cli import records

    state = FakeRegistry()
    FakeUserAccounts(state).add("fict-nurse", "nurse", None)
    monkeypatch.setattr(bootstrap, "user_accounts", lambda: FakeUserAccounts(state))
    clock = FixedClock(NOW)
    monkeypatch.setattr(records, "clock", lambda: clock)
    return state


def test_a_user_is_disabled_and_enabled_and_the_list_shows_it(state: FakeRegistry) -> None:
    assert bont("user", "disable", "fict-nurse").returncode == 0
    listed = bont("user", "list", "--json")
    assert json.loads(listed.stdout) == [
        {
            "username": "fict-nurse",
            "roles": ["nurse"],
            "active": False,
            "locked_out": False,
            "second_factor": False,
            "last_sign_in": None,
        }
    ]
    assert bont("user", "enable", "fict-nurse").returncode == 0
    assert state.users["fict-nurse"].active
    table = bont("user", "list")
    assert "fict-nurse" in table.stdout
    assert "active" in table.stdout


def test_an_unknown_user_is_named_as_the_argument_that_was_refused(state: FakeRegistry) -> None:
    for command in ("disable", "enable", "unlock", "tokens", "token"):
        refused = bont("user", command, "fict-nobody")
        assert (refused.returncode, refused.stderr.strip()) == (2, "error: USERNAME: no such user"), command


def test_roles_are_given_and_removed_by_name(state: FakeRegistry) -> None:
    assert bont("user", "role", "fict-nurse", "--role", "admin").stdout.strip() == "role admin given"
    assert bont("user", "role", "fict-nurse", "--role", "nurse", "--remove").returncode == 0
    assert state.users["fict-nurse"].roles == {"admin"}
    wrong = bont("user", "role", "fict-nurse", "--role", "surgeon")
    assert wrong.returncode == 2
    assert "--role: must be one of" in wrong.stderr


def test_a_password_is_typed_twice_at_a_hidden_prompt_never_on_the_command_line(state: FakeRegistry) -> None:
    typed = bont("user", "reset-password", "fict-nurse", stdin="a long enough passphrase\na long enough passphrase\n")
    assert typed.returncode == 0, typed.stderr
    assert "a long enough passphrase" not in typed.stdout  # the prompt hides what is typed
    assert state.users["fict-nurse"].password == "a long enough passphrase"
    mismatch = bont("user", "reset-password", "fict-nurse", stdin="first passphrase!\nsecond passphrase\n")
    assert mismatch.returncode != 0
    assert state.users["fict-nurse"].password == "a long enough passphrase"
    assert "--password" not in bont("user", "reset-password", "--help").stdout.replace("--password-file", "")


def test_a_password_from_a_file_or_stdin_must_pass_the_policy(state: FakeRegistry, tmp_path: Path) -> None:
    weak = bont("user", "reset-password", "fict-nurse", "--password-file", "-", stdin="short\n")
    assert (weak.returncode, "--password: This password is too short." in weak.stderr) == (2, True)
    assert "short\n" not in weak.stderr  # the refused password is not repeated
    secret = tmp_path / "password.txt"
    secret.write_text("from a file, long enough\n")
    assert bont("user", "reset-password", "fict-nurse", "--password-file", str(secret)).returncode == 0
    assert state.users["fict-nurse"].password == "from a file, long enough"


def test_unlock_says_whether_the_user_was_locked_out(state: FakeRegistry) -> None:
    state.locked_out.add("fict-nurse")
    assert bont("user", "unlock", "fict-nurse").stdout.strip() == "user unlocked"
    assert bont("user", "unlock", "fict-nurse").stdout.strip() == "user was not locked out"


def test_a_token_is_named_expires_is_listed_and_revoked(state: FakeRegistry) -> None:
    made = bont("user", "token", "fict-nurse", "--name", "lab system", "--expires-in-days", "30")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().rsplit(" ", 1)[-1]
    (listed,) = json.loads(bont("user", "tokens", "fict-nurse", "--json").stdout)
    assert listed["name"] == "lab system"
    assert listed["expires"].startswith("2026-12-29")
    assert (listed["revoked"], listed["state"]) == (None, "active")
    assert token not in json.dumps(listed)  # the token itself is shown once, at creation
    assert bont("user", "revoke-token", str(listed["id"])).stdout.strip() == f"token {listed['id']} revoked"
    assert json.loads(bont("user", "tokens", "fict-nurse", "--json").stdout)[0]["state"] == "revoked"
    again = bont("user", "revoke-token", str(listed["id"]))
    assert (again.returncode, again.stderr.strip()) == (2, "error: ID: no such token, or it was already revoked")
    assert "lab system" in bont("user", "tokens", "fict-nurse").stdout


def test_a_token_expiry_out_of_range_is_refused_naming_the_option(state: FakeRegistry) -> None:
    refused = bont("user", "token", "fict-nurse", "--expires-in-days", "0")
    assert (refused.returncode, "--expires-in-days: must be between 1 and 3650 days" in refused.stderr) == (2, True)
    assert not state.tokens


def test_an_administrator_removes_a_lost_authenticator_app_from_the_command_line(state: FakeRegistry) -> None:
    state.users["fict-nurse"].second_factor = True
    assert bont("user", "remove-second-factor", "fict-nurse").stdout.strip() == "authenticator app removed"
    assert bont("user", "remove-second-factor", "fict-nurse").stdout.strip() == "user had no authenticator app"
