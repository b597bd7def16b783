"""A clinic deployed as clinics run bont: a bare ``bont serve`` (no demo) on its own database behind a reverse
proxy that ends TLS, spoken to as the proxy speaks (``Host`` and ``X-Forwarded-Proto: https``, the browser's
``Origin``); and the demo clinic, which says on every page that it is one."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.databases import migrated_sqlite_database
from tests.e2e.browser import run_bont, serving, shoot, sign_in

ORIGIN = "https://bont.clinic.example"
PASSWORD = "fictional clinic passphrase"
PROXY = {"Host": "bont.clinic.example", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "bont.clinic.example"}
DEMO_BANNER = "Demo clinic: fictional patients, not for clinical use"


class Browsing:
    """Requests as a browser sends them through the proxy, keeping the cookies the responses set."""

    def __init__(self, server: str, headers: dict[str, str]) -> None:
        self.address = urlsplit(server).netloc
        self.headers = headers
        self.cookies: dict[str, str] = {}
        self.set_cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, **headers: str
    ) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection(self.address, timeout=30)
        sent = {**self.headers, **headers}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        for line in response.headers.get_all("Set-Cookie") or []:
            name, value = line.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
            self.set_cookies[name] = line
        text = response.read().decode()
        connection.close()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, text

    def sign_in(self, username: str, password: str, origin: str) -> tuple[int, dict[str, str]]:
        _, _, page = self.request("GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page
        form = {"csrfmiddlewaretoken": token[1], "username": username, "password": password}
        status, headers, _ = self.request("POST", "/login/", form, Origin=origin, Referer=f"{origin}/login/")
        return status, headers


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory, database_env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """A new clinic behind the proxy, served by a bare ``bont serve`` in two worker processes (gunicorn; one
    process is waitress, as the demo ``server`` is); yields its address and server log."""
    folder = tmp_path_factory.mktemp("proxied")
    database = folder / "bont.sqlite3"
    env = {
        **database_env,
        "DATABASE_URL": migrated_sqlite_database(folder),  # as `bont db migrate` leaves it: empty
        "BONT_BEHIND_TLS_PROXY": "true",
        "BONT_TRUSTED_ORIGINS": ORIGIN,
    }
    with serving(env, "--workers", "2") as url:
        password_file = folder / "password"
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        created = run_bont(env, "admin", "create", "fict-admin", "--password-file", str(password_file))
        assert created.returncode == 0, created.stderr
        yield url, database.with_suffix(".log")


def test_a_bare_serve_loads_no_demo_and_says_how_to_create_the_first_admin(clinic: tuple[str, Path]) -> None:
    url, log = clinic
    said = log.read_text(encoding="utf-8")
    assert "no user yet: create the first administrator with  bont admin create USERNAME" in said
    assert "demo" not in said
    status, _, page = Browsing(url, PROXY).request("GET", "/login/")
    assert status == 200
    assert DEMO_BANNER not in page


def test_sign_in_through_the_tls_proxy_sets_secure_cookies_and_hsts(clinic: tuple[str, Path]) -> None:
    browsing = Browsing(clinic[0], PROXY)
    status, headers = browsing.sign_in("fict-admin", PASSWORD, ORIGIN)
    assert (status, headers.get("location")) == (302, "/")  # signed in: no CSRF 403
    for cookie in ("csrftoken", "sessionid"):
        attributes = {part.strip().lower() for part in browsing.set_cookies[cookie].split(";")[1:]}
        assert {"secure", "httponly", "samesite=strict"} <= attributes, cookie
    assert headers["strict-transport-security"] == "max-age=31536000"  # no includeSubDomains by default
    status, headers, _ = browsing.request("GET", "/")
    assert (status, headers["location"]) == (302, "/patients/")  # signed in, to the start page of the role
    status, _, page = browsing.request("GET", "/patients/")
    assert status == 200
    assert "fict-admin" in page


def test_the_proxy_s_headers_are_believed_only_from_the_trusted_proxy(clinic: tuple[str, Path]) -> None:
    _, headers, _ = Browsing(clinic[0], PROXY).request("GET", "/login/")
    assert "strict-transport-security" in headers  # from 127.0.0.1, BONT_TRUSTED_PROXY: over HTTPS
    # The same headers from another address of this machine: dropped, so plain HTTP and no HSTS.
    connection = http.client.HTTPConnection(urlsplit(clinic[0]).netloc, timeout=30, source_address=("127.0.0.2", 0))
    connection.request("GET", "/login/", headers=PROXY)
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") is None


def test_a_form_posted_from_another_origin_is_refused(clinic: tuple[str, Path]) -> None:
    status, _ = Browsing(clinic[0], PROXY).sign_in("fict-admin", PASSWORD, "https://elsewhere.example")
    assert status == 403


def test_without_the_proxy_settings_the_same_sign_in_meets_the_csrf_403(server: str) -> None:
    """The demo server has neither BONT_BEHIND_TLS_PROXY nor BONT_TRUSTED_ORIGINS: a browser on https:// sends
    its https origin, the server, reached over plain HTTP, expects http:// and refuses, as clinics met it."""
    browser_origin = "https://" + urlsplit(server).netloc
    status, _ = Browsing(server, {"X-Forwarded-Proto": "https"}).sign_in(
        "demo-clinician", "demo-password", browser_origin
    )
    assert status == 403


def test_no_response_is_kept_by_a_browser_or_a_cache_but_static_files(clinic: tuple[str, Path]) -> None:
    browsing = Browsing(clinic[0], PROXY)
    browsing.sign_in("fict-admin", PASSWORD, ORIGIN)
    for path in ("/", "/patients/", "/login/", "/api/indications", "/api/openapi.json"):
        _, headers, _ = browsing.request("GET", path)
        assert "no-store" in headers["cache-control"], path
        assert headers["pragma"] == "no-cache", path
    anonymous = Browsing(clinic[0], PROXY)
    status, headers, _ = anonymous.request("GET", "/api/indications")
    assert (status, "no-store" in headers["cache-control"]) == (401, True)
    status, headers, _ = anonymous.request("GET", "/static/bont.css")
    assert status == 200
    assert "no-store" not in headers.get("cache-control", "")


def test_every_page_of_the_demo_clinic_says_it_is_the_demo(server: str, page: Page) -> None:
    page.goto(f"{server}/login/")
    # A landmark of its own, so that a screen reader lists it beside the page's header and main content.
    notice = page.get_by_role("complementary", name="Demo clinic notice")
    expect(notice).to_have_text(DEMO_BANNER)
    sign_in(page, server, "demo-clinician")
    page.goto(f"{server}/patients/")
    expect(notice).to_have_text(DEMO_BANNER)
    shoot(page, "90-demo-banner")
