"""The evidence library in the real browser, as a researcher uses it: a search from the menu to a study and its
PubMed record, the evidence map leading to a cell's studies, and an export and the evidence summary's PDF."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser import shoot, sign_in

PMID_PREEMPT_2 = "20647171"


def found_count(page: Page) -> int:
    count = re.match(r"[\d,]+", page.locator("#found-count").inner_text())
    assert count, "the page says how many it found"
    return int(count[0].replace(",", ""))


def test_a_researcher_searches_from_the_menu_and_opens_a_study_with_its_pubmed_record(server: str, page: Page) -> None:
    sign_in(page, server, "demo-researcher")
    page.locator("header nav").get_by_role("link", name="Evidence", exact=True).click()
    expect(page.get_by_role("heading", name="Evidence library")).to_be_visible()
    page.get_by_label("Words").fill("PREEMPT")
    page.get_by_label("Design").select_option("rct")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/evidence/\?q=PREEMPT&.*design=rct"))
    assert found_count(page) >= 2
    studies = page.locator("#studies tbody tr")
    expect(studies.filter(has_text="Aurora SK")).to_have_count(1)
    expect(studies.filter(has_text="Open-label study")).to_have_count(0)  # the design filter holds
    shoot(page, "30-evidence-search")
    page.get_by_role("link", name=re.compile("phase of the PREEMPT 2 trial")).click()
    expect(page.get_by_role("heading", name="Diener HC et al., Cephalalgia, 2010")).to_be_visible()
    pubmed = page.locator("#study-facts").get_by_role("link", name=PMID_PREEMPT_2)
    expect(pubmed).to_have_attribute("href", f"https://pubmed.ncbi.nlm.nih.gov/{PMID_PREEMPT_2}/")
    expect(pubmed).to_have_attribute("rel", "noopener")
    expect(page.locator("#study-levels")).to_contain_text("AAN 2016 Level A")
    shoot(page, "31-evidence-study")


def test_the_evidence_map_leads_from_a_cell_to_its_studies(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(f"{server}/evidence/map/")
    cell = page.locator("tr[data-indication='chronic-migraine'] td[data-product='onabotulinumtoxinA'] a").first
    expect(cell).to_contain_text("AAN 2016 Level A")
    studies = int(cell.locator(".count").inner_text())
    assert studies >= 10
    shoot(page, "32-evidence-map")
    page.set_viewport_size({"width": 390, "height": 800})
    box = page.locator(".map-box")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth"), "on a phone the map scrolls in its own box"
    assert page.evaluate("document.documentElement.scrollWidth") <= 400, "and the page itself does not"
    shoot(page, "33-evidence-map-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    cell.click()
    expect(page).to_have_url(re.compile(r"/evidence/\?indication=chronic-migraine&product=onabotulinumtoxinA$"))
    expect(page.get_by_label("Indication")).to_have_value("chronic-migraine")
    assert found_count(page) == studies


def test_a_search_exports_as_ris_and_the_evidence_summary_downloads_as_pdf(server: str, page: Page) -> None:
    sign_in(page, server, "demo-researcher")
    page.goto(f"{server}/evidence/?q=onabotulinumtoxinA+migraine")
    found = found_count(page)
    assert found > 0
    with page.expect_download() as download:
        page.locator(".exports").get_by_role("link", name="RIS").click()
    assert re.fullmatch(r"bont-studies-\d{4}-\d{2}-\d{2}\.ris", download.value.suggested_filename)
    ris = download.value.path().read_text(encoding="utf-8")
    assert len(re.findall(r"^TY  - ", ris, re.MULTILINE)) == found  # every study found, not one page
    assert f"AN  - {PMID_PREEMPT_2}" in ris  # PREEMPT 2 among them, by its PubMed number
    page.goto(f"{server}/evidence/trials/")
    expect(page.locator("#trials tbody tr").first).to_contain_text("as of")
    shoot(page, "34-evidence-trials")
    page.goto(f"{server}/evidence/indications/chronic-migraine/")
    expect(page.locator("#label-status")).to_contain_text("onabotulinumtoxinA (BOTOX): FDA-approved")
    expect(page.get_by_text("bont is decision support, not a prescriber").first).to_be_visible()
    shoot(page, "35-evidence-summary")
    pdf = page.request.get(server + str(page.get_by_role("link", name="Download PDF").get_attribute("href")))
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
