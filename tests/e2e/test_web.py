"""The clinic web app in a real browser (Debian's Chromium driven by Playwright) against a live server on
a fresh SQLite database with the fictional demo clinic (tests/e2e/conftest.py). Screenshots of the main pages
are saved under artifacts/screenshots for a person to look at."""

from __future__ import annotations

import csv
import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from bont.domain.knowledge import KnowledgeBase
from bont.services.planning import plan_session
from tests.databases import migrated_sqlite_database
from tests.e2e.browser import (
    SCREENSHOTS,
    acknowledge_warnings,
    api,
    chart_key,
    chart_path,
    chart_url,
    gauge_units,
    open_plan,
    open_record,
    plan_for,
    run_bont,
    serving,
    session_count,
    shoot,
    sign_in,
    sign_out,
    token_for,
)
from tests.unit import test_one_decision as one_decision


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
    # The next session per indication and product, from the safety check (as bont patient next says).
    expect(page.locator(".next-session").filter(has_text="Chronic migraine (BOTOX): last")).to_be_visible()
    # Each recorded condition, a code with its ICD-10-CM title.
    expect(page.locator(".conditions")).to_contain_text(
        "G43.709 — Chronic migraine without aura, not intractable, without status migrainosus"
    )
    expect(page.get_by_text("not a prescriber")).to_be_visible()
    shoot(page, "03-chart")


def test_a_researcher_sees_only_de_identified_counts(server: str, page: Page) -> None:
    sign_in(page, server, "demo-researcher")
    expect(page.get_by_role("heading", name="Registry (de-identified)")).to_be_visible()
    expect(page.get_by_text("DEMO-0001")).to_have_count(0)
    shoot(page, "04-research")
    response = page.goto(chart_url(server, "DEMO-0001"))
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not permitted")).to_be_visible()
    assert page.goto(f"{server}/patients/").status == 403  # type: ignore[union-attr]


def test_billing_staff_cannot_open_a_chart(server: str, page: Page) -> None:
    sign_in(page, server, "demo-billing")
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()  # claims are billing's page
    page.goto(f"{server}/patients/")  # a patient is found for a claim, with no way into the chart
    page.get_by_label("Search by name or MRN").fill("DEMO-0002")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("cell", name="DEMO-0002")).to_be_visible()
    assert "DEMO" not in page.url  # the search was posted
    expect(page.get_by_role("link", name="DEMO-0002")).to_have_count(0)
    assert page.goto(chart_url(server, "DEMO-0002")).status == 403  # type: ignore[union-attr]


