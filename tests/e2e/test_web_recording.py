"""The record form for real hands, in the browser: who gave the injections and when, apart from who records
them; vial rows only as many as the plan draws from, and more on demand; few Tab stops before the first dose;
and a clinician correcting a recorded session from its page. Each test makes its own fictional patient and lot,
so that the demo patients other browser tests read stay as they were."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import (
    acknowledge_warnings,
    api,
    chart_url,
    gauge_units,
    open_record,
    plan_for,
    plan_without_javascript,
    register,
    run_bont,
    shoot,
    sign_in,
    token_for,
)

BOTOX = "onabotulinumtoxinA"
WALL_CLOCK = "%Y-%m-%dT%H:%M"  # what a datetime-local field shows and sends
# The demo's clinician meets the skip link, then eleven links and buttons in the page header (brand, menu, API,
# her name for her password, sign out), then the record form's "back to the plan", the date given (month, day,
# year and its calendar button in Chromium), the time given (those and hour, minute, AM/PM) and who gave it:
# 25 stops, where issue 13 counted 39 when the vials and the safety check came before the doses.
TAB_STOPS_BEFORE_THE_FIRST_DOSE = 25
# The server's clinic time zone: BONT_TIME_ZONE, else the machine's (None: the local zone).
CLINIC_ZONE = ZoneInfo(os.environ["BONT_TIME_ZONE"]) if os.environ.get("BONT_TIME_ZONE") else None


def _receive(database_env: dict[str, str], lot: str) -> list[int]:
    received = run_bont(
        database_env, "lot", "add", "--product", "BOTOX", "--lot", lot, "--expiry", "2030-12-31",
        "--quantity", "2", "--vial-units", "200", "--json",
    )  # fmt: skip
    assert received.returncode == 0, received.stderr
    return list(json.loads(received.stdout)["vials"])


def _clinic_now() -> datetime:
    """The clinic's wall clock, to the minute, as a datetime-local field shows it."""
    return datetime.now(CLINIC_ZONE).replace(second=0, microsecond=0, tzinfo=None)


def _earlier_today(minutes: int) -> datetime:
    """A moment some minutes ago on the clinic's wall clock, kept on today's date: the form wants the time on
    the session's date."""
    now = _clinic_now()
    return max(now - timedelta(minutes=minutes), datetime.combine(now.date(), datetime.min.time()))


@pytest.fixture(scope="module")
def recorded(database_env: dict[str, str], server: str, tmp_path_factory: pytest.TempPathFactory) -> int:
    """A session of 40 U of BOTOX for cervical dystonia recorded today for a fictional patient, drawn from a
    vial of a lot of its own; yields the session id."""
    register(database_env, "FICT-REC-2", "Corrected")
    vial = _receive(database_env, "FICT-REC-LOT2")[0]
    opened = _earlier_today(30)
    document = {
        "patient_mrn": "FICT-REC-2",
        "date": opened.date().isoformat(),
        "given_at": _earlier_today(10).strftime(WALL_CLOCK),
        "given_by": "demo-nurse",
        "clinician": "demo-clinician",
        "indication": "cervical-dystonia",
        "product": "BOTOX",
        "sites": [{"muscle": "splenius-capitis", "side": side, "units": 20} for side in ("left", "right")],
        "draws": [{"vial": vial, "units": 40}],
        "openings": [{"vial": vial, "at": opened.strftime(WALL_CLOCK), "diluent_ml": 4}],
        "acknowledgements": dict.fromkeys(("unrecognized-term", "bilateral-neck-injection"), "reviewed"),
    }
    path = tmp_path_factory.mktemp("recording") / "session.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    made = run_bont(database_env, "session", "record", str(path), "--json")
    assert made.returncode == 0, made.stderr
    return int(json.loads(made.stdout)["session_id"])


def _tab_stops_to_first_dose(page: Page) -> list[str]:
    """What Tab visits from the top of the page until the first dose, each named by its tag and its text, label
    or name (a date field's parts each stop once, and are named the same)."""
    first_dose = page.locator("input.site-units").first
    visited = []
    while len(visited) < 80:
        page.keyboard.press("Tab")
        if first_dose.evaluate("input => input === document.activeElement"):
            return visited
        visited.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return e.tagName + ' ' + (e.getAttribute('name') || e.textContent.trim()); }"
            )
        )
    raise AssertionError(f"Tab never reached the first dose: {visited}")


