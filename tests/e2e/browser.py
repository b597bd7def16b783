"""What the browser tests share: the installed ``bont`` beside the server, a live server on its own port,
signing in, screenshots for a person to look at, and the small readings of a page several journeys make."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

import psycopg
from playwright.sync_api import Page, expect

from tests.commands import CommandProcess

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam  # the type add_cookies takes; not exported

BONT = str(Path(sys.executable).with_name("bont"))
SCREENSHOTS = Path(__file__).parent.parent.parent / "artifacts" / "screenshots"
# Chromium's headless shell (scripts/ensure-chromium.sh installs it): half the CPU of the whole browser headless.
# Where only the browser is installed (a developer without root), the browser.
HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
CHROMIUM = str(HEADLESS_SHELL if HEADLESS_SHELL.exists() else Path("/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

COMMAND_PROCESSES: dict[tuple[str, str], CommandProcess] = {}
SERVED_DATABASES: dict[str, str] = {}  # a live server's address -> its DATABASE_URL


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_bont(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``bont ARGS`` beside the server, on the database (and in the time zone) of ``env``: in a process of its
    own, as a clinic runs the command line, but one process per database for the whole test session, so that
    each command does not import bont and set up Django again."""
    key = (env["DATABASE_URL"], env.get("BONT_TIME_ZONE", ""))
    if key not in COMMAND_PROCESSES:
        COMMAND_PROCESSES[key] = CommandProcess(env)
    return COMMAND_PROCESSES[key].run(*args)


