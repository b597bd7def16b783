"""The Research section in the real browser, as a researcher uses it: a cohort built with its size shown as the
criteria are typed, saved under a name, its analyses with a plot, a method and suppressed cells, and the
de-identified export downloaded (a form posted) as a zip that holds no identifier of the demo clinic."""

from __future__ import annotations

import re
import zipfile

from playwright.sync_api import Page, expect

from tests.e2e.browser import shoot, sign_in


def test_a_researcher_builds_saves_and_analyses_a_cohort_and_downloads_its_export(server: str, page: Page) -> None:
    sign_in(page, server, "demo-researcher")
    page.locator("header nav").get_by_role("link", name="Research", exact=True).click()
    expect(page.locator("#not-advice")).to_contain_text("not advice for any patient", ignore_case=True)
    page.get_by_label("Product").fill("onabotulinumtoxinA")
    size = page.locator("#cohort-size")
    # Nearly every demo patient had BOTOX: the few others could be counted by difference, so the size is withheld.
    expect(size).to_have_text(re.compile(r"Cohort size: (\d+|suppressed) patients, (\d+|suppressed) sessions"))
    page.get_by_label("Units per session from").fill("-5")
    expect(size).to_contain_text("units_from:")  # the field named, as typed
    page.get_by_label("Units per session from").fill("")
    page.get_by_label("Product").fill("")
    expect(size).to_have_text(re.compile(r"Cohort size: \d+ patients, \d+ sessions"))  # the whole clinic
    shoot(page, "40-research-builder")
    page.get_by_role("button", name="Run the analyses").click()
    page.get_by_label("Save this cohort as").fill("every-patient")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Research: cohort every-patient")).to_be_visible()
    expect(page.locator("#saved-cohorts")).to_have_count(0)
    plot = page.locator("#analysis-doses img.plot").first
    expect(plot).to_be_visible()
    expect(plot).to_have_attribute("alt", re.compile(r"Dose per session by cycle: BOTOX \(n sessions"))
    assert page.evaluate("document.querySelector('#analysis-doses img.plot').naturalWidth") > 0
    suppressed = page.locator("td.suppressed")
    assert suppressed.count() > 0
    expect(suppressed.first).to_have_text(re.compile(r"<11|suppressed"))
    expect(page.locator("#analysis-responders .suppression")).to_contain_text("suppressed")
    # The demo clinic is small: the responder rows publish no figure, and are folded apart from the table.
    expect(page.locator("#analysis-responders details.withheld summary")).to_contain_text("every figure suppressed")
    page.locator("#analysis-responders details.method summary").click()
    expect(page.locator("#analysis-responders details.method")).to_contain_text("Wilson")
    shoot(page, "41-research-analyses")
    expect(page.get_by_role("button", name="Download the analyses")).to_be_enabled()  # tested without a browser
    with page.expect_download() as download:  # a POST form with its CSRF token
        page.locator("#export-csv").click()
    assert download.value.suggested_filename == "bont-registry-SITE-csv.zip"
    with zipfile.ZipFile(download.value.path()) as archive:
        names = set(archive.namelist())
        assert {"manifest.json", "data-dictionary.csv", "k-anonymity.json", "sessions.csv"} <= names
        text = "".join(archive.read(name).decode("utf-8") for name in names)
    assert "DEMO-0" not in text  # no record number of the demo clinic's patients
    assert "onabotulinumtoxinA" in text
