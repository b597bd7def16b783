"""Accounts a clinic can manage, in a real browser on the shared demo server: the administrator's Users pages
(add a user, roles, disable and enable, a temporary password, unlock, API tokens), a user changing their own
password, sign-in throttling by username and address together, and (on a server of its own) the TOTP second
factor required for the administration pages. Every user here is this module's own; the demo users are left as
they are."""

from __future__ import annotations

import json
import os
import time
from base64 import b32decode
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from tests.databases import migrated_sqlite_database
from tests.e2e.browser import api, run_bont, serving, shoot, sign_in, sign_out, token_for

PASSWORD = "clinic-e2e-passphrase"


def _user(database_env: dict[str, str], username: str, role: str) -> None:
    made = run_bont(database_env, "user", "add", username, "--role", role, "--password", PASSWORD)
    assert made.returncode == 0, made.stderr


def _users(database_env: dict[str, str]) -> dict[str, dict[str, object]]:
    listed = run_bont(database_env, "user", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {row["username"]: row for row in json.loads(listed.stdout)}


def _signed_in(page: Page) -> bool:
    return page.get_by_role("button", name="Sign out").count() == 1


def test_only_an_administrator_opens_the_users_pages(page: Page, server: str, database_env: dict[str, str]) -> None:
    sign_in(page, server, "demo-nurse")
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    assert page.goto(f"{server}/users/").status == 403
    assert page.goto(f"{server}/users/demo-nurse/").status == 403
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        f"{server}/users/",
        form={"username": "acct-sneaky", "role": "admin", "password": "a sneaky passphrase"},
        headers={"X-CSRFToken": csrf, "Referer": f"{server}/users/"},
    )
    assert refused.status == 403
    assert "acct-sneaky" not in _users(database_env)


def test_an_administrator_adds_a_user_changes_roles_disables_and_enables_them(
    page: Page, server: str, database_env: dict[str, str]
) -> None:
    _user(database_env, "acct-admin", "admin")
    sign_in(page, server, "acct-admin", PASSWORD)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    page.get_by_label("Username").fill("acct-new-nurse")
    page.get_by_label("Role").select_option("nurse")
    page.get_by_label("Temporary password").fill("nurse")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("alert")).to_contain_text("This password is too short")
    assert "acct-new-nurse" not in _users(database_env)
    page.get_by_label("Temporary password").fill("a temporary passphrase")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator(".messages")).to_contain_text("User acct-new-nurse added with the role nurse.")
    page.get_by_label("Give a role").select_option("clinician")
    page.get_by_role("button", name="Give role").click()
    expect(page.locator(".messages")).to_contain_text("Role clinician given to acct-new-nurse.")
    page.get_by_role("button", name="Remove role nurse").click()
    expect(page.locator(".messages")).to_contain_text("Role nurse taken from acct-new-nurse.")
    assert _users(database_env)["acct-new-nurse"]["roles"] == ["clinician"]
    page.get_by_role("button", name="Disable user").click()
    expect(page.locator(".messages")).to_contain_text("acct-new-nurse is disabled")
    shoot(page, "91-user-disabled")
    assert _users(database_env)["acct-new-nurse"]["active"] is False

    other = page.context.browser.new_context() if page.context.browser else None
    assert other is not None
    disabled_page = other.new_page()
    sign_in(disabled_page, server, "acct-new-nurse", "a temporary passphrase")
    assert not _signed_in(disabled_page)
    page.get_by_role("button", name="Enable user").click()
    sign_in(disabled_page, server, "acct-new-nurse", "a temporary passphrase")
    assert _signed_in(disabled_page)
    page.get_by_label("New password").fill("another temporary one")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".messages")).to_contain_text("Temporary password set for acct-new-nurse")
    disabled_page.goto(f"{server}/patients/")
    assert not _signed_in(disabled_page)  # a new password signs out the sessions opened with the old one
    sign_in(disabled_page, server, "acct-new-nurse", "another temporary one")
    assert _signed_in(disabled_page)
    other.close()

    page.goto(f"{server}/users/")
    row = page.locator("tr[data-user='acct-new-nurse']")
    expect(row).to_contain_text("clinician")
    expect(row).to_contain_text("active")
    shoot(page, "91-users")


