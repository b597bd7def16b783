"""Serving many requests cheaply without serving stale rights: an API token (with its user and roles) is read
once per ``BONT_TOKEN_CACHE_SECONDS`` per process, and a change made by any process on the machine refuses it
at once; the roles of a request's user are read once per request; a page view writes no session row, only a
renewal of the idle timeout once a minute. On a real SQLite database, with Django's test client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.databases import migrated_sqlite_database

ROLES = ("clinician", "nurse", "researcher")
CHECK_DOCUMENT = Path(__file__).parent.parent.parent / "examples" / "check-cumulative-block.json"


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The clinic's user accounts, with one user per role of ``ROLES`` (``srv-ROLE``)."""
    folder = tmp_path_factory.mktemp("serving")
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", migrated_sqlite_database(folder))
        from bont.bootstrap import setup_database, user_accounts
        from bont.services.users import add_user

        setup_database()
        accounts = user_accounts()
        for role in ROLES:
            if not accounts.exists(f"srv-{role}"):
                add_user(accounts, f"srv-{role}", role)
        yield accounts


def _token(accounts: Any, username: str) -> tuple[str, int]:
    from bont.services.users import issue_api_token

    token = issue_api_token(accounts, username, datetime.now(UTC))
    return token, accounts.tokens(username)[0].id


def _bearer(accounts: Any, token: str, at: datetime | None = None) -> Any:
    from bont.services.users import token_bearer

    return token_bearer(accounts, token, at or datetime.now(UTC))


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The token cache's clock ``seconds`` ahead, as if that time had passed."""
    import time

    from django.core.cache.backends import locmem

    now = time.time() + seconds
    monkeypatch.setattr(locmem, "time", SimpleNamespace(time=lambda: now))


def test_a_revoked_token_is_refused_at_once(accounts: Any) -> None:
    from bont.services.users import revoke_token

    token, token_id = _token(accounts, "srv-nurse")
    assert _bearer(accounts, token).username == "srv-nurse"  # now kept by this process
    revoke_token(accounts, token_id, datetime.now(UTC))
    assert _bearer(accounts, token) is None


