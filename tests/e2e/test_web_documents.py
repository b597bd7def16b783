"""Printed documents in the real browser: the procedure sheet (the patient's identity, the body map, one page
on A4 and on Letter, the BLOCKED banner, blank lines without a patient) and the continuation report of a
patient whose chronic migraine has become episodic, as a page and as a PDF a payer receives."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser import chart_url, open_plan, run_bont, shoot, sign_in
from tests.pdf_text import pdf_text

MIGRAINE_PLAN = {"indication": "chronic-migraine", "product": "onabotulinumtoxinA"}
DEMO_NPI = "1234567893"  # the demo clinician's fictional NPI (bont.clinic.demo)
PAGE_OBJECT = re.compile(rb"/Type\s*/Page\b")  # one per page; the page tree is /Pages


def open_sheet(page: Page, server: str, mrn: str) -> Page:
    """The procedure sheet opened as a clinician does: from the plan builder's print link."""
    open_plan(page, server, MIGRAINE_PLAN, mrn=mrn)
    with page.expect_popup() as popup:
        page.get_by_role("button", name="Print procedure sheet").click()
    sheet = popup.value
    sheet.wait_for_load_state()
    return sheet


def test_the_procedure_sheet_names_the_patient_and_prints_on_one_page(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    # A fictional patient of this module, with chronic migraine coded and no session yet (the demo patients'
    # next sessions change as other modules record theirs).
    made = run_bont(
        database_env,
        "patient", "add", "--mrn", "DOC-SHEET-1", "--given-name", "Alma", "--family-name", "Sheet",
        "--birth-date", "1979-04-02", "--sex", "female", "--weight-kg", "61", "--condition", "G43.709",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    sign_in(page, server, "demo-clinician")
    sheet = open_sheet(page, server, "DOC-SHEET-1")
    identity = sheet.locator(".identity")
    for shown in ("Sheet, Alma", "DOC-SHEET-1", "1979-04-02", "G43.709", f"demo-clinician, NPI {DEMO_NPI}"):
        expect(identity).to_contain_text(shown)
    expect(sheet.get_by_text("No patient selected")).to_have_count(0)
    expect(sheet.locator(".blocked")).to_have_count(0)
    expect(sheet.locator("svg.canvas-drawing g.site").first).to_be_visible()
    assert sheet.locator("span.box").count() == 31
    shoot(sheet, "70-procedure-sheet-patient")
    for paper in ("A4", "Letter"):
        printed = sheet.pdf(format=paper)
        assert len(PAGE_OBJECT.findall(printed)) == 1, f"the chronic migraine sheet runs over one {paper} page"


def test_a_blocked_plan_prints_with_a_banner_that_cannot_be_missed(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    # A fictional patient of this module: cellulitis of the neck, an infection at the injection site.
    made = run_bont(
        database_env,
        "patient", "add", "--mrn", "DOC-BLOCKED-1", "--given-name", "Blanca", "--family-name", "Fictive",
        "--birth-date", "1971-05-06", "--sex", "female", "--weight-kg", "64", "--condition", "L03.221",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    sign_in(page, server, "demo-clinician")
    sheet = open_sheet(page, server, "DOC-BLOCKED-1")
    banner = sheet.locator(".blocked")
    expect(banner).to_contain_text("BLOCKED")
    expect(banner).to_contain_text("Not for administration until a clinician's written override")
    expect(banner).to_contain_text("infection at the injection site (L03.221)")
    assert banner.bounding_box()["y"] < 40  # type: ignore[index]  # at the top of the page
    heading = banner.locator("strong")
    assert float(heading.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 28
    assert heading.evaluate("e => getComputedStyle(e).color") == "rgb(204, 0, 0)"
    expect(sheet.locator(".identity")).to_contain_text("Fictive, Blanca")
    shoot(sheet, "71-procedure-sheet-blocked")
    assert len(PAGE_OBJECT.findall(sheet.pdf(format="A4"))) == 1


def test_a_sheet_without_a_patient_leaves_the_identity_to_fill_by_hand(server: str, page: Page) -> None:
    sign_in(page, server, "demo-nurse")
    open_plan(page, server, MIGRAINE_PLAN, action="/plan/sheet/")
    expect(page.get_by_text("No patient selected")).to_be_visible()
    for label in ("Patient name", "MRN", "Date of birth", "Clinician"):
        expect(page.locator(".identity .field", has_text=label)).to_have_count(1)
    expect(page.locator(".identity b")).to_have_count(1)  # the session date alone is printed
    shoot(page, "72-procedure-sheet-no-patient")


def test_the_continuation_report_says_stop_after_twenty_months_of_episodic_migraine(server: str, page: Page) -> None:
    # DEMO-0001 responds: about 7 headache days per 28 days in every cycle after a baseline of 19.
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, "DEMO-0001", "continuation/chronic-migraine/"))
    expect(page.locator("#report-advice")).to_contain_text("stop")
    expect(page.locator("#report-advice")).to_contain_text("A stopping rule is met")
    measure = page.locator(".report-measure[data-instrument='headache-days']")
    episodic = measure.locator("p.continuation", has_text="below 15 in every period measured")
    expect(episodic).to_contain_text("stop")
    expect(episodic).to_contain_text("3 consecutive months or more")
    expect(episodic).to_contain_text(re.compile(r"highest 7\.\d\d"))  # about 7 headache days each cycle
    expect(measure.locator("svg.outcome-plot")).to_be_visible()
    rows = measure.locator("table.cycles tbody tr")
    assert rows.count() >= 8
    expect(rows.first).to_contain_text("baseline")
    expect(rows.first).to_contain_text("19")
    second = measure.locator("table.cycles tr[data-cycle='2']")
    expect(second).to_contain_text("155 U BOTOX")
    expect(second).to_contain_text("-12 (63.1% better)")
    expect(page.locator("#report-diagnosis")).to_contain_text("G43.709")
    expect(page.locator("#report-prescriber")).to_contain_text(f"demo-clinician, NPI {DEMO_NPI}")
    expect(page.get_by_text("Signature of the prescriber")).to_be_visible()
    shoot(page, "73-continuation-report-stop")
    pdf = page.request.get(f"{page.url}?format=pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.body())
    for printed in (
        "A stopping rule is met",
        "G43.709",
        f"demo-clinician, NPI {DEMO_NPI}",
        "Signature of the prescriber",
        "-12 (63.1% better)",
    ):
        assert printed in text, printed
