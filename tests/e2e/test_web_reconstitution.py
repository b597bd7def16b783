"""Reconstitution in the browser as the label does it: the adult detrusor plan shows its two-step preparation
(diluent in the vial, then syringes topped up with saline) and records without the form refusing the plan's own
volumes; a diluent volume no vial could take is refused beside the field, in words."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.browser import acknowledge_warnings, chart_url, open_plan, run_bont, shoot, sign_in

MRN = "RECON-0001"  # a fictional patient of this module's own, so the demo patients other modules read stay as they are


def _register_patient_and_stock(database_env: dict[str, str]) -> None:
    if run_bont(database_env, "patient", "show", MRN, "--json").returncode == 0:
        return
    added = run_bont(
        database_env,
        "patient",
        "add",
        "--mrn",
        MRN,
        "--given-name",
        "Reina",
        "--family-name",
        "Fictional",
        "--birth-date",
        "1979-04-02",
        "--sex",
        "female",
        "--weight-kg",
        "68",
        "--condition",
        "N31.9",
        "--catheterizes",
    )
    assert added.returncode == 0, added.stderr
    stocked = run_bont(
        database_env,
        "lot",
        "add",
        "--product",
        "onabotulinumtoxinA",
        "--lot",
        "RECON-BOT200",
        "--expiry",
        "2030-12-31",
        "--quantity",
        "2",
        "--vial-units",
        "200",
    )
    assert stocked.returncode == 0, stocked.stderr


def test_adult_detrusor_plan_shows_the_label_preparation_and_records_its_own_volumes(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    _register_patient_and_stock(database_env)
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, MRN))
    page.locator(".actions").get_by_role("link", name="Plan a session").click()
    page.get_by_label("Indication").select_option("neurogenic-detrusor-overactivity")
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    expect(page.get_by_role("heading", name="200 U of BOTOX in 30 sites")).to_be_visible()

    preparation = page.locator("#preparation")
    expect(preparation.get_by_role("heading", name="Preparation")).to_be_visible()
    steps = preparation.locator("ol.steps li")
    expect(steps.nth(0)).to_have_text("Reconstitute the 200 U vial with 6 mL of diluent in the vial.")
    expect(steps.nth(1)).to_have_text(
        "Draw 2 mL of it into each of 3 syringes of 10 mL, then add 8 mL of saline to each."
    )
    expect(steps.nth(2)).to_contain_text("in all 30 mL at 6.67 U per mL")
    expect(steps.nth(3)).to_have_text("Inject 30 × 1 mL, about 6.67 U each.")
    expect(page.locator("#plan-result")).to_contain_text("200 U vial with 6 mL")
    expect(page.locator("#plan-result")).not_to_contain_text("with 30 mL")
    preparation.scroll_into_view_if_needed()
    shoot(page, "80-plan-ndo-preparation")

    page.get_by_role("button", name="Record this session").click()
    expect(page.get_by_label("diluent mL, vial 1")).to_have_value("6")
    page.get_by_label("vial 1", exact=True).select_option("")
    page.get_by_label("lot number, vial 1").fill("RECON-BOT200")
    page.get_by_label("units drawn, vial 1").fill("200")
    page.get_by_label("diluent mL, vial 1").fill("6")
    acknowledge_warnings(page)
    page.get_by_role("button", name="Record the session").click()
    expect(page.get_by_text("recorded.")).to_be_visible()
    shoot(page, "81-record-ndo-with-the-plan-diluent")


def test_a_thousandth_of_a_mL_of_diluent_is_refused_beside_the_field(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    open_plan(page, server, {"indication": "blepharospasm", "product": "incobotulinumtoxinA", "side": "both"})
    page.get_by_label("Vial size (U)").select_option("100")
    page.get_by_label("Diluent (mL").fill("0.001")
    refusal = page.locator("#diluent_ml ~ p.error")
    expect(refusal).to_have_text(
        "The diluent volume, 0.001 mL, is outside the label's range for a 100 U vial of XEOMIN: 1 to 4 mL "
        "(the dilution table on file is not yet verified against the label)"
    )
    expect(page.get_by_label("Diluent (mL")).to_have_value("0.001")
    shoot(page, "82-plan-xeomin-diluent-refused")