@contextmanager
def serving(env: dict[str, str], *options: str) -> Iterator[str]:
    port = _free_port()
    log = open(Path(env["DATABASE_URL"].removeprefix("sqlite:///")).with_suffix(".log"), "w")  # noqa: SIM115
    # The server's output goes to a file: an undrained pipe could fill and stall it.
    process = subprocess.Popen(
        [BONT, "serve", "--port", str(port), *options], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/login/", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        raise RuntimeError("the server did not start")
    SERVED_DATABASES[url] = env["DATABASE_URL"]
    yield url
    process.terminate()
    process.wait(timeout=30)
    log.close()


def chart_key(server: str, mrn: str) -> str:
    """The random key that addresses a patient's chart on ``server`` (never the MRN), read from its database."""
    database = SERVED_DATABASES[server]
    if database.startswith("sqlite:///"):
        with closing(sqlite3.connect(database.removeprefix("sqlite:///"))) as connection:
            found = connection.execute("SELECT chart_key FROM clinic_patient WHERE mrn = ?", (mrn,)).fetchone()
    else:
        with psycopg.connect(database) as connection:
            found = connection.execute("SELECT chart_key FROM clinic_patient WHERE mrn = %s", (mrn,)).fetchone()
    assert found, f"no patient {mrn} on the server's database"
    return str(found[0])


def chart_path(server: str, mrn: str, page: str = "") -> str:
    """The address of a patient's chart, or of ``page`` under it (e.g. "plan/")."""
    return f"/patients/{chart_key(server, mrn)}/{page}"


def chart_url(server: str, mrn: str, page: str = "") -> str:
    return server + chart_path(server, mrn, page)


DEMO_PASSWORD = "demo-password"  # the demo clinic's users' (`bont demo`)
SESSION_COOKIE = "sessionid"  # Django's SESSION_COOKIE_NAME
# The session cookie of each demo user's first sign-in on each server, by (server, username).
SIGNED_IN: dict[tuple[str, str], list[SetCookieParam]] = {}


def sign_in(page: Page, server: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, ending on the role's first page (or on the form again, refused). A demo user
    already signed in on ``server`` is signed in as a browser that kept the session's cookie: the form, and the
    password's Argon2 hash on the server (0.4 s of CPU), are walked once per demo user and server. A session
    that has ended since (signed out) is signed in through the form again."""
    key = (server, username)
    if password == DEMO_PASSWORD and key in SIGNED_IN:
        page.context.add_cookies(SIGNED_IN[key])
        page.goto(f"{server}/")  # where the sign-in's redirect leads: the role's first page
        if "/login/" not in page.url:
            return
        del SIGNED_IN[key]
    page.goto(f"{server}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    # Wait for the answer (signed in, refused or locked out): a click only starts the post, and a test that looks at
    # the page at once would see the sign-in form still there.
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.get_by_role("button", name="Sign in").click()
    if password == DEMO_PASSWORD and "/login/" not in page.url:
        # The cookie as the server set it (HttpOnly, SameSite=Strict, its expiry), not a looser copy.
        cookies = page.context.cookies(server)
        SIGNED_IN[key] = [cast("SetCookieParam", cookie) for cookie in cookies if cookie["name"] == SESSION_COOKIE]


def sign_out(page: Page) -> None:
    """Sign out from the header; the session ended is no longer remembered for ``sign_in`` (every context that
    signed in with it is signed out with it, as two tabs of one browser are)."""
    ended = {cookie["value"] for cookie in page.context.cookies() if cookie["name"] == SESSION_COOKIE}
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    for key, cookies in list(SIGNED_IN.items()):
        if any(cookie["value"] in ended for cookie in cookies):
            del SIGNED_IN[key]


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # JPEG: a full page in 60 % of a PNG's time, and as good to look at.
    page.screenshot(path=str(SCREENSHOTS / f"{name}.jpg"), full_page=True, type="jpeg", quality=80)


def gauge_units(page: Page, product: str) -> float:
    text = page.locator(f".gauge[data-product='{product}'] .gauge-label").inner_text()
    return float(text.split(":", 1)[1].split("U of", 1)[0])


def register(database_env: dict[str, str], mrn: str, family_name: str) -> None:
    """A fictional adult patient (Fictional FAMILY_NAME, 1980-04-02, female, 61 kg) registered with the command."""
    added = run_bont(
        database_env, "patient", "add", "--mrn", mrn, "--given-name", "Fictional", "--family-name", family_name,
        "--birth-date", "1980-04-02", "--sex", "female", "--weight-kg", "61",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def session_count(database_env: dict[str, str], mrn: str) -> int:
    shown = run_bont(database_env, "patient", "show", mrn, "--json")
    assert shown.returncode == 0, shown.stderr
    return len(json.loads(shown.stdout)["sessions"])


def plan_for(page: Page, server: str, mrn: str) -> None:
    """Open the plan builder from the chart and let the live update fill in a chronic migraine plan."""
    page.goto(chart_url(server, mrn))
    page.locator(".actions").get_by_role("link", name="Plan a session").click()
    page.get_by_label("Indication").select_option("chronic-migraine")
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    expect(page.get_by_role("heading", name="155 U of BOTOX in 31 sites")).to_be_visible()


# Posts the plan builder's form with the choices given, as pressing "Update the plan" does.
_POST_PLAN = """(choices) => {
  const builder = document.getElementById("plan-form");
  const form = document.createElement("form");
  form.method = "post";
  form.action = choices.action || builder.action;
  delete choices.action;
  const values = {csrfmiddlewaretoken: builder.elements.csrfmiddlewaretoken.value, mrn: builder.elements.mrn.value};
  for (const [name, value] of Object.entries(Object.assign(values, choices))) {
    const field = document.createElement("input");
    field.type = "hidden";
    field.name = name;
    field.value = value;
    form.appendChild(field);
  }
  document.body.appendChild(form);
  form.submit();
}"""


def open_plan(page: Page, server: str, choices: dict[str, str], mrn: str | None = None, action: str = "") -> None:
    """The plan builder (or, with ``action`` "/plan/sheet/", its procedure sheet) for these choices, named as the
    form names its fields: the builder takes nothing from a URL, so they are posted, from the patient's plan
    page when ``mrn`` is given."""
    page.goto(chart_url(server, mrn, "plan/") if mrn else f"{server}/plan/")
    with page.expect_navigation():
        page.evaluate(_POST_PLAN, {**choices, "action": action})


MIGRAINE_CHOICES = {"indication": "chronic-migraine", "product": "onabotulinumtoxinA"}


def plan_without_javascript(page: Page, server: str, mrn: str) -> None:
    """The patient's plan for chronic migraine with BOTOX, chosen as a clinician without scripts chooses it: each
    choice posted by the builder's own "Update the plan" button."""
    page.goto(chart_url(server, mrn, "plan/"))
    page.get_by_label("Indication").select_option("chronic-migraine")
    page.get_by_role("button", name="Update the plan").click()
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    page.get_by_role("button", name="Update the plan").click()


def open_record(page: Page, server: str, mrn: str, choices: dict[str, str] | None = None) -> None:
    """The record form for a plan, reached as a clinician reaches it: the patient's plan builder with these
    choices (default: chronic migraine with BOTOX), then its "Record this session…" button, which posts the plan
    (a plan never travels in an address)."""
    open_plan(page, server, choices or MIGRAINE_CHOICES, mrn)
    page.get_by_role("button", name="Record this session…").click()


def acknowledge_warnings(page: Page) -> None:
    for field in page.locator("input[name^='ack:']").all():
        field.fill("reviewed with the patient")


def token_for(database_env: dict[str, str], username: str) -> str:
    made = run_bont(database_env, "user", "token", username)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().rsplit(" ", 1)[-1]


def api(
    server: str, path: str, token: str, body: dict[str, object] | None = None, method: str | None = None
) -> tuple[int, object]:
    request = urllib.request.Request(
        f"{server}/api{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method or ("GET" if body is None else "POST"),
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