def test_a_clinician_records_a_session_a_nurse_gave_at_a_typed_time(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    register(database_env, "FICT-REC-1", "Recorded")
    _receive(database_env, "FICT-REC-LOT1")
    sign_in(page, server, "demo-clinician")
    plan_for(page, server, "FICT-REC-1")
    page.get_by_role("button", name="Record this session").click()
    expect(page.get_by_role("heading", name="Record a session: Recorded, Fictional")).to_be_visible()
    # The doses come right after when and by whom: few Tab stops from the top of the page to the first dose.
    stops = _tab_stops_to_first_dose(page)
    assert len(stops) == TAB_STOPS_BEFORE_THE_FIRST_DOSE, " | ".join(stops)
    # The plan draws 155 U from one 200 U vial: one vial row; more only on demand.
    expect(page.locator("tr.vial-row")).to_have_count(1)
    page.get_by_role("button", name="Add a vial").click()
    expect(page.locator("tr.vial-row")).to_have_count(2)
    expect(page.get_by_label("lot number, vial 2")).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="Review the doses")).to_have_count(0)  # nothing was sent

    # Who gives and who records differ; the time is typed as the clinic's clock shows it.
    assert page.get_by_label("Given by").input_value() == "demo-clinician"
    given_at = _earlier_today(5)
    page.get_by_label("Given at").fill(given_at.strftime(WALL_CLOCK))
    page.get_by_label("Given by").select_option("demo-nurse")
    page.get_by_label("vial 1", exact=True).select_option("")
    page.get_by_label("lot number, vial 1").fill("FICT-REC-LOT1")
    page.get_by_label("units drawn, vial 1").fill("155")
    page.get_by_label("reconstituted at, vial 1").fill(_earlier_today(20).strftime(WALL_CLOCK))
    page.get_by_label("diluent mL, vial 1").fill("4")
    acknowledge_warnings(page)
    shoot(page, "80-record-form-given-by")
    page.get_by_role("button", name="Record the session").click()
    expect(page.get_by_text("recorded.")).to_be_visible()
    given_line = f"Given by demo-nurse at {given_at:%H:%M} · recorded by demo-clinician"
    expect(page.locator("#given")).to_have_text(given_line)
    expect(page.get_by_role("cell", name="FICT-REC-LOT1")).to_be_visible()
    shoot(page, "81-session-given-by-nurse")
    page.get_by_role("link", name="Recorded, Fictional (FICT-REC-1)").click()
    expect(page.locator("table.timeline tbody tr").first).to_contain_text(given_line)


def test_a_refused_time_or_injector_keeps_what_was_typed(server: str, page: Page, database_env: dict[str, str]) -> None:
    register(database_env, "FICT-REC-3", "Refused")
    sign_in(page, server, "demo-clinician")
    open_record(page, server, "FICT-REC-3")
    yesterday = (_clinic_now().date() - timedelta(days=1)).isoformat()
    page.get_by_label("Given at").fill(f"{yesterday}T09:00")
    page.get_by_label("units given in Procerus midline (site 3)").fill("4")
    page.get_by_role("button", name="Record the session").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was recorded")
    expect(page.locator("p.error").filter(has_text="is not on the date given")).to_be_visible()
    expect(page.get_by_label("Given at")).to_have_value(f"{yesterday}T09:00")
    expect(page.get_by_label("units given in Procerus midline (site 3)")).to_have_value("4")


def test_without_javascript_add_a_vial_shows_the_form_again_with_one_more_row(
    server: str, browser: Browser, database_env: dict[str, str]
) -> None:
    register(database_env, "FICT-REC-4", "Scriptless")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, server, "demo-clinician")
    # Without a script, as a clinician does it: the plan builder's own buttons post the plan, then the record.
    plan_without_javascript(page, server, "FICT-REC-4")
    page.get_by_role("button", name="Record this session…").click()
    expect(page.get_by_role("heading", name="Record a session: Scriptless, Fictional")).to_be_visible()
    rows = page.locator("tr.vial-row").count()
    page.get_by_label("units given in Procerus midline (site 3)").fill("4")
    page.get_by_role("button", name="Add a vial").click()
    expect(page.get_by_role("status").filter(has_text="Nothing was recorded yet")).to_be_visible()
    expect(page.locator("tr.vial-row")).to_have_count(rows + 1)
    expect(page.get_by_label("units given in Procerus midline (site 3)")).to_have_value("4")
    context.close()