def test_a_wrong_password_is_refused_without_saying_which_part(server: str, page: Page) -> None:
    sign_in(page, server, "demo-nurse", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("username or password is not right")


def test_pages_need_a_signed_in_user(server: str, page: Page) -> None:
    page.goto(chart_url(server, "DEMO-0001"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_chronic_migraine_plan_shows_its_31_sites_on_the_canvas_numbered_as_the_site_table(
    server: str, page: Page
) -> None:
    sign_in(page, server, "demo-clinician")
    page.get_by_role("link", name="Plan a session").click()
    page.get_by_label("Indication").select_option("chronic-migraine")
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    page.get_by_role("button", name="Update the plan").click()
    expect(page.get_by_role("heading", name="155 U of BOTOX in 31 sites")).to_be_visible()
    expect(page.locator("g.site")).to_have_count(31)
    # Each drawn site carries the number of its line in the site table, and each line as many sites as it lists.
    numbers = page.locator("g.site").evaluate_all("sites => sites.map(s => Number(s.dataset.row))")
    lines = page.locator("#plan-result table.list").last.locator("tbody tr")
    cells = [row.locator("td") for row in lines.all()]
    listed = {int(cell.nth(0).inner_text()): int(cell.nth(3).inner_text()) for cell in cells}
    assert {number: numbers.count(number) for number in set(numbers)} == listed
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
    recorded = run_bont(database_env, "session", "record", str(document))
    assert recorded.returncode == 0, recorded.stderr
    sign_in(page, server, "demo-clinician")
    open_plan(page, server, {"indication": "chronic-migraine", "product": "onabotulinumtoxinA"}, mrn="DEMO-0017")
    expect(page.locator("#verdict")).to_have_text("block")
    # The finding in words; its code stays in the page for the acknowledgement fields.
    code = page.locator(".finding-code[data-code='cumulative-dose-exceeds-maximum']")
    expect(code).to_have_text("Cumulative dose exceeds maximum")
    shoot(page, "06-plan-blocked")


def test_the_json_api_with_tokens_and_the_same_permissions(server: str, database_env: dict[str, str]) -> None:
    clinician = token_for(database_env, "demo-clinician")
    status, indications = api(server, "/indications", clinician)
    assert status == 200
    assert len(indications) == 24  # type: ignore[arg-type]
    status, plan = api(server, "/plan", clinician, {"indication": "chronic-migraine", "product": "BOTOX"})
    assert status == 200
    assert plan["total_units"] == 155  # type: ignore[index]
    status, error = api(server, "/plan", clinician, {"indication": "chronic-migraine", "product": "DYSPORT"})
    assert status == 400
    assert "product" in error["detail"]  # type: ignore[index]
    researcher = token_for(database_env, "demo-researcher")
    assert api(server, "/patients", researcher)[0] == 403
    assert api(server, f"/patients/{chart_key(server, 'DEMO-0001')}", researcher)[0] == 403
    assert api(server, f"/patients/{chart_key(server, 'DEMO-0001')}", clinician)[0] == 200
    assert api(server, "/indications", "not-a-token")[0] == 401


def test_the_api_gives_the_verdict_and_findings_of_the_one_check(
    server: str, database_env: dict[str, str], knowledge: KnowledgeBase, tmp_path: Path
) -> None:
    """/api/plan and /api/check join the table of tests/unit/test_one_decision.py: the same plans, the same
    verdicts and findings as bont plan, bont check, the builder's service and the recorder."""
    clinician = token_for(database_env, "demo-clinician")
    for case in one_decision.CASES:
        request = case.request
        age = case.patient.age_on(one_decision.DAY)
        body: dict[str, object] = {
            "indication": request.indication,
            "product": request.product,
            "date": one_decision.DAY.isoformat(),
            "variant": request.variant,
            "age_years": str(age),
            "weight_kg": str(case.patient.weight_kg),
            "side": request.side.value if request.side else None,
            "muscles": [{"muscle": m.muscle, "units": str(m.units), "sites": m.sites} for m in request.muscles],
        }
        status, planned = api(server, "/plan", clinician, body)
        assert status == 200, planned
        alone = plan_session(knowledge, replace(request, age_years=age, weight_kg=case.patient.weight_kg))
        assert one_decision.from_document(planned) == one_decision.from_report(alone.report), case.name  # type: ignore[arg-type]
        document = json.loads(one_decision.check_document(knowledge, case))
        status, checked = api(server, "/check", clinician, document)
        assert status == 200, checked
        assert one_decision.from_document(checked) == one_decision.via_planner(knowledge, case, tmp_path), case.name  # type: ignore[arg-type]


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
    page.goto(chart_url(server, "DEMO-0002"))
    page.get_by_role("link", name="audit history").click()
    expect(page.get_by_role("heading", name="Audit history: Demo, Bruno")).to_be_visible()
    expect(page.get_by_text("session").first).to_be_visible()
    shoot(page, "09-audit")


def test_a_clinician_records_a_session_drawing_from_a_vial_and_the_gauge_changes(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, "DEMO-0001"))
    before = gauge_units(page, "onabotulinumtoxinA")
    plan_for(page, server, "DEMO-0001")
    page.get_by_role("button", name="Record this session").click()
    expect(page.get_by_role("heading", name="Record a session: Demo, Alma")).to_be_visible()
    # A barcode scanner types the lot number; the vial comes from the scanned lot.
    page.get_by_label("vial 1", exact=True).select_option("")
    page.get_by_label("lot number, vial 1").fill("DEMO-STOCK-BOT200")
    page.get_by_label("units drawn, vial 1").fill("155")
    page.get_by_label("diluent mL, vial 1").fill("4")
    acknowledge_warnings(page)
    shoot(page, "10-record-session")
    page.get_by_role("button", name="Record the session").click()
    expect(page.get_by_text("recorded.")).to_be_visible()
    expect(page.locator("#session-total")).to_have_text("155 U of BOTOX")
    expect(page.get_by_role("cell", name="DEMO-STOCK-BOT200")).to_be_visible()
    expect(page.get_by_role("cell", name="J0585")).to_be_visible()
    shoot(page, "11-session")
    page.get_by_role("link", name="Demo, Alma (DEMO-0001)").click()
    assert gauge_units(page, "onabotulinumtoxinA") == before + 155
    page.goto(f"{server}/inventory/")
    expect(page.get_by_role("row").filter(has_text="DEMO-STOCK-BOT200").filter(has_text="45")).to_have_count(1)


def test_refused_record_fields_are_named_beside_them_and_nothing_is_saved(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    count = session_count(database_env, "DEMO-0008")
    sign_in(page, server, "demo-clinician")
    open_record(page, server, "DEMO-0008")
    page.get_by_label("vial 1", exact=True).select_option("")
    page.get_by_label("lot number, vial 1").fill("NO-SUCH-LOT")
    page.get_by_label("units given in Procerus midline (site 3)").fill("five")
    page.get_by_label("Date given").fill((date.today() + timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Record the session").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was recorded")
    expect(page.locator("tr.row-error")).to_contain_text("no lot of this product has that number")
    expect(page.locator("p.error").filter(has_text="is in the future")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Units given, site 3: is not a number")  # in words
    expect(page.get_by_role("row", name="Procerus midline").locator("p.error")).to_have_text("is not a number")
    # What was typed stays in the form.
    expect(page.get_by_label("lot number, vial 1")).to_have_value("NO-SUCH-LOT")
    shoot(page, "12-record-errors")
    assert session_count(database_env, "DEMO-0008") == count


def test_the_plan_follows_the_clinicians_changes_as_they_type(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    open_plan(page, server, {"indication": "chronic-migraine", "product": "onabotulinumtoxinA"})
    expect(page.get_by_role("heading", name="155 U of BOTOX in 31 sites")).to_be_visible()
    page.get_by_label("give Temporalis (optional)").check()
    expect(page.locator("#plan-errors")).to_contain_text("choose the side")
    page.get_by_label("side for Temporalis (optional)").select_option("right")
    expect(page.locator("#plan-result h2").first).to_contain_text("32 sites")
    page.get_by_label("units for Procerus").fill("10")
    expect(page.locator("#plan-errors")).to_contain_text("needs a written reason")
    page.get_by_label("Reason for any deviation from the protocol").fill("prominent procerus pain")
    expect(page.locator("#plan-errors")).to_be_empty()
    heading = page.locator("#plan-result h2").first
    expect(heading).to_contain_text("U of BOTOX")
    assert "155 U" not in heading.inner_text()
    shoot(page, "13-plan-live")


def test_the_procedure_sheet_prints_from_the_plan(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    open_plan(page, server, {"indication": "chronic-migraine", "product": "onabotulinumtoxinA"}, mrn="DEMO-0001")
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security" in message.text else None)
    with page.expect_popup() as popup:
        page.get_by_role("button", name="Print procedure sheet").click()
    sheet = popup.value
    sheet.wait_for_load_state()
    expect(sheet.get_by_text("Decision support, not a prescription")).to_be_visible()
    assert sheet.evaluate("getComputedStyle(document.querySelector('h1')).fontSize") != "32px"  # the sheet's own styles
    shoot(sheet, "14-procedure-sheet")
    assert not violations


def test_an_adverse_event_is_reported_from_the_chart(server: str, page: Page) -> None:
    sign_in(page, server, "demo-nurse")
    page.goto(chart_url(server, "DEMO-0003"))
    page.get_by_role("link", name="Report an adverse event").click()
    page.get_by_role("button", name="Record the event").click()
    expect(page.locator("p.error").filter(has_text="describe the event")).to_be_visible()
    expect(page.locator("p.error").filter(has_text="choose how severe it was")).to_be_visible()
    expect(page.locator("p.error").filter(has_text="say whether it was serious")).to_be_visible()
    page.get_by_label("Event").fill("ptosis")
    page.get_by_label("Onset").fill((date.today() - timedelta(days=1)).isoformat())
    page.get_by_label("Severity").select_option("mild")
    page.get_by_label("not serious", exact=True).check()
    page.get_by_label("Suspected session").select_option(index=1)
    shoot(page, "15-adverse-event")
    page.get_by_role("button", name="Record the event").click()
    expect(page.get_by_text("Adverse event recorded.")).to_be_visible()
    expect(page.get_by_text("Adverse event: ptosis (mild, not serious)")).to_be_visible()
    page.get_by_role("link", name="Adverse events").click()
    expect(page.get_by_role("row").filter(has_text="DEMO-0003").filter(has_text="ptosis")).to_have_count(1)
    shoot(page, "16-adverse-events")


def test_billing_staff_see_claim_lines_and_export_them(server: str, page: Page) -> None:
    sign_in(page, server, "demo-billing")
    page.get_by_role("link", name="Billing", exact=True).click()
    page.get_by_label("From").fill((date.today() - timedelta(days=800)).isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#claim-lines tbody tr").first).to_be_visible()
    expect(page.get_by_role("cell", name="JW").first).to_be_visible()
    expect(page.get_by_role("cell", name="1234567893").first).to_be_visible()  # the rendering NPI
    shoot(page, "17-billing")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("session_id,date_of_service,patient_mrn,patient_name,icd10_cm,code")
    assert len(text.splitlines()) > 100
    rows = list(csv.DictReader(text.splitlines()))
    assert all(row["billing_units"].isdigit() for row in rows)  # whole billing units only
    assert "1234567893" in {row["rendering_npi"] for row in rows}  # the demo clinician's
    # A session by a clinician with no NPI on file (other modules' fictional users) says so on its claim.
    without_npi = {row["session_id"] for row in rows if not row["rendering_npi"]}
    assert all(any("NPI" in row["note"] for row in rows if row["session_id"] == s) for s in without_npi)
    assert any(row["ndc_11"] for row in rows)
    # The page shows the export's lines 200 at a time, its totals over them all, and keeps the period when paging.
    expect(page.get_by_role("heading", name=f"Claim lines ({len(rows)} in all, 200 a page)")).to_be_visible()
    expect(page.locator("#claim-lines tbody tr")).to_have_count(200)
    totals: dict[str, int] = {}
    for row in rows:
        code = row["code"] + (f"-{row['modifier']}" if row["modifier"] else "")
        totals[code] = totals.get(code, 0) + int(row["billing_units"])
    expect(page.locator("main .card li")).to_have_text([f"{code}: {n:,} units" for code, n in sorted(totals.items())])
    chosen = page.get_by_label("From").input_value()
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text(f"Page 2 of 3 (201–400 of {len(rows)})")).to_be_visible()
    expect(page.get_by_label("From")).to_have_value(chosen)
    expect(page.locator("#claim-lines tbody tr")).to_have_count(200)
    shoot(page, "17-billing-page-2")
    assert page.goto(f"{server}/plan/").status == 403  # type: ignore[union-attr]


def test_sessions_through_the_json_api(server: str, database_env: dict[str, str]) -> None:
    clinician = token_for(database_env, "demo-clinician")
    status, sessions = api(server, chart_path(server, "DEMO-0002", "sessions"), clinician)
    assert status == 200
    assert sessions  # type: ignore[truthy-function]
    first = sessions[0]  # type: ignore[index]
    status, detail = api(server, f"/sessions/{first['id']}", clinician)
    assert status == 200
    assert detail["sites"]  # type: ignore[index]
    assert detail["draws"]  # type: ignore[index]
    body = {
        "patient_mrn": "DEMO-0002",
        "date": date.today().isoformat(),
        "clinician": "demo-nurse",
        "indication": "cervical-dystonia",
        "product": "DYSPORT",
        "sites": [{"muscle": "splenius-capitis", "side": "left", "units": 100}],
    }
    assert api(server, "/sessions", clinician, body)[0] == 403  # only as oneself
    researcher = token_for(database_env, "demo-researcher")
    assert api(server, chart_path(server, "DEMO-0002", "sessions"), researcher)[0] == 403
    assert api(server, "/sessions", clinician, {**body, "clinician": "demo-clinician", "sites": []})[0] == 422
    # Two days after its last session: the check refuses (interval warnings unacknowledged, or a block).
    count = session_count(database_env, "DEMO-0002")
    status, refused = api(server, "/sessions", clinician, {**body, "clinician": "demo-clinician"})
    assert status in (400, 409)
    assert refused["detail"].split(":")[0] in ("acknowledgements", "override_reason")  # type: ignore[index]
    assert session_count(database_env, "DEMO-0002") == count


MILD = ("--severity", "mild", "--not-serious")


def _latest_session(server: str, token: str, mrn: str) -> dict[str, Any]:
    status, sessions = api(server, chart_path(server, mrn, "sessions"), token)
    assert status == 200
    return [s for s in sessions if not s["withdrawn_reason"]][-1]  # type: ignore[union-attr, index]


def test_withdrawing_a_session_through_the_api_takes_a_clinician_and_a_reason_and_stops_it_counting(
    server: str, database_env: dict[str, str]
) -> None:
    clinician, nurse = token_for(database_env, "demo-clinician"), token_for(database_env, "demo-nurse")
    session = _latest_session(server, clinician, "DEMO-0020")
    path = f"/sessions/{session['id']}/withdraw"
    status, chart = api(server, f"/patients/{chart_key(server, 'DEMO-0020')}", clinician)
    counted = len(chart["sessions"])  # type: ignore[index]
    assert api(server, path, nurse, {"reason": "entered in error"}) == (
        403,
        {"detail": "your role does not allow this"},
    )
    assert api(server, path, clinician, {"reason": "  "})[1] == {
        "detail": "reason: give the reason the session is withdrawn"
    }
    assert api(server, "/sessions/987654/withdraw", clinician, {"reason": "entered in error"})[0] == 404
    status, withdrawn = api(server, path, clinician, {"reason": "entered for the wrong patient"})
    assert status == 200
    assert (withdrawn["withdrawn_reason"], withdrawn["withdrawn_by"]) == (  # type: ignore[index]
        "entered for the wrong patient",
        "demo-clinician",
    )
    assert api(server, path, clinician, {"reason": "again"}) == (
        409,
        {"detail": "session: this session is already withdrawn"},
    )
    status, chart = api(server, f"/patients/{chart_key(server, 'DEMO-0020')}", clinician)
    assert len(chart["sessions"]) == counted - 1  # type: ignore[index]


def test_correcting_a_session_through_the_api_withdraws_it_and_records_the_correction_linked(
    server: str, database_env: dict[str, str]
) -> None:
    clinician = token_for(database_env, "demo-clinician")
    latest = _latest_session(server, clinician, "DEMO-0021")
    status, original = api(server, f"/sessions/{latest['id']}", clinician)
    assert status == 200
    body: dict[str, Any] = {
        "patient_mrn": "DEMO-0021",
        "date": original["date"],  # type: ignore[index]
        "clinician": original["clinician"],  # type: ignore[index]
        "indication": original["indication"],  # type: ignore[index]
        "product": original["product"],  # type: ignore[index]
        "sites": [{**site, "units": site["units"] * 0.9} for site in original["sites"]],  # type: ignore[index]
        "reason": "90% of the plan was given",
    }
    path = f"/sessions/{latest['id']}/correction"
    assert api(server, path, clinician, {**body, "reason": ""})[1] == {
        "detail": "reason: give the reason the session is corrected"
    }
    status, corrected = api(server, path, clinician, body)
    if status == 400 and corrected["detail"].startswith("acknowledgements:"):  # type: ignore[index]
        # The correction meets the check's warnings again: each is acknowledged, as on the record form.
        codes = corrected["detail"].split("reason: ", 1)[1].split(";")[0].split(", ")  # type: ignore[index]
        body["acknowledgements"] = dict.fromkeys(codes, "reviewed again for the correction")
        status, corrected = api(server, path, clinician, body)
    assert status == 201, corrected
    new_id = corrected["session_id"]  # type: ignore[index]
    assert corrected == {"session_id": new_id, "corrects": latest["id"]}
    status, withdrawn = api(server, f"/sessions/{latest['id']}", clinician)
    assert withdrawn["withdrawn_reason"] == "90% of the plan was given"  # type: ignore[index]
    assert withdrawn["corrected_by"] == new_id  # type: ignore[index]
    status, replacement = api(server, f"/sessions/{new_id}", clinician)
    assert replacement["corrects"] == latest["id"]  # type: ignore[index]
    assert replacement["draws"] == original["draws"]  # type: ignore[index]  # the vials drawn once, kept
    assert api(server, path, clinician, body)[0] == 409


def test_adverse_events_and_outcomes_are_corrected_and_withdrawn_through_the_api(
    server: str, database_env: dict[str, str]
) -> None:
    nurse, billing = token_for(database_env, "demo-nurse"), token_for(database_env, "demo-billing")
    onset = (date.today() - timedelta(days=1)).isoformat()
    added = run_bont(
        database_env, "adverse-event", "add", "--mrn", "DEMO-0022", "--event", "ptosis", "--onset", onset, *MILD
    )
    assert added.returncode == 0, added.stderr
    event = f"/adverse-events/{added.stdout.split()[2]}"
    assert api(server, event, billing, {"severity": "moderate"}, "PATCH")[0] == 403
    assert api(server, event, nurse, {"severity": "serious"}, "PATCH")[1]["detail"].startswith(  # type: ignore[index]
        "severity: is the intensity"
    )
    status, corrected = api(server, event, nurse, {"severity": "moderate", "outcome": "resolved"}, "PATCH")
    assert status == 200
    assert [corrected[key] for key in ("severity", "outcome", "serious")] == ["moderate", "resolved", False]  # type: ignore[index]
    status, withdrawn = api(server, f"{event}/withdraw", nurse, {"reason": "another patient's event"})
    assert (status, withdrawn["withdrawn_by"]) == (200, "demo-nurse")  # type: ignore[index]
    assert api(server, event, nurse, {"severity": "severe"}, "PATCH")[0] == 409
    listed = run_bont(database_env, "outcome", "list", "DEMO-0022", "--json")
    assert listed.returncode == 0, listed.stderr
    outcome = next(o for o in json.loads(listed.stdout) if not o["withdrawn"])  # a 0–10 pain rating
    correction = f"/outcomes/{outcome['id']}/correction"
    right = {"value": "4", "date": outcome["date"], "reason": "typed one point low"}
    assert api(server, correction, billing, right)[0] == 403
    assert api(server, correction, nurse, {**right, "value": "11"})[1]["detail"].startswith("value:")  # type: ignore[index]
    status, corrected_outcome = api(server, correction, nurse, right)
    assert (status, corrected_outcome["corrects"]) == (201, outcome["id"])  # type: ignore[index]
    assert api(server, correction, nurse, right)[0] == 409
    assert api(server, "/outcomes/987654/correction", nurse, right)[0] == 404
    path = f"/outcomes/{corrected_outcome['id']}/withdraw"  # type: ignore[index]
    assert api(server, path, billing, {"reason": "entered in error"})[0] == 403
    status, withdrawn = api(server, path, nurse, {"reason": "entered for the wrong patient"})
    assert (status, withdrawn["withdrawn_by"]) == (200, "demo-nurse")  # type: ignore[index]
    assert api(server, path, nurse, {"reason": "again"})[0] == 409


def test_a_clinician_withdraws_a_session_from_its_page_and_the_chart_gauge_drops(
    server: str, page: Page, browser: Browser
) -> None:
    # Only a clinician withdraws a session that was given: a nurse sees the session but not the form.
    nurse_context = browser.new_context(viewport={"width": 1280, "height": 900})
    nurse = nurse_context.new_page()
    sign_in(nurse, server, "demo-nurse")
    nurse.goto(chart_url(server, "DEMO-0011"))
    nurse.locator("table.timeline tbody tr").first.get_by_role("link").click()
    expect(nurse.locator("#session-total")).to_be_visible()
    expect(nurse.get_by_role("button", name="Withdraw this session")).to_have_count(0)
    nurse_context.close()

    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, "DEMO-0011"))
    before = gauge_units(page, "onabotulinumtoxinA")
    latest = page.locator("table.timeline tbody tr").first
    latest.get_by_role("link").click()
    given = float(page.locator("#session-total").inner_text().split(" U", 1)[0])
    assert 0 < given <= before  # the latest session is inside the cumulative window
    page.get_by_role("button", name="Withdraw this session").click()
    expect(page.locator("p.error").filter(has_text="give the reason the session is withdrawn")).to_be_visible()
    expect(page.locator("p.error").filter(has_text="tick to confirm")).to_be_visible()
    page.get_by_label("Reason").fill("entered for the wrong patient")
    page.get_by_label("I confirm that this session was entered in error").check()
    shoot(page, "40-withdraw-session")
    page.get_by_role("button", name="Withdraw this session").click()
    expect(page.locator(".messages")).to_contain_text("withdrawn")
    expect(page.locator(".withdrawal-notice")).to_contain_text(
        "Withdrawn by demo-clinician: entered for the wrong patient"
    )
    expect(page.get_by_role("button", name="Withdraw this session")).to_have_count(0)
    expect(page.get_by_text("Nothing to bill.")).to_be_visible()
    page.get_by_role("link", name="Demo, Kaya (DEMO-0011)").click()
    assert gauge_units(page, "onabotulinumtoxinA") == before - given
    struck = page.locator("table.timeline tr.withdrawn")
    expect(struck).to_have_count(1)
    expect(struck).to_contain_text("withdrawn by demo-clinician: entered for the wrong patient")
    shoot(page, "41-chart-after-withdrawal")


def test_every_demo_indication_shows_its_outcomes_over_cycles(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    for number in range(1, 28):
        html = page.request.get(chart_url(server, f"DEMO-{number:04d}")).text()
        assert 'class="outcome" data-indication=' in html, number
        assert html.count('class="point"') >= 2, number  # follow-ups after more than one session
    page.goto(chart_url(server, "DEMO-0001"))
    expect(page.locator("[data-verdict='headache-days']")).to_have_text("responder")
    page.locator("#outcomes").screenshot(path=str(SCREENSHOTS / "18-chart-outcomes.png"))


def test_a_clinician_records_an_outcome_and_a_wrong_total_is_refused(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, "DEMO-0005"))
    page.locator("[data-indication='cervical-dystonia']").get_by_role("link", name="Record an outcome").click()
    page.get_by_label("Value").fill("99")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was recorded")
    expect(page.locator("p.error").first).to_be_visible()
    shoot(page, "19-outcome-error")
    page.get_by_label("Value").fill("20")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("TWSTRS total")
    expect(page.locator("[data-verdict='twstrs']")).to_have_text("responder")


def test_the_continuation_report_prints_as_a_page_and_a_pdf(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, "DEMO-0001"))
    page.locator("[data-indication='chronic-migraine']").get_by_role("link", name="Continuation report").click()
    expect(page.get_by_role("heading", name="Continuation report: Chronic migraine")).to_be_visible()
    expect(page.get_by_text("19.00 → 7.00").first).to_be_visible()
    expect(page.get_by_role("heading", name="Doses")).to_be_visible()
    shoot(page, "20-continuation-report")
    page.emulate_media(media="print")
    shoot(page, "21-continuation-report-print")
    pdf = page.request.get(f"{page.url}?format=pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")


def test_a_patient_fills_a_headache_diary_through_a_personal_link(server: str, page: Page, browser: Browser) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, "DEMO-0008"))
    page.get_by_label("Patient diary link").select_option("headache")
    page.get_by_role("button", name="Create a personal diary link").click()
    link = page.locator(".messages").inner_text().split("(shown once): ", 1)[1].strip()
    patient = browser.new_context().new_page()  # no sign-in: the link is the key
    patient.goto(link)
    expect(patient.get_by_role("heading", name="Your headache diary")).to_be_visible()
    assert "DEMO-0008" not in patient.content()
    assert "Hugo" not in patient.content()
    patient.get_by_label("Hours of headache").fill("lots")
    patient.get_by_role("button", name="Save this day").click()
    expect(patient.locator("p.error")).to_contain_text("is not a number of hours")
    patient.get_by_label("Hours of headache").fill("5")
    patient.get_by_label("throbbing").check()
    patient.get_by_label("nausea or vomiting").check()
    patient.get_by_role("button", name="Save this day").click()
    expect(patient.get_by_text("Thank you.")).to_be_visible()
    shoot(patient, "22-patient-diary")
    assert patient.goto(f"{server}/diary/not-a-real-link/").status == 404  # type: ignore[union-attr]


def test_follow_up_lists_and_de_identified_responder_rates(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    page.get_by_role("link", name="Follow-up").click()
    expect(page.get_by_role("heading", name="Next session allowed")).to_be_visible()
    shoot(page, "23-follow-up")
    sign_out(page)
    sign_in(page, server, "demo-researcher")
    expect(page.locator("#responder-rates")).to_contain_text("Chronic migraine")
    assert "DEMO-" not in page.content()
    shoot(page, "24-responder-rates")


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def berlin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A clinic in Berlin (UTC+1 in winter), whatever zone this machine runs in: a nurse, a patient, a lot."""
    folder = tmp_path_factory.mktemp("berlin")
    env = {**os.environ, "DATABASE_URL": migrated_sqlite_database(folder), "BONT_TIME_ZONE": "Europe/Berlin"}
    expiry = (date.today() + timedelta(days=400)).isoformat()
    for command in (
        "user add nurse-berlin --role nurse --password berlin-password",
        "patient add --mrn BERLIN-1 --given-name Test --family-name Berlin --birth-date 1975-05-05 --sex female",
        f"lot add --product BOTOX --lot BERLIN-LOT --expiry {expiry} --quantity 2 --vial-units 200",
    ):
        done = run_bont(env, *command.split())
        assert done.returncode == 0, done.stderr
    return env


@pytest.fixture(scope="module")
def berlin_server(berlin_env: dict[str, str]) -> Iterator[str]:
    with serving(berlin_env, "--no-demo") as url:
        yield url


def _wall_clock(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M}"  # what a datetime-local field shows and sends


def test_a_nurse_in_berlin_types_the_true_reconstitution_time_and_it_is_not_in_the_future(
    berlin_server: str, berlin_env: dict[str, str], page: Page
) -> None:
    sign_in(page, berlin_server, "nurse-berlin", "berlin-password")
    open_record(page, berlin_server, "BERLIN-1")
    opened_at = page.get_by_label("reconstituted at, vial 1")
    # The form offers the clinic's wall-clock time, not the server's or UTC's.
    offered = datetime.fromisoformat(opened_at.input_value()).replace(tzinfo=BERLIN)
    assert abs(offered - datetime.now(BERLIN)) < timedelta(minutes=2)

    opened_at.fill(_wall_clock(datetime.now(BERLIN) + timedelta(minutes=30)))
    acknowledge_warnings(page)
    page.get_by_role("button", name="Record the session").click()
    expect(page.locator("tr.row-error")).to_contain_text("is in the future")
    assert session_count(berlin_env, "BERLIN-1") == 0

    open_record(page, berlin_server, "BERLIN-1")
    page.get_by_label("reconstituted at, vial 1").fill(_wall_clock(datetime.now(BERLIN) - timedelta(minutes=30)))
    acknowledge_warnings(page)
    page.get_by_role("button", name="Record the session").click()
    expect(page.get_by_text("recorded.")).to_be_visible()
    assert session_count(berlin_env, "BERLIN-1") == 1


def test_a_nurse_registers_a_patient_with_a_coded_condition_and_a_medicine_then_records_a_new_weight(
    server: str, page: Page
) -> None:
    sign_in(page, server, "demo-nurse")
    page.get_by_role("link", name="New patient").click()
    expect(page.get_by_role("heading", name="New patient")).to_be_visible()
    page.get_by_label("MRN").fill("FICT-REG-1")
    page.get_by_label("Given name").fill("Fictional")
    page.get_by_label("Family name").fill("Registered")
    page.get_by_label("Birth date").fill("1984-05-06")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Weight (kg", exact=False).fill("NaN")
    page.get_by_label("Condition 1", exact=True).fill("L03.999")
    page.get_by_label("Medicines").fill("sertraline")
    page.get_by_role("button", name="Register patient").click()
    # Refused: each message beside its field, tied to it for screen readers, and what was typed is kept.
    expect(page.locator("#weight_kg-error")).to_have_text("must be a number more than 0 up to 500 (kg)")
    expect(page.get_by_label("Weight (kg", exact=False)).to_have_attribute("aria-describedby", "weight_kg-error")
    expect(page.get_by_label("MRN")).to_have_value("FICT-REG-1")
    expect(page.get_by_label("Medicines")).to_have_value("sertraline")
    page.get_by_label("Weight (kg", exact=False).fill("61.5")
    page.get_by_role("button", name="Register patient").click()
    condition = page.get_by_label("Condition 1", exact=True)
    expect(page.locator("[id='condition:0-error']")).to_contain_text("ICD-10-CM")
    expect(condition).to_have_value("L03.999")
    expect(condition).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Family name")).to_have_value("Registered")
    shoot(page, "50-new-patient-refused")
    # The picker titles a code as it is typed.
    condition.fill("l03221")
    expect(page.locator("[id='condition:0-description']")).to_have_text("Cellulitis of neck")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_text("Patient registered.")).to_be_visible()
    expect(page.get_by_role("heading", name="Registered, Fictional")).to_be_visible()
    expect(page.locator(".conditions")).to_contain_text("L03.221 — Cellulitis of neck")
    expect(page.locator(".medications")).to_contain_text("sertraline")
    expect(page.locator(".banner-weight")).to_contain_text("61.5 kg")
    shoot(page, "51-new-patient-chart")
    page.get_by_role("link", name="Edit patient").click()
    expect(page.get_by_label("Family name")).to_have_value("Registered")
    page.get_by_label("New weight", exact=False).fill("64")
    page.get_by_label("allergies", exact=False).last.fill("latex")
    page.get_by_label("breastfeeding").check()
    shoot(page, "52-edit-patient")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Patient record updated.")).to_be_visible()
    expect(page.locator(".banner-weight")).to_contain_text("64.0 kg")
    expect(page.locator(".allergies")).to_contain_text("latex")
    expect(page.locator(".reproductive")).to_contain_text("breastfeeding: yes")
    page.get_by_role("link", name="audit history").click()
    # Every change is in the chart's audit history, with who made it.
    rows = page.get_by_role("row").filter(has_text="demo-nurse")
    expect(rows.filter(has_text="weight 64.0 kg measured")).to_be_visible()
    expect(rows.filter(has_text="allergy latex")).to_be_visible()
    shoot(page, "53-edit-patient-audit")
    # Billing staff may not register or edit.
    page.context.clear_cookies()
    sign_in(page, server, "demo-billing")
    assert page.goto(f"{server}/new-patient/").status == 403  # type: ignore[union-attr]
    assert page.goto(chart_url(server, "FICT-REG-1", "edit/")).status == 403  # type: ignore[union-attr]


# -- the plan builder fits the label (issue 13, item 4)


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def test_the_product_list_offers_only_products_with_a_protocol_for_the_indication(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(f"{server}/plan/")
    expect(page.locator(".error-summary")).to_have_count(0)  # nothing red before the clinician acts
    expect(page.locator("#plan-errors")).to_contain_text("Choose the indication and the product")
    page.get_by_label("Indication").select_option("chronic-migraine")
    product = page.get_by_label("Product")
    expect(product.locator("option")).to_have_text(["choose…", "BOTOX (onabotulinumtoxinA)"])
    page.get_by_label("Indication").select_option("blepharospasm")
    approved = product.locator("optgroup[label='Approved for this indication'] option")
    expect(approved).to_have_text(["XEOMIN (incobotulinumtoxinA)", "BOTOX (onabotulinumtoxinA)"])
    expect(product.locator("optgroup[label^='Off-label'] option")).to_have_text(
        ["DYSPORT (abobotulinumtoxinA) — off-label"]
    )
    shoot(page, "60-plan-products-by-indication")
    # A pair without a protocol says why instead of "Nothing was planned".
    open_plan(page, server, {"indication": "chronic-migraine", "product": "incobotulinumtoxinA"})
    expect(page.locator("#plan-errors")).to_contain_text("bont has no XEOMIN protocol for chronic migraine")
    expect(page.locator(".error-summary")).to_have_count(0)


def test_the_plan_builder_opened_from_a_chart_takes_the_age_and_weight_from_it(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, "DEMO-0009"))  # Ines Demo, born 2016-08-25, 24 kg
    page.locator(".actions").get_by_role("link", name="Plan a session").click()
    expect(page.get_by_label("Age (years)")).to_have_value(str(_age_on(date(2016, 8, 25), date.today())))
    expect(page.get_by_label("Weight (kg)")).to_have_value("24")
    expect(page.locator("#from-chart")).to_contain_text("latest weight from the chart")
    page.get_by_label("Indication").select_option("upper-limb-spasticity")
    page.get_by_label("Product").select_option("onabotulinumtoxinA")
    # Not yet a plan for want of a side: a prompt in words, not a red error.
    expect(page.locator("#plan-errors")).to_contain_text("choose left, right or both")
    expect(page.locator(".error-summary")).to_have_count(0)
    page.get_by_label("Side for per-side muscles").select_option("right")
    expect(page.locator("#plan-result h2").first).to_contain_text("U of BOTOX")
    expect(page.get_by_label("units for Biceps brachii")).to_have_value("36")  # 1.5 U/kg × 24 kg
    shoot(page, "61-plan-from-chart")


def test_xeomin_blepharospasm_is_planned_with_the_diluent_given(server: str, page: Page) -> None:
    sign_in(page, server, "demo-clinician")
    open_plan(page, server, {"indication": "blepharospasm", "product": "incobotulinumtoxinA", "side": "both"})
    prompt = page.locator("#plan-errors")
    expect(prompt).to_contain_text("give the diluent volume")
    expect(page.locator(".error-summary")).to_have_count(0)
    page.get_by_label("Vial size (U)").select_option("100")
    page.get_by_label("Diluent (mL").fill("2")
    expect(page.locator("#plan-result h2").first).to_contain_text("50 U of XEOMIN")
    expect(page.locator("#plan-result")).to_contain_text("100 U vial with 2 mL")
    shoot(page, "62-plan-xeomin-blepharospasm-diluent")


def test_typing_while_the_rows_refresh_keeps_every_keystroke_and_the_weight_recomputes_the_rows(
    server: str, page: Page
) -> None:
    sign_in(page, server, "demo-clinician")
    open_plan(
        page,
        server,
        {"indication": "upper-limb-spasticity", "product": "onabotulinumtoxinA", "age": "10", "weight_kg": "24"}
        | {"side": "right"},
    )
    biceps = page.get_by_label("units for Biceps brachii")
    expect(biceps).to_have_value("36")
    weight = page.get_by_label("Weight (kg)")
    weight.fill("")
    weight.press_sequentially("30", delay=400)  # slower than the live update: the rows refresh between keys
    expect(biceps).to_have_value("45")  # 1.5 U/kg × 30 kg, recomputed
    expect(weight).to_have_value("30")
    biceps.select_text()
    biceps.press_sequentially("60.5", delay=400)  # "60." is sent and planned while the clinician types on
    # The last refresh, for "60.5", has come back (its plan's total is 135 + 60.5 U), and the field kept every key.
    expect(page.locator("#plan-result h2").first).to_contain_text("195.5 U of BOTOX")
    expect(biceps).to_have_value("60.5")
    expect(biceps).to_be_focused()
    # Sites per row: the brachialis's two sites become one, a deviation from the protocol given with its reason.
    page.get_by_label("sites for Brachialis").fill("1")
    expect(page.locator("#plan-errors")).to_contain_text("1 sites is outside the protocol's 2")
    page.get_by_label("Reason for any deviation from the protocol").fill("small muscle belly")
    brachialis = page.locator("#plan-result tr").filter(has=page.get_by_role("cell", name="Brachialis", exact=True))
    expect(brachialis.locator("td").nth(3)).to_have_text("1")  # after the line's number, muscle and side
    shoot(page, "63-plan-typing-kept")


def test_a_barcode_scan_ending_in_enter_looks_the_lot_up_and_only_the_button_records(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    count = session_count(database_env, "DEMO-0008")
    sign_in(page, server, "demo-clinician")
    plan_for(page, server, "DEMO-0008")
    page.get_by_role("button", name="Record this session").click()
    expect(page.locator("#units-total")).to_have_text("155")
    # The scanner types the lot and ends with Enter: the vial is chosen, the cursor moves on, nothing is sent.
    page.get_by_label("vial 1", exact=True).select_option("")
    lot = page.get_by_label("lot number, vial 1")
    lot.fill("DEMO-STOCK-BOT200")
    lot.press("Enter")
    expect(page.get_by_label("units drawn, vial 1")).to_be_focused()
    assert page.get_by_label("vial 1", exact=True).evaluate("s => s.selectedOptions[0].dataset.lot") == (
        "DEMO-STOCK-BOT200"
    )
    lot.fill("NO-SUCH-LOT")
    lot.press("Enter")
    expect(page.locator("#lot-1-status")).to_have_text("no such lot")
    expect(lot).to_be_focused()
    lot.fill("DEMO-STOCK-BOT200")
    lot.press("Enter")
    # The running total follows the doses as they are typed.
    first_site = page.locator("input.site-units").first
    planned = first_site.input_value()
    first_site.fill("0")
    expect(page.locator("#units-total")).to_have_text(str(155 - int(planned)))
    first_site.fill(planned)
    expect(page.locator("#units-total")).to_have_text("155")
    # Enter in any other field submits with the form's first button, which looks up and never records.
    page.get_by_label("units drawn, vial 1").fill("155")
    page.get_by_label("diluent mL, vial 1").fill("4")
    page.get_by_label("diluent mL, vial 1").press("Enter")
    expect(page.get_by_role("status").filter(has_text="Review the doses")).to_be_visible()
    expect(page.get_by_role("heading", name="Record a session: Demo")).to_be_visible()
    expect(page.get_by_label("lot number, vial 1")).to_have_value("DEMO-STOCK-BOT200")
    expect(page.locator("#units-total")).to_have_text("155")
    assert session_count(database_env, "DEMO-0008") == count
    shoot(page, "64-record-scan-reviewed")
    acknowledge_warnings(page)
    page.get_by_role("button", name="Record the session").click()
    expect(page.get_by_text("recorded.")).to_be_visible()
    assert session_count(database_env, "DEMO-0008") == count + 1
