"""The clinic's accounts (bont.services.users): disabling and enabling users, roles, password resets under the
policy, unlocking, API tokens that expire, are revoked and record their last use, and when the TOTP second
factor is asked for, on the fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bont.services.users import (
    TOTP_MODES,
    AccountError,
    add_user,
    administration_needs_second_factor,
    authenticate_token,
    change_role,
    code_needed_at_sign_in,
    disable_user,
    enable_user,
    issue_api_token,
    remove_second_factor,
    reset_password,
    revoke_token,
    unlock_user,
    user_tokens,
)
from tests.fakes import FakeRegistry, FakeSecondFactor, FakeUserAccounts

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def state() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def accounts(state: FakeRegistry) -> FakeUserAccounts:
    accounts = FakeUserAccounts(state)
    add_user(accounts, "fict-nurse", "nurse")
    return accounts


def test_a_disabled_users_token_stops_working_and_works_again_once_enabled(accounts: FakeUserAccounts) -> None:
    token = issue_api_token(accounts, "fict-nurse", NOW)
    disable_user(accounts, "fict-nurse")
    assert authenticate_token(accounts, token, NOW) is None
    assert [u.active for u in accounts.users()] == [False]  # disabled, not deleted
    enable_user(accounts, "fict-nurse")
    assert authenticate_token(accounts, token, NOW) == "fict-nurse"


def test_a_token_expires_after_its_days_and_ninety_by_default(accounts: FakeUserAccounts) -> None:
    default = issue_api_token(accounts, "fict-nurse", NOW)
    short = issue_api_token(accounts, "fict-nurse", NOW, name="lab system", expires_in_days=1)
    day_later = NOW + timedelta(days=1)
    assert authenticate_token(accounts, short, day_later - timedelta(seconds=1)) == "fict-nurse"
    assert authenticate_token(accounts, short, day_later) is None
    assert authenticate_token(accounts, default, NOW + timedelta(days=89)) == "fict-nurse"
    assert authenticate_token(accounts, default, NOW + timedelta(days=90)) is None
    rows = user_tokens(accounts, "fict-nurse")
    assert [(t.name, t.state(day_later)) for t in rows] == [("lab system", "expired"), ("", "active")]


def test_a_revoked_token_is_refused_and_kept_with_when_it_was_revoked(
    accounts: FakeUserAccounts, state: FakeRegistry
) -> None:
    token = issue_api_token(accounts, "fict-nurse", NOW, name="scanner")
    (row,) = user_tokens(accounts, "fict-nurse")
    revoke_token(accounts, row.id, NOW)
    assert authenticate_token(accounts, token, NOW) is None
    assert user_tokens(accounts, "fict-nurse")[0].revoked_at == NOW
    with pytest.raises(AccountError) as again:
        revoke_token(accounts, row.id, NOW)
    assert again.value.field == "id"
    with pytest.raises(AccountError):
        revoke_token(accounts, 999, NOW)


def test_the_last_use_of_a_token_is_written_at_most_once_a_minute(
    accounts: FakeUserAccounts, state: FakeRegistry
) -> None:
    token = issue_api_token(accounts, "fict-nurse", NOW)
    for second in range(0, 60, 5):
        assert authenticate_token(accounts, token, NOW + timedelta(seconds=second)) == "fict-nurse"
    (stored,) = state.tokens.values()
    assert (stored.uses_recorded, stored.last_used_at) == (1, NOW)
    authenticate_token(accounts, token, NOW + timedelta(minutes=1))
    assert (stored.uses_recorded, stored.last_used_at) == (2, NOW + timedelta(minutes=1))


def test_a_token_needs_a_user_a_short_name_and_a_sensible_expiry(accounts: FakeUserAccounts) -> None:
    refusals = [
        ({"username": "fict-nobody"}, "username"),
        ({"name": "x" * 81}, "name"),
        ({"expires_in_days": 0}, "expires-in-days"),
        ({"expires_in_days": 3651}, "expires-in-days"),
    ]
    for arguments, field in refusals:
        username = str(arguments.pop("username", "fict-nurse"))
        with pytest.raises(AccountError) as refused:
            issue_api_token(accounts, username, NOW, **arguments)  # type: ignore[arg-type]
        assert refused.value.field == field
    assert issue_api_token(accounts, "fict-nurse", NOW, expires_in_days=None)  # a token that never expires


def test_roles_are_given_and_taken_away_and_only_known_roles(accounts: FakeUserAccounts) -> None:
    change_role(accounts, "fict-nurse", "admin")
    assert accounts.users()[0].roles == ("admin", "nurse")
    change_role(accounts, "fict-nurse", "nurse", remove=True)
    assert accounts.users()[0].roles == ("admin",)
    with pytest.raises(AccountError) as unknown_role:
        change_role(accounts, "fict-nurse", "surgeon")
    assert unknown_role.value.field == "role"
    with pytest.raises(AccountError) as nobody:
        change_role(accounts, "fict-nobody", "nurse")
    assert nobody.value.field == "username"


def test_a_password_reset_must_pass_the_policy_and_names_what_fails(
    accounts: FakeUserAccounts, state: FakeRegistry
) -> None:
    with pytest.raises(AccountError) as short:
        reset_password(accounts, "fict-nurse", "short")
    assert short.value.field == "password"
    assert "too short" in short.value.problem
    assert state.users["fict-nurse"].password is None  # nothing written
    reset_password(accounts, "fict-nurse", "a long enough passphrase")
    assert state.users["fict-nurse"].password == "a long enough passphrase"


def test_a_user_added_on_the_users_page_gets_a_password_that_passes_the_policy(accounts: FakeUserAccounts) -> None:
    with pytest.raises(AccountError) as weak:
        add_user(accounts, "fict-billing", "billing", "billing", check_password=True)
    assert weak.value.field == "password"
    assert not accounts.exists("fict-billing")
    with pytest.raises(AccountError) as blank:
        add_user(accounts, "  ", "billing")
    assert blank.value.field == "username"


def test_unlocking_clears_a_lockout_and_says_when_there_was_none(
    accounts: FakeUserAccounts, state: FakeRegistry
) -> None:
    state.locked_out.add("fict-nurse")
    assert accounts.users()[0].locked_out
    assert unlock_user(accounts, "fict-nurse") == 1
    assert not accounts.users()[0].locked_out
    assert unlock_user(accounts, "fict-nurse") == 0
    with pytest.raises(AccountError):
        unlock_user(accounts, "fict-nobody")


def test_an_administrator_can_neither_disable_themselves_nor_drop_their_own_admin_role(
    accounts: FakeUserAccounts,
) -> None:
    add_user(accounts, "fict-admin", "admin")
    with pytest.raises(AccountError) as herself:
        disable_user(accounts, "fict-admin", by="fict-admin")
    assert herself.value.problem == "you cannot disable your own account"
    with pytest.raises(AccountError) as own_role:
        change_role(accounts, "fict-admin", "admin", remove=True, by="fict-admin")
    assert own_role.value.field == "role"
    disable_user(accounts, "fict-nurse", by="fict-admin")
    change_role(accounts, "fict-nurse", "nurse", remove=True, by="fict-admin")
    assert [(u.username, u.roles, u.active) for u in accounts.users()] == [
        ("fict-admin", ("admin",), True),
        ("fict-nurse", (), False),
    ]


def test_sign_in_asks_for_a_code_only_when_the_second_factor_is_on_and_an_app_is_enrolled() -> None:
    assert [code_needed_at_sign_in(mode, True) for mode in TOTP_MODES] == [False, True, True]
    assert not any(code_needed_at_sign_in(mode, False) for mode in TOTP_MODES)


def test_administration_pages_need_a_session_signed_in_with_the_app_only_when_required() -> None:
    assert [administration_needs_second_factor(mode, False) for mode in TOTP_MODES] == [False, False, True]
    assert not administration_needs_second_factor("required-for-admin", True)


def test_an_app_is_enrolled_by_its_first_right_code_and_removed_by_an_administrator(
    accounts: FakeUserAccounts,
) -> None:
    app = accounts.second_factor("fict-nurse")
    assert app.setup_address().startswith("otpauth://totp/")
    assert app.confirm("000000") is None
    assert not app.enrolled()
    assert app.confirm(FakeSecondFactor.CODE) is not None
    assert accounts.users()[0].second_factor
    assert app.verify(FakeSecondFactor.CODE) is not None
    assert remove_second_factor(accounts, "fict-nurse")
    assert not remove_second_factor(accounts, "fict-nurse")
    assert app.verify(FakeSecondFactor.CODE) is None
