"""The page shell and the pages around the app's own, in process (Django's test client on a real SQLite database):
the style guide's tokens meeting WCAG 2.2 AA contrast as the stylesheet defines them, the skip link and the
current section in the layout, the styled 404, 403 and server-error pages, and the lock-out page after five
wrong passwords, none of which names a patient or a user."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.commands import bont
from tests.databases import migrated_sqlite_database

CLINICIAN, BILLING, FORGETFUL = "style-clinician", "style-billing", "style-forgetful"
MRN, FAMILY_NAME = "FICT-STYLE-1", "Quillfeather"
TEXT_COLOURS = ("bont-ink", "bont-muted", "bont-accent", "bont-ok", "bont-warn", "bont-stop")
SKIP_LINK = '<a class="skip-link" href="#content">Skip to the main content</a>'


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A signed-in clinician, a signed-in billing clerk and a signed-out browser on one new clinic."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", migrated_sqlite_database(tmp_path_factory.mktemp("style")))
        from bont.bootstrap import setup_database

        setup_database()
        from django.contrib.auth import get_user_model
        from django.test import Client

        for name, role in ((CLINICIAN, "clinician"), (BILLING, "billing"), (FORGETFUL, "nurse")):
            assert bont("user", "add", name, "--role", role, "--password", "the right passphrase").returncode == 0
        assert bont("patient", "add", "--mrn", MRN, "--given-name", "Ada", "--family-name", FAMILY_NAME,
                    "--birth-date", "1970-03-04", "--sex", "female", "--weight-kg", "70").returncode == 0  # fmt: skip
        signed_in = {}
        for name in (CLINICIAN, BILLING):
            client = Client(SERVER_NAME="localhost")
            client.force_login(get_user_model()._default_manager.get_by_natural_key(name))
            signed_in[name] = client
        yield {**signed_in, "anonymous": Client(SERVER_NAME="localhost")}


def _page(client: Any, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return str(response.content.decode())


def test_the_style_guide_shows_every_text_colour_meeting_four_and_a_half_to_one_on_white(
    clients: dict[str, Any],
) -> None:
    page = _page(clients[CLINICIAN], "/style/")
    on_white = {
        token: Decimal(ratio)
        for token, ratio in re.findall(
            r'<tr data-token="([a-z-]+)">.*?class="num contrast-on-white">([0-9.]+):1<', page, re.DOTALL
        )
    }
    assert set(TEXT_COLOURS) <= set(on_white)
    assert all(on_white[token] >= Decimal("4.5") for token in TEXT_COLOURS), on_white
    assert on_white["bont-ink"] > Decimal("15")  # computed from the stylesheet's #1b1f24, not a placeholder
    assert "below 4.5:1" not in page  # each colour on each of its backgrounds too
    assert "below 3:1" not in page
    described = 'aria-describedby="example-units-hint example-units-error"'
    components = ('class="patient-banner"', 'class="card"', 'class="list"', "pill pill-warn", "alert alert-stop")
    for component in (*components, described, 'class="danger"', "disabled>"):
        assert component in page, component


def test_the_style_guide_is_open_to_every_staff_role_and_linked_from_the_footer(clients: dict[str, Any]) -> None:
    assert 'href="/style/">Style guide</a>' in _page(clients[BILLING], "/billing/")
    _page(clients[BILLING], "/style/")
    assert clients["anonymous"].get("/style/").status_code == 302  # to the sign-in page


def test_the_layout_opens_with_a_skip_link_and_marks_the_current_section(clients: dict[str, Any]) -> None:
    page = _page(clients[CLINICIAN], "/patients/")
    body = page[page.index("<body>") :]
    assert body.index(SKIP_LINK) < body.index("<a ", body.index(SKIP_LINK) + 1)  # the first link of the page
    assert '<main id="content" tabindex="-1">' in page
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', page) == ["/patients/"]
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', _page(clients[CLINICIAN], "/plan/")) == ["/plan/"]


def test_a_missing_page_and_a_refused_one_are_pages_of_the_layout(clients: dict[str, Any]) -> None:
    missing = _page(clients[CLINICIAN], "/no-such-page/", 404)
    assert SKIP_LINK in missing
    assert "<h1>Not found</h1>" in missing
    refused = _page(clients[BILLING], "/follow-up/", 403)
    assert SKIP_LINK in refused
    assert "<h1>Not permitted</h1>" in refused


def test_a_server_error_is_a_styled_page_drawn_without_the_database_or_the_user(clients: dict[str, Any]) -> None:
    from django.db import connection  # noqa: TID251 (counting the queries: none)
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from bont.web.views.errors import server_error

    request = RequestFactory().get(f"/patients/?q={FAMILY_NAME}&mrn={MRN}")  # no user, no session
    with CaptureQueriesContext(connection) as queries:
        response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert len(queries) == 0
    assert page.startswith("<!doctype html>")
    assert 'href="/static/bont.css"' in page
    assert SKIP_LINK in page
    assert "<h1>Server error</h1>" in page
    assert 'role="alert"' in page
    assert FAMILY_NAME not in page
    assert MRN not in page
    assert server_error(RequestFactory().get("/api/patients"))["Content-Type"] == "application/json"
    assert server_error(RequestFactory().get("/fhir/Patient"))["Content-Type"].startswith("application/fhir+json")


def test_five_wrong_passwords_show_the_lock_out_page_without_naming_the_user(clients: dict[str, Any]) -> None:
    from django.test import Client

    browser = Client(SERVER_NAME="localhost")
    wrong = {"username": FORGETFUL, "password": "not the passphrase"}
    answers = [browser.post("/login/", wrong).status_code for _ in range(5)]
    assert answers[:4] == [200, 200, 200, 200]  # the sign-in form again, saying so
    locked = browser.post("/login/", {"username": FORGETFUL, "password": "the right passphrase"})
    page = locked.content.decode()
    assert locked.status_code == 429
    assert "Sign-in locked for a while" in page
    assert "an administrator" in page or "the clinic's administrator" in page
    assert SKIP_LINK in page
    assert FORGETFUL not in page