def test_a_clinician_corrects_a_session_from_its_page_and_the_gauge_counts_the_correction(
    server: str, page: Page, recorded: int
) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, "FICT-REC-2"))
    before = gauge_units(page, BOTOX)
    page.goto(f"{server}/sessions/{recorded}/")
    page.get_by_role("link", name="Correct this session").click()
    expect(page.get_by_role("heading", name=f"Correct session {recorded}: Corrected, Fictional")).to_be_visible()
    # Filled in from the session: its doses, who gave it; its vial stays with the correction.
    expect(page.get_by_label("Given by")).to_have_value("demo-nurse")
    left = page.get_by_label("units given in Splenius capitis left (site 1)")
    expect(left).to_have_value("20")
    expect(page.locator("ul.carried")).to_contain_text("FICT-REC-LOT2")
    expect(page.locator("tr.vial-row")).to_have_count(0)

    left.fill("15")
    acknowledge_warnings(page)
    page.get_by_role("button", name="Record the correction").click()
    reason = page.get_by_label("Reason for the correction")
    expect(page.locator("p.error").filter(has_text="give the reason the session is corrected")).to_be_visible()
    expect(left).to_have_value("15")  # what was typed stays
    reason.fill("15 U were given on the left, not 20")
    acknowledge_warnings(page)
    shoot(page, "82-correct-session-form")
    page.get_by_role("button", name="Record the correction").click()
    expect(page.locator(".messages")).to_contain_text(f"Session {recorded} withdrawn and corrected by session")
    expect(page.locator("#session-total")).to_have_text("35 U of BOTOX")
    expect(page.get_by_text(f"This session corrects session {recorded}")).to_be_visible()
    shoot(page, "83-corrected-session")

    page.get_by_role("link", name="Corrected, Fictional (FICT-REC-2)").click()
    assert gauge_units(page, BOTOX) == before - 5
    struck = page.locator(f"table.timeline tr.withdrawn[data-session='{recorded}']")
    expect(struck).to_contain_text("15 U were given on the left, not 20")
    expect(struck).to_contain_text("corrected by session")
    shoot(page, "84-chart-after-correction")

    # The withdrawn session cannot be corrected again: said beside the reason, never a server error.
    page.goto(f"{server}/sessions/{recorded}/")
    expect(page.locator(".withdrawal-notice")).to_contain_text("15 U were given on the left, not 20")
    expect(page.get_by_role("link", name="Correct this session")).to_have_count(0)
    shoot(page, "85-withdrawn-session")
    answer = page.goto(f"{server}/sessions/{recorded}/correct/")
    assert answer is not None
    assert answer.status == 200
    expect(page.locator("p.error").filter(has_text="this session is withdrawn already")).to_be_visible()


def test_a_nurse_sees_no_correct_button_and_may_not_open_the_correction(
    server: str, page: Page, database_env: dict[str, str], tmp_path: Path
) -> None:
    register(database_env, "FICT-REC-5", "Nursed")
    document = {
        "patient_mrn": "FICT-REC-5",
        "date": _clinic_now().date().isoformat(),
        "clinician": "demo-nurse",
        "indication": "cervical-dystonia",
        "product": "BOTOX",
        "sites": [{"muscle": "splenius-capitis", "side": "left", "units": 20}],
        "acknowledgements": dict.fromkeys(("unrecognized-term",), "reviewed"),
    }
    path = tmp_path / "session.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    made = run_bont(database_env, "session", "record", str(path), "--json")
    assert made.returncode == 0, made.stderr
    session_id = json.loads(made.stdout)["session_id"]
    sign_in(page, server, "demo-nurse")
    page.goto(f"{server}/sessions/{session_id}/")
    expect(page.locator("#given")).to_have_text("Given by demo-nurse · recorded by demo-nurse")
    expect(page.get_by_role("link", name="Correct this session")).to_have_count(0)
    answer = page.goto(f"{server}/sessions/{session_id}/correct/")
    assert answer is not None
    assert answer.status == 403


def test_the_api_records_who_gave_a_session_and_refuses_anyone_who_does_not_inject(
    server: str, database_env: dict[str, str]
) -> None:
    register(database_env, "FICT-REC-6", "Api")
    token = token_for(database_env, "demo-clinician")
    given_at = _earlier_today(5)
    body: dict[str, object] = {
        "patient_mrn": "FICT-REC-6",
        "date": given_at.date().isoformat(),
        "given_at": given_at.strftime(WALL_CLOCK),
        "given_by": "demo-billing",
        "clinician": "demo-clinician",
        "indication": "cervical-dystonia",
        "product": "BOTOX",
        "sites": [{"muscle": "splenius-capitis", "side": "left", "units": 20}],
        "acknowledgements": {"unrecognized-term": "reviewed"},
    }
    status, refused = api(server, "/sessions", token, body)
    assert status == 400, refused
    assert str(refused).count("given_by") == 1
    status, made = api(server, "/sessions", token, {**body, "given_by": "demo-nurse"})
    assert status == 201, made
    assert isinstance(made, dict)
    status, shown = api(server, f"/sessions/{made['session_id']}", token)
    assert status == 200
    assert isinstance(shown, dict)
    assert (shown["given_by"], shown["recorded_by"]) == ("demo-nurse", "demo-clinician")
    typed = given_at.replace(tzinfo=CLINIC_ZONE) if CLINIC_ZONE else given_at.astimezone()
    assert datetime.fromisoformat(shown["given_at"]) == typed
