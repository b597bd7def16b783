"""The audit trail in the real browser: a chart opened on the web or read through the API appears on the
patient's audit page with who, when and from where, beside the changes (the command line's named operator
included); the clinic-wide search is an administrator's page, pages by fifty, filters, and exports a CSV that
is itself logged as an export."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import api, chart_key, chart_url, run_bont, shoot, sign_in, token_for

MRN = "AUD-0001"


@pytest.fixture(scope="module")
def patient(database_env: dict[str, str]) -> str:
    """A fictional patient of this module, registered from the command line with a named operator."""
    made = run_bont(
        database_env,
        "--as", "demo-clinician",
        "patient", "add", "--mrn", MRN, "--given-name", "Ada", "--family-name", "Audit",
        "--birth-date", "1968-03-04", "--sex", "female", "--weight-kg", "70",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return MRN


def test_opening_a_chart_and_reading_it_through_the_api_show_on_its_audit_page(
    server: str, page: Page, database_env: dict[str, str], patient: str
) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, MRN))
    status, _ = api(server, f"/patients/{chart_key(server, MRN)}", token_for(database_env, "demo-nurse"))
    assert status == 200
    page.goto(chart_url(server, MRN, "audit/"))
    reads = page.locator("#reads tbody tr")
    expect(reads.filter(has_text="demo-clinician").filter(has_text="chart")).to_contain_text("read (web)")
    expect(reads.filter(has_text="demo-clinician").first).to_contain_text("127.0.0.1")
    expect(reads.filter(has_text="demo-nurse").filter(has_text="chart")).to_contain_text("read (api)")
    changes = page.locator("#changes tbody tr")
    expect(changes.filter(has_text="patient record")).to_contain_text("demo-clinician")  # the CLI's --as
    expect(changes.filter(has_text="weight 70")).to_contain_text("demo-clinician")
    shoot(page, "93-patient-audit")


def test_the_clinic_wide_audit_is_for_administrators_and_its_export_is_logged(
    server: str, page: Page, patient: str
) -> None:
    sign_in(page, server, "demo-clinician")
    refused = page.goto(f"{server}/audit/")
    assert refused is not None
    assert refused.status == 403
    page.context.clear_cookies()
    sign_in(page, server, "demo-admin")
    page.get_by_role("link", name="Audit").click()
    rows = page.locator("#audit-rows tbody tr")
    expect(rows).to_have_count(50)  # the demo clinic's trail runs over many pages
    page.locator("#next-page").click()
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(page.locator("#previous-page")).to_be_visible()
    shoot(page, "93-audit-search")

    page.get_by_label("User").fill("demo-admin")
    page.get_by_label("Kind").select_option("read")
    page.get_by_role("button", name="Search").click()
    expect(rows.first).to_contain_text("audit-search")  # the search itself is a logged read
    expect(rows.filter(has_text="patient-list").first).to_be_visible()  # the list it opened on signing in
    page.get_by_label("User").fill("")
    page.get_by_label("Kind").select_option("")
    page.get_by_label("Patient MRN").fill(MRN)
    page.get_by_role("button", name="Search").click()
    expect(rows.filter(has_text="patient record")).to_have_count(1)
    with page.expect_download() as download:
        page.locator("#export").click()
    exported = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert exported[0] == ["when", "who", "kind", "what", "change", "patient_mrn", "remote_address"]
    assert {line[5] for line in exported[1:]} == {MRN}
    page.get_by_label("Kind").select_option("export")
    page.get_by_role("button", name="Search").click()
    expect(rows.first).to_contain_text("audit-export")
    expect(rows.first).to_contain_text("demo-admin")
    shoot(page, "93-audit-export-logged")

    page.get_by_label("From").fill("2026-02-28")
    page.locator("#start").evaluate("field => { field.type = 'text'; field.value = '2026-02-30'; }")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("p.error")).to_have_text("From: is not a date (YYYY-MM-DD)")
    assert "?" not in page.url  # the filters, the MRN among them, were posted
