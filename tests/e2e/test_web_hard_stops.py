"""Hard stops that interrupt, in the browser: a plan the safety check blocks turns the plan builder and the record
form into a stop (an alert first, naming each blocking finding with its figures and source), the record button
stays disabled until a clinician writes an override, the server refuses the session without one (with and
without JavaScript), and the session page shows who overrode the block, when and why. A nurse sees the stop and
cannot record. Each test makes its own fictional patient, 300 U of BOTOX for cervical dystonia a week ago, so
that a 155 U chronic migraine session now passes BOTOX's 400 U in any 3 months."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.browser import (
    acknowledge_warnings,
    plan_for,
    plan_without_javascript,
    run_bont,
    session_count,
    shoot,
    sign_in,
)

OVERRIDE = "Clinician's override of the block"
# The blocking finding's figures: 300 U a week ago and 155 U planned, above 400 U in any 3 months.
BLOCKED_FIGURES = ("455 U", "400 U")


def _blocked_patient(database_env: dict[str, str], tmp_path: Path, mrn: str, family_name: str) -> None:
    """A fictional patient given 300 U of BOTOX for cervical dystonia a week ago, and a lot of BOTOX to draw
    from (its number is the MRN's, with -LOT)."""
    added = run_bont(
        database_env, "patient", "add", "--mrn", mrn, "--given-name", "Fictional", "--family-name", family_name,
        "--birth-date", "1975-06-12", "--sex", "female", "--weight-kg", "64",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    session = {
        "patient_mrn": mrn,
        "date": (date.today() - timedelta(days=7)).isoformat(),
        "clinician": "demo-clinician",
        "indication": "cervical-dystonia",
        "product": "BOTOX",
        "sites": [
            {"muscle": m, "side": side, "units": 50}
            for m in ("splenius-capitis", "trapezius", "levator-scapulae")
            for side in ("left", "right")
        ],
        "acknowledgements": dict.fromkeys(("unrecognized-term", "bilateral-neck-injection"), "reviewed"),
    }
    document = tmp_path / f"{mrn}.json"
    document.write_text(json.dumps(session), encoding="utf-8")
    recorded = run_bont(database_env, "session", "record", str(document))
    assert recorded.returncode == 0, recorded.stderr
    received = run_bont(
        database_env, "lot", "add", "--product", "BOTOX", "--lot", f"{mrn}-LOT", "--expiry", "2030-12-31",
        "--quantity", "2", "--vial-units", "200",
    )  # fmt: skip
    assert received.returncode == 0, received.stderr


def _expect_the_stop_first(page: Page) -> Locator:
    """The stop alert, before every form and card of the page, naming the blocking finding's figures."""
    stop = page.locator("#stop")
    expect(stop).to_have_class("alert alert-stop")
    expect(stop).to_have_attribute("role", "alert")
    for figure in BLOCKED_FIGURES:
        expect(stop).to_contain_text(figure)
    expect(stop.locator(".source")).to_contain_text("§2.1")  # the section of the label it rests on
    assert stop.evaluate(
        "stop => [...document.querySelectorAll('main form, main .card')]"
        ".every(e => stop.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    return stop


def _tab_until(page: Page, target: Locator, most: int = 200) -> None:
    """Press Tab from where the focus is until ``target`` has it."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError("Tab never reached the field")


def _fill_the_vial(page: Page, lot: str) -> None:
    page.get_by_label("vial 1", exact=True).select_option("")
    page.get_by_label("lot number, vial 1").fill(lot)
    page.get_by_label("units drawn, vial 1").fill("155")
    page.get_by_label("diluent mL, vial 1").fill("4")


def test_a_block_disables_recording_until_a_clinician_writes_an_override(
    server: str, page: Page, database_env: dict[str, str], tmp_path: Path
) -> None:
    _blocked_patient(database_env, tmp_path, "FICT-STOP-1", "Stopped")
    count = session_count(database_env, "FICT-STOP-1")
    sign_in(page, server, "demo-clinician")
    plan_for(page, server, "FICT-STOP-1")
    _expect_the_stop_first(page)
    expect(page.locator("#verdict")).to_have_text("block")
    # Most serious first: the block leads the findings.
    expect(page.locator("ul.findings").first.locator("li").first).to_have_class("block")
    record = page.get_by_role("button", name="Record this session…")
    expect(record).to_be_disabled()
    shoot(page, "90-plan-hard-stop")

    # By keyboard: the override field, then the record button.
    reason = page.get_by_label(OVERRIDE)
    page.locator("#content").focus()
    _tab_until(page, reason)
    reason.press_sequentially("  ")
    expect(record).to_be_disabled()  # spaces are no reason
    reason.press_sequentially("previous dose partly wasted, documented")
    expect(record).to_be_enabled()
    page.keyboard.press("Tab")
    expect(record).to_be_focused()
    page.keyboard.press("Enter")

    # The record form is a stop too; the override typed on the plan comes along.
    expect(page.get_by_role("heading", name="Record a session: Stopped, Fictional")).to_be_visible()
    _expect_the_stop_first(page)
    reason = page.get_by_label(OVERRIDE)
    expect(reason).to_have_value("previous dose partly wasted, documented")
    record = page.get_by_role("button", name="Record the session")
    expect(record).to_be_enabled()
    reason.fill("")
    expect(record).to_be_disabled()
    reason.fill("neurologist's decision: the dystonia dose was split")
    expect(record).to_be_enabled()
    page.locator("#content").focus()
    _tab_until(page, reason)
    page.keyboard.press("Tab")
    expect(record).to_be_focused()
    _fill_the_vial(page, "FICT-STOP-1-LOT")
    acknowledge_warnings(page)
    shoot(page, "91-record-hard-stop")
    record.click()

    expect(page.get_by_text("recorded.")).to_be_visible()
    assert session_count(database_env, "FICT-STOP-1") == count + 1
    override = page.locator("#override")
    expect(override).to_contain_text("Recorded over a blocking safety check")
    expect(override).to_contain_text("Overridden by demo-clinician, who recorded the session on")
    expect(override.locator("blockquote")).to_have_text("neurologist's decision: the dystonia dose was split")
    expect(override.locator("ul.blocking")).to_contain_text("455 U")
    shoot(page, "92-session-overridden")


def test_a_nurse_sees_the_stop_and_cannot_record_a_blocked_session(
    server: str, page: Page, database_env: dict[str, str], tmp_path: Path
) -> None:
    _blocked_patient(database_env, tmp_path, "FICT-STOP-2", "Nursed")
    count = session_count(database_env, "FICT-STOP-2")
    sign_in(page, server, "demo-nurse")
    plan_for(page, server, "FICT-STOP-2")
    expect(_expect_the_stop_first(page)).to_contain_text("Only a clinician may override a block")
    expect(page.get_by_label(OVERRIDE)).to_have_count(0)
    record = page.get_by_role("button", name="Record this session…")
    expect(record).to_be_disabled()

    # A page whose button was forced open reaches a record form that is a stop as well, with its button disabled;
    # forced again, the server refuses and writes nothing.
    record.evaluate("button => { button.disabled = false; }")
    record.click()
    expect(page.get_by_role("heading", name="Record a session: Nursed, Fictional")).to_be_visible()
    _expect_the_stop_first(page)
    expect(page.get_by_label(OVERRIDE)).to_have_count(0)
    record = page.get_by_role("button", name="Record the session")
    expect(record).to_be_disabled()
    _fill_the_vial(page, "FICT-STOP-2-LOT")
    acknowledge_warnings(page)
    record.evaluate("button => { button.disabled = false; }")
    record.click()
    expect(page.get_by_role("alert").filter(has_text="Nothing was recorded")).to_be_visible()
    expect(page.get_by_role("button", name="Record the session")).to_be_disabled()
    assert session_count(database_env, "FICT-STOP-2") == count


def test_without_javascript_the_server_refuses_a_block_without_an_override(
    server: str, browser: Browser, database_env: dict[str, str], tmp_path: Path
) -> None:
    _blocked_patient(database_env, tmp_path, "FICT-STOP-3", "Scriptless")
    count = session_count(database_env, "FICT-STOP-3")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, server, "demo-clinician")
    plan_without_javascript(page, server, "FICT-STOP-3")
    _expect_the_stop_first(page)
    expect(page.get_by_role("button", name="Record this session…")).to_be_disabled()
    # The override given, "Update the plan" shows the record button enabled.
    page.get_by_label(OVERRIDE).fill("previous dose partly wasted, documented")
    page.get_by_role("button", name="Update the plan").click()
    page.get_by_role("button", name="Record this session…").click()

    # The record button posts without a script: with the override emptied, the server refuses.
    expect(page.get_by_label(OVERRIDE)).to_have_value("previous dose partly wasted, documented")
    page.get_by_label(OVERRIDE).fill("")
    _fill_the_vial(page, "FICT-STOP-3-LOT")
    acknowledge_warnings(page)
    page.get_by_role("button", name="Record the session").click()
    expect(page.locator("#override_reason-error")).to_contain_text("only a clinician's written override")
    expect(page.get_by_label(OVERRIDE)).to_have_attribute(
        "aria-describedby", "override_reason-hint override_reason-error"
    )
    assert session_count(database_env, "FICT-STOP-3") == count
    page.get_by_label(OVERRIDE).fill("neurologist's decision: the dystonia dose was split")
    acknowledge_warnings(page)
    page.get_by_role("button", name="Record the session").click()
    expect(page.get_by_text("recorded.")).to_be_visible()
    expect(page.locator("#override blockquote")).to_have_text("neurologist's decision: the dystonia dose was split")
    assert session_count(database_env, "FICT-STOP-3") == count + 1
    context.close()
