"""An adverse event corrected and then withdrawn from the chart in the real browser, by a nurse: the
withdrawn event struck through on the chart and on the clinic's list, and gone from the chart's warnings."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import Page, expect

from tests.e2e.browser import chart_url, run_bont, shoot, sign_in

MRN = "EVT-FICT-1"


def test_a_nurse_corrects_an_adverse_event_then_withdraws_it_and_it_leaves_the_chart(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    made = run_bont(
        database_env,
        "patient", "add", "--mrn", MRN, "--given-name", "Eve", "--family-name", "Fictional",
        "--birth-date", "1970-01-02", "--sex", "female",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    onset = (date.today() - timedelta(days=3)).isoformat()
    added = run_bont(
        database_env, "adverse-event", "add", "--mrn", MRN, "--event", "ptosis", "--onset", onset,
        "--severity", "mild", "--not-serious",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    sign_in(page, server, "demo-nurse")
    page.goto(chart_url(server, MRN))
    expect(page.get_by_text("Adverse event: ptosis (mild, not serious)")).to_be_visible()
    page.get_by_role("link", name="correct or withdraw").click()
    page.get_by_label("Severity").select_option("moderate")
    page.get_by_label("Outcome at the last observation").select_option("recovered/resolved")
    page.get_by_label("Notes").fill("x" * 4001)  # the box stops at its stated limit
    assert len(page.get_by_label("Notes").input_value()) == 4000
    page.get_by_label("Notes").fill("eyelid drop eased after two weeks")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.locator(".messages")).to_contain_text("Adverse event corrected")
    expect(page.get_by_text("Adverse event: ptosis (moderate, not serious)")).to_be_visible()
    page.get_by_role("link", name="correct or withdraw").click()
    page.get_by_role("button", name="Withdraw this adverse event").click()  # no reason, no tick
    expect(page.locator("#withdraw p.error").first).to_be_visible()
    page.get_by_label("Reason (at most 2000 characters)").fill("reported for the wrong patient")
    page.get_by_label("I confirm that this event was entered in error").check()
    page.get_by_role("button", name="Withdraw this adverse event").click()
    expect(page.locator(".messages")).to_contain_text("Adverse event withdrawn")
    expect(page.locator("li.event", has_text="ptosis")).to_have_count(0)  # no longer a warning
    expect(page.locator(".struck", has_text="Adverse event: ptosis (moderate, not serious)")).to_be_visible()
    page.get_by_role("link", name="Adverse events").click()
    row = page.get_by_role("row").filter(has_text=MRN)
    expect(row).to_have_class("withdrawn")
    expect(row).to_contain_text("withdrawn by demo-nurse: reported for the wrong patient")
    shoot(page, "86-adverse-event-withdrawn")