def test_an_administrator_cannot_disable_themselves(page: Page, server: str, database_env: dict[str, str]) -> None:
    _user(database_env, "acct-lone-admin", "admin")
    sign_in(page, server, "acct-lone-admin", PASSWORD)
    page.goto(f"{server}/users/acct-lone-admin/")
    page.get_by_role("button", name="Disable user").click()
    expect(page.get_by_role("alert")).to_contain_text("you cannot disable your own account")
    assert _users(database_env)["acct-lone-admin"]["active"] is True


def test_a_revoked_token_and_a_disabled_users_token_are_refused_by_the_api(
    page: Page, server: str, database_env: dict[str, str]
) -> None:
    _user(database_env, "acct-token-admin", "admin")
    _user(database_env, "acct-lab", "clinician")
    kept, revoked = token_for(database_env, "acct-lab"), token_for(database_env, "acct-lab")
    assert api(server, "/indications", kept)[0] == 200
    assert api(server, "/indications", revoked)[0] == 200
    sign_in(page, server, "acct-token-admin", PASSWORD)
    page.goto(f"{server}/users/acct-lab/")
    tokens = json.loads(run_bont(database_env, "user", "tokens", "acct-lab", "--json").stdout)
    assert all(t["last_used"] for t in tokens)  # each was used once just now
    newest = tokens[0]["id"]
    page.get_by_role("button", name=f"Revoke token {newest}").click()
    expect(page.locator(".messages")).to_contain_text(f"API token {newest} revoked")
    expect(page.locator(f"tr[data-token='{newest}']")).to_contain_text("revoked")
    shoot(page, "91-user-tokens")
    assert api(server, "/indications", revoked)[0] == 401
    assert api(server, "/indications", kept)[0] == 200
    disabled = run_bont(database_env, "user", "disable", "acct-lab")
    assert disabled.returncode == 0, disabled.stderr
    assert api(server, "/indications", kept)[0] == 401
    assert run_bont(database_env, "user", "enable", "acct-lab").returncode == 0
    assert api(server, "/indications", kept)[0] == 200


def test_a_user_changes_their_own_password_from_the_header(
    page: Page, server: str, database_env: dict[str, str]
) -> None:
    _user(database_env, "acct-self", "nurse")
    sign_in(page, server, "acct-self", PASSWORD)
    page.get_by_role("link", name="acct-self").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("12345678901234")
    page.get_by_label("New password again").fill("12345678901234")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("entirely numeric")
    shoot(page, "91-password-refused")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("my own new passphrase")
    page.get_by_label("New password again").fill("my own new passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    sign_out(page)
    sign_in(page, server, "acct-self", "my own new passphrase")
    assert _signed_in(page)


def test_five_wrong_passwords_lock_out_that_user_only_until_an_administrator_unlocks_them(
    page: Page, server: str, database_env: dict[str, str]
) -> None:
    """Throttling by username and address together: the clinic's other users behind the same address (the
    same NAT, here 127.0.0.1) still sign in."""
    for username, role in (("acct-forgetful", "nurse"), ("acct-colleague", "nurse"), ("acct-unlocker", "admin")):
        _user(database_env, username, role)
    for _ in range(5):
        sign_in(page, server, "acct-forgetful", "not the password")
    sign_in(page, server, "acct-forgetful", PASSWORD)
    assert not _signed_in(page)  # locked out: even the right password is refused for now
    assert _users(database_env)["acct-forgetful"]["locked_out"] is True
    sign_in(page, server, "acct-colleague", PASSWORD)
    assert _signed_in(page)
    sign_out(page)

    sign_in(page, server, "acct-unlocker", PASSWORD)
    page.goto(f"{server}/users/")
    expect(page.locator("tr[data-user='acct-forgetful']")).to_contain_text("locked out")
    page.get_by_role("link", name="acct-forgetful").click()
    shoot(page, "91-user-locked-out")
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator(".messages")).to_contain_text("acct-forgetful may sign in again.")
    sign_out(page)
    sign_in(page, server, "acct-forgetful", PASSWORD)
    assert _signed_in(page)


