"""The clinic web app in a real browser (Debian's Chromium driven by Playwright) against a live server on
a fresh SQLite database with the fictional demo clinic. Screenshots of the main pages are saved under
artifacts/screenshots for a person to look at."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

BONT = str(Path(sys.executable).with_name("bont"))
SCREENSHOTS = Path(__file__).parent.parent.parent / "artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def database_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("web")
    return {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'bont.sqlite3'}"}


@pytest.fixture(scope="module")
def server(database_env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    env = database_env
    log = open(Path(env["DATABASE_URL"].removeprefix("sqlite:///")).with_suffix(".log"), "w")  # noqa: SIM115
    # The server's output goes to a file: an undrained pipe could fill and stall it.
    process = subprocess.Popen(
        [BONT, "serve", "--port", str(port), "--demo"], env=env, stdout=log, stderr=subprocess.STDOUT
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
    yield url
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def sign_in(page: Page, server: str, username: str, password: str = "demo-password") -> None:
    page.goto(f"{server}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_clinician_signs_in_finds_a_patient_and_reads_the_chart(server: str, page: Page) -> None:
    page.goto(f"{server}/login/")
    shoot(page, "01-sign-in")
    sign_in(page, server, "demo-clinician")
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    shoot(page, "02-patients")
    page.get_by_label("Search by name or MRN").fill("DEMO-0001")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="DEMO-0001").click()
    expect(page.get_by_role("heading", name="Demo, Alma")).to_be_visible()
    expect(page.get_by_text("History across all indications and products")).to_be_visible()
    expect(page.locator(".gauge[data-product='onabotulinumtoxinA']")).to_contain_text("of 400 U in 3 months")
    expect(page.get_by_text("Chronic migraine: last")).to_be_visible()
    expect(page.get_by_text("not a prescriber")).to_be_visible()
    shoot(page, "03-chart")


def test_a_researcher_sees_only_de_identified_counts(server: str, page: Page) -> None:
    sign_in(page, server, "demo-researcher")
    expect(page.get_by_role("heading", name="Registry (de-identified)")).to_be_visible()
    expect(page.get_by_text("DEMO-0001")).to_have_count(0)
    shoot(page, "04-research")
    response = page.goto(f"{server}/patients/DEMO-0001/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not permitted")).to_be_visible()
    assert page.goto(f"{server}/patients/").status == 403  # type: ignore[union-attr]


def test_billing_staff_cannot_open_a_chart(server: str, page: Page) -> None:
    sign_in(page, server, "demo-billing")
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    assert page.goto(f"{server}/patients/DEMO-0002/").status == 403  # type: ignore[union-attr]


def test_a_wrong_password_is_refused_without_saying_which_part(server: str, page: Page) -> None:
    sign_in(page, server, "demo-nurse", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("username or password is not right")


def test_pages_need_a_signed_in_user(server: str, page: Page) -> None:
    page.goto(f"{server}/patients/DEMO-0001/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_chronic_migraine_plan_shows_31_sites_on_the_body_map(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    page.get_by_role("link", name="Plan a session").click()
    page.get_by_label("Indication").select_option("chronic-migraine")
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    page.get_by_role("button", name="Update the plan").click()
    expect(page.get_by_role("heading", name="155 U of BOTOX in 31 sites")).to_be_visible()
    sites = page.locator("circle.site").evaluate_all("dots => dots.map(d => Number(d.dataset.sites))")
    assert sum(sites) == 31
    shoot(page, "05-plan-chronic-migraine")


def test_a_plan_over_the_cumulative_maximum_is_blocked(
    server: str, page: Page, database_env: dict[str, str], tmp_path: Path
) -> None:
    # A cervical dystonia session of 300 U BOTOX a week ago, recorded by another clinic's user.
    session = {
        "patient_mrn": "DEMO-0017",
        "date": (date.today() - timedelta(days=7)).isoformat(),
        "clinician": "demo-clinician",
        "indication": "cervical-dystonia",
        "product": "BOTOX",
        "sites": [
            {"muscle": m, "side": "left", "units": 50} for m in ("splenius-capitis", "trapezius", "levator-scapulae")
        ]
        + [{"muscle": m, "side": "right", "units": 50} for m in ("splenius-capitis", "trapezius", "levator-scapulae")],
        "acknowledgements": dict.fromkeys(
            ("cumulative-dose-exceeds-maximum", "other-botulinum-toxin-recently"), "reviewed"
        ),
    }
    document = tmp_path / "session.json"
    document.write_text(json.dumps(session), encoding="utf-8")
    recorded = subprocess.run(
        [BONT, "session", "record", str(document)], env=database_env, capture_output=True, text=True
    )
    assert recorded.returncode == 0, recorded.stderr
    sign_in(page, server, "demo-clinician")
    page.goto(f"{server}/plan/?indication=chronic-migraine&product=onabotulinumtoxinA&mrn=DEMO-0017")
    expect(page.locator("#verdict")).to_have_text("block")
    expect(page.get_by_text("cumulative-dose-exceeds-maximum")).to_be_visible()
    shoot(page, "06-plan-blocked")


def _token(database_env: dict[str, str], username: str) -> str:
    made = subprocess.run([BONT, "user", "token", username], env=database_env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().rsplit(" ", 1)[-1]


def _api(server: str, path: str, token: str, body: dict[str, object] | None = None) -> tuple[int, object]:
    request = urllib.request.Request(
        f"{server}/api{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_the_json_api_with_tokens_and_the_same_permissions(server: str, database_env: dict[str, str]) -> None:
    clinician = _token(database_env, "demo-clinician")
    status, indications = _api(server, "/indications", clinician)
    assert status == 200
    assert len(indications) == 24  # type: ignore[arg-type]
    status, plan = _api(server, "/plan", clinician, {"indication": "chronic-migraine", "product": "BOTOX"})
    assert status == 200
    assert plan["total_units"] == 155  # type: ignore[index]
    status, error = _api(server, "/plan", clinician, {"indication": "chronic-migraine", "product": "DYSPORT"})
    assert status == 400
    assert "product" in error["detail"]  # type: ignore[index]
    researcher = _token(database_env, "demo-researcher")
    assert _api(server, "/patients", researcher)[0] == 403
    assert _api(server, "/patients/DEMO-0001", researcher)[0] == 403
    assert _api(server, "/patients/DEMO-0001", clinician)[0] == 200
    assert _api(server, "/indications", "not-a-token")[0] == 401


def test_openapi_documentation_is_served(server: str, page: Page) -> None:
    with urllib.request.urlopen(f"{server}/api/openapi.json", timeout=30) as response:
        schema = json.loads(response.read())
    assert {"/api/plan", "/api/check", "/api/patients", "/api/lots"} <= set(schema["paths"])
    page.goto(f"{server}/api/docs")
    expect(page.get_by_text("/api/plan").first).to_be_visible(timeout=15000)
    shoot(page, "07-api-docs")


def test_inventory_lists_lots_and_finds_a_recalled_lot(server: str, page: Page) -> None:
    sign_in(page, server, "demo-nurse")
    page.get_by_role("link", name="Inventory").click()
    expect(page.get_by_role("heading", name="Lots by expiry")).to_be_visible()
    lot = page.locator("table.list").last.locator("tbody tr td").nth(1).inner_text()
    page.get_by_label("Recall: lot number").fill(lot)
    page.get_by_role("button", name="Find patients").click()
    expect(page.get_by_text("administration(s)")).to_be_visible()
    expect(page.get_by_text("DEMO-").first).to_be_visible()
    shoot(page, "08-inventory")


def test_the_audit_history_of_a_chart(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(f"{server}/patients/DEMO-0002/")
    page.get_by_role("link", name="audit history").click()
    expect(page.get_by_role("heading", name="Audit history: Demo, Bruno")).to_be_visible()
    expect(page.get_by_text("session").first).to_be_visible()
    shoot(page, "09-audit")