def test_a_token_read_while_a_revocation_commits_is_not_kept(accounts: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.cache import caches

    from bont.clinic import accounts as adapter
    from bont.services.users import revoke_token

    token, token_id = _token(accounts, "srv-clinician")
    roles = adapter._roles

    def revoked_meanwhile(user: Any) -> frozenset[str]:
        # Another request revokes the token after this one read its row and before it keeps it.
        monkeypatch.setattr(adapter, "_roles", roles)
        revoke_token(accounts, token_id, datetime.now(UTC))
        adapter._forget_changed_elsewhere()  # a third request of this process has already seen the change
        return roles(user)

    assert _bearer(accounts, token) is not None  # used (its last use written) and kept
    caches[adapter.TOKEN_CACHE].clear()  # as when the kept row expires
    monkeypatch.setattr(adapter, "_roles", revoked_meanwhile)
    assert _bearer(accounts, token).username == "srv-clinician"  # read before the revocation committed
    assert _bearer(accounts, token) is None  # the old row was not kept


def test_disabling_a_user_refuses_their_token_at_once_and_enabling_accepts_it_again(accounts: Any) -> None:
    from bont.services.users import disable_user, enable_user

    token, _ = _token(accounts, "srv-researcher")
    assert _bearer(accounts, token) is not None
    disable_user(accounts, "srv-researcher")
    assert _bearer(accounts, token) is None
    enable_user(accounts, "srv-researcher")
    assert _bearer(accounts, token) is not None


def test_a_role_change_reaches_the_token_at_once(accounts: Any) -> None:
    from bont.services.users import change_role

    token, _ = _token(accounts, "srv-clinician")
    assert _bearer(accounts, token).roles == {"clinician"}
    change_role(accounts, "srv-clinician", "billing")
    assert _bearer(accounts, token).roles == {"clinician", "billing"}
    change_role(accounts, "srv-clinician", "billing", remove=True)
    assert _bearer(accounts, token).roles == {"clinician"}


def test_an_expired_token_is_refused_at_once_though_kept(accounts: Any) -> None:
    token, _ = _token(accounts, "srv-nurse")
    now = datetime.now(UTC)
    assert _bearer(accounts, token, now) is not None
    assert _bearer(accounts, token, now + timedelta(days=90)) is None


def test_a_revocation_by_another_process_on_this_machine_is_seen_at_once(accounts: Any) -> None:
    """Another process (a second server worker, ``bont user revoke-token``) writes the row and renews the file
    ``BONT_TOKEN_CHANGES``, as the adapter does after every change; this process sees the file at its next
    token and forgets what it kept."""
    from bont.clinic import accounts as adapter
    from bont.clinic.models import ApiToken

    token, token_id = _token(accounts, "srv-nurse")
    _bearer(accounts, token)  # its first use is written, and read back into the cache by the next
    assert _bearer(accounts, token) is not None
    ApiToken.objects.filter(pk=token_id).update(revoked_at=datetime.now(UTC))  # the other process's write
    adapter._tell_other_processes()  # and its word to the machine
    assert _bearer(accounts, token) is None


def test_a_revocation_on_another_machine_is_seen_when_the_kept_entry_expires(
    accounts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server on another machine sharing the PostgreSQL database has no common file to renew: this process
    refuses the token at most ``BONT_TOKEN_CACHE_SECONDS`` (default 30) later."""
    from bont.clinic.models import ApiToken

    token, token_id = _token(accounts, "srv-nurse")
    _bearer(accounts, token)
    assert _bearer(accounts, token) is not None
    ApiToken.objects.filter(pk=token_id).update(revoked_at=datetime.now(UTC))  # and no word to this machine
    assert _bearer(accounts, token) is not None  # still within the kept entry's lifetime
    _later(monkeypatch, 31)
    assert _bearer(accounts, token) is None


def test_a_token_s_last_use_is_written_at_most_once_a_minute(accounts: Any) -> None:
    token, _ = _token(accounts, "srv-nurse")
    first = datetime.now(UTC)
    _bearer(accounts, token, first)
    _bearer(accounts, token, first + timedelta(seconds=59))
    assert accounts.tokens("srv-nurse")[0].last_used_at == first
    _bearer(accounts, token, first + timedelta(seconds=60))
    assert accounts.tokens("srv-nurse")[0].last_used_at == first + timedelta(seconds=60)


def test_the_api_takes_the_token_s_roles_with_it(accounts: Any) -> None:
    from django.test import Client

    document = CHECK_DOCUMENT.read_text(encoding="utf-8")
    for role, status in (("clinician", 200), ("researcher", 403)):
        token, _ = _token(accounts, f"srv-{role}")
        client = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.post("/api/check", document, content_type="application/json")
        assert response.status_code == status, role
        if status == 200:
            assert json.loads(response.content)["verdict"] == "block"


def test_a_request_reads_its_user_s_roles_once(accounts: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from bont.web.access import roles_of

    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="srv-nurse")
    assert roles_of(request) == {"nurse"}
    accounts.set_role("srv-nurse", "billing", True)
    try:
        assert roles_of(request) == {"nurse"}  # read once: the same request does not ask again
        request.user = AnonymousUser()  # signed out during the request: its user's roles, none
        assert roles_of(request) == set()
    finally:
        accounts.set_role("srv-nurse", "billing", False)


def test_a_page_view_writes_no_session_row_only_a_renewal_once_a_minute(
    accounts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session
    from django.test import Client

    from bont.web import middleware

    client = Client(SERVER_NAME="localhost")
    client.force_login(get_user_model().objects.get(username="srv-clinician"))
    key = client.session.session_key
    client.get("/")  # the first page of a session started outside the middleware: renewed
    renewed = Session.objects.get(session_key=key).expire_date
    response = client.get("/")
    assert response.status_code == 302  # to the role's first page
    assert "sessionid" not in response.cookies  # no new expiry for the browser
    assert Session.objects.get(session_key=key).expire_date == renewed  # and no write
    minute_later = time.time() + middleware.RENEWAL_INTERVAL
    monkeypatch.setattr(middleware, "time", SimpleNamespace(time=lambda: minute_later))
    response = client.get("/")
    assert "sessionid" in response.cookies
    assert Session.objects.get(session_key=key).expire_date > renewed


def test_connections_and_the_token_cache_are_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from bont.clinic.django_settings import database_config
    from bont.settings import BontSettings

    monkeypatch.setenv("BONT_CONN_MAX_AGE", "0")
    monkeypatch.setenv("BONT_CONN_HEALTH_CHECKS", "false")
    settings = BontSettings()
    assert (settings.conn_max_age, settings.conn_health_checks, settings.token_cache_seconds) == (0, False, 30)
    config = database_config("postgresql://clinic@db.example/bont", "NORMAL", 600, True)
    assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]) == (600, True)
    monkeypatch.setenv("BONT_TOKEN_CACHE_SECONDS", "61")  # a revocation unseen for more than a minute: refused
    with pytest.raises(ValidationError, match="token_cache_seconds"):
        BontSettings()