@pytest.fixture(scope="module")
def totp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("totp")
    env = {**os.environ, "DATABASE_URL": migrated_sqlite_database(folder), "BONT_TOTP": "required-for-admin"}
    _user(env, "totp-admin", "admin")
    _user(env, "totp-nurse", "nurse")
    with serving(env, "--no-demo") as url:
        yield url, env


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for ``secret`` (RFC 6238), ``steps_ahead`` 30-second steps from now:
    a code once accepted is not accepted again, so a second sign-in gives the next step's (django-otp accepts
    one step of clock drift). A code is never read in the last five seconds of its step: read at the end of step T
    and checked in step T+1, it is accepted as the step before, and django-otp keeps that drift of -1 step for
    the device, so that the next sign-in's code, a step ahead, would fall outside what it accepts."""
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left + 0.1)
    totp = TOTP(b32decode(secret.replace(" ", "")))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def test_with_totp_required_for_admin_an_administrator_enrols_an_app_and_then_signs_in_with_its_code(
    page: Page, totp_server: tuple[str, dict[str, str]]
) -> None:
    server, env = totp_server
    sign_in(page, server, "totp-nurse", PASSWORD)  # optional for the other roles: the password alone
    assert _signed_in(page)
    sign_out(page)

    sign_in(page, server, "totp-admin", PASSWORD)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Authenticator app")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("The administration pages need your authenticator app")
    expect(page.locator("#otpauth")).to_contain_text("otpauth://totp/bont%3Atotp-admin?secret=")
    shoot(page, "91-two-factor-enrol")
    secret = page.locator("#secret").inner_text()
    page.get_by_label("First code from the app").fill("000000" if _code(secret) != "000000" else "111111")
    page.get_by_role("button", name="Enrol app").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    time.sleep(1.1)  # django-otp throttles a device for a second after a wrong code
    page.get_by_label("First code from the app").fill(_code(secret))
    page.get_by_role("button", name="Enrol app").click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()  # back where the admin was going
    expect(page.locator("tr[data-user='totp-admin']")).to_contain_text("authenticator app")
    sign_out(page)

    sign_in(page, server, "totp-admin", PASSWORD)
    expect(page.get_by_role("heading", name="Sign in: code")).to_be_visible()
    assert not _signed_in(page)
    shoot(page, "91-sign-in-code")
    page.get_by_label("Code").fill(_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(f"{server}/users/")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()

    removed = run_bont(env, "user", "remove-second-factor", "totp-admin")
    assert removed.stdout.strip() == "authenticator app removed", removed.stderr
    sign_out(page)
    sign_in(page, server, "totp-admin", PASSWORD)
    assert _signed_in(page)  # no app any more: the password alone, and the Users page asks to enrol again
    page.goto(f"{server}/users/")
    expect(page.get_by_role("heading", name="Authenticator app")).to_be_visible()


def test_a_password_reset_from_the_command_line_meets_djangos_password_validators(
    database_env: dict[str, str], tmp_path: Path
) -> None:
    _user(database_env, "acct-cli-reset", "nurse")
    typed = tmp_path / "password.txt"
    for weak, problem in (("password1234", "too common"), ("4815162342108", "entirely numeric")):
        typed.write_text(weak + "\n")
        refused = run_bont(database_env, "user", "reset-password", "acct-cli-reset", "--password-file", str(typed))
        assert (refused.returncode, problem in refused.stderr, weak in refused.stderr) == (2, True, False)
    typed.write_text("a sound passphrase\n")
    done = run_bont(database_env, "user", "reset-password", "acct-cli-reset", "--password-file", str(typed))
    assert done.returncode == 0, done.stderr
