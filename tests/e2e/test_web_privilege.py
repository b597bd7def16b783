"""Least privilege and identifiers out of URLs, in the real browser against the live demo server: the plan
builder posts (live and without a script), so no MRN or dose is in any address the browser asks for; billing
staff read claim lines without a way into the clinical page; a patient's diary shows no staff menu on a
device where staff are signed in; the research page suppresses small cells.

The module's own fictional patient (PRIV-…) keeps the demo patients other modules read as they are."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import chart_path, chart_url, run_bont, shoot, sign_in

MRN = "PRIV-0001"


@pytest.fixture(scope="module")
def privilege_patient(server: str, database_env: dict[str, str]) -> str:
    made = run_bont(
        database_env,
        "patient", "add", "--mrn", MRN, "--given-name", "Prisca", "--family-name", "Privacy",
        "--birth-date", "1976-06-07", "--sex", "female", "--weight-kg", "66",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return MRN


def test_the_plan_builder_puts_no_mrn_or_dose_in_any_address(server: str, page: Page, privilege_patient: str) -> None:
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, privilege_patient))
    page.locator(".actions").get_by_role("link", name="Plan a session").click()
    expect(page.get_by_label("Weight (kg)")).to_have_value("66")  # from the chart, opened by its own path
    page.get_by_label("Indication").select_option("chronic-migraine")
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    expect(page.get_by_role("heading", name="155 U of BOTOX in 31 sites")).to_be_visible()
    page.get_by_label("units for Procerus").fill("10")
    page.get_by_label("Reason for any deviation from the protocol").fill("prominent procerus pain")
    expect(page.locator("#plan-result h2").first).to_contain_text("160 U of BOTOX")
    page.get_by_role("button", name="Update the plan").click()  # the form itself posts too
    expect(page.locator("#plan-result h2").first).to_contain_text("160 U of BOTOX")
    shoot(page, "92-plan-posted")
    assert page.url == f"{server}/plan/"
    queries = [urlsplit(url).query for url in asked]
    assert not [q for q in queries if privilege_patient in q or "indication" in q or "units" in q], queries
    # "Record this session…" posts the plan to the record page: no choice of the plan in its address either.
    record = page.get_by_role("button", name="Record this session…")
    assert record.get_attribute("formaction") == chart_path(server, privilege_patient, "record/")
    record.click()
    expect(page.get_by_role("heading", name=re.compile("Record a session"))).to_be_visible()
    assert urlsplit(page.url).query == ""


def test_the_plan_builder_works_without_a_script(server: str, browser: Browser) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, server, "demo-clinician")
    page.goto(f"{server}/plan/")
    page.get_by_label("Indication").select_option("chronic-migraine")
    page.get_by_role("button", name="Update the plan").click()
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    page.get_by_role("button", name="Update the plan").click()
    expect(page.get_by_role("heading", name="155 U of BOTOX in 31 sites")).to_be_visible()
    assert page.url == f"{server}/plan/"
    with page.expect_popup() as popup:
        page.get_by_role("button", name="Print procedure sheet").click()
    sheet = popup.value
    sheet.wait_for_load_state()
    expect(sheet.get_by_text("Decision support, not a prescription")).to_be_visible()
    assert sheet.url == f"{server}/plan/sheet/"
    context.close()


def test_billing_reads_claim_lines_but_not_the_session_they_bill(server: str, page: Page) -> None:
    sign_in(page, server, "demo-billing")
    page.goto(f"{server}/billing/?start={date.today() - timedelta(days=60)}")  # the demo's latest sessions
    lines = page.locator("#claim-lines tbody tr")
    expect(lines.first).to_contain_text("DEMO-")  # the MRN and the name a claim needs
    expect(page.locator("#claim-lines a")).to_have_count(0)
    shoot(page, "92-billing-claims")
    session = lines.first.locator("td").first.inner_text().strip()
    answer = page.goto(f"{server}/sessions/{session}/")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", name="Not permitted")).to_be_visible()


def test_a_diary_opened_where_staff_are_signed_in_shows_no_staff_menu(
    server: str, page: Page, privilege_patient: str
) -> None:
    sign_in(page, server, "demo-nurse")
    page.goto(chart_url(server, privilege_patient))
    page.get_by_label("Patient diary link").select_option("bladder")
    page.get_by_role("button", name="Create a personal diary link").click()
    link = page.locator(".messages").inner_text().split("(shown once): ", 1)[1].strip()
    page.goto(link)  # the same browser, the nurse still signed in
    expect(page.get_by_role("heading", name="Your bladder diary")).to_be_visible()
    expect(page.locator("nav")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    expect(page.get_by_text("demo-nurse")).to_have_count(0)
    shoot(page, "92-diary-without-staff-menu")


def test_the_research_page_shows_small_cells_as_fewer_than_eleven(server: str, page: Page) -> None:
    sign_in(page, server, "demo-researcher")
    expect(page.get_by_role("heading", name="Registry (de-identified)")).to_be_visible()
    expect(page.get_by_text("Small cells are suppressed")).to_be_visible()
    counts = page.locator("td.num").all_inner_texts()
    assert counts
    assert all(text == "<11" or int(text) == 0 or int(text) >= 11 for text in counts), counts
    shoot(page, "92-research-suppressed")
