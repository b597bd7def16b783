"""What a person may type, in the real browser against the live demo server: hostile values in every form field
and query parameter answer with a page (a message beside the field), never a server error; the patient's diary
keeps to its link's period and asks before replacing a day; the inventory hides expired lots until asked and
finds a lot by part of its number; an outcome is corrected from the chart with a reason.

Each test makes its own fictional patients and lots (INP-…), so the demo patients other modules read stay as
they are."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import chart_path, chart_url, open_plan, run_bont, shoot, sign_in

# One value of each kind that broke a page: not a finite number, negative, overflowing, over-long, an impossible
# date, an id that names nothing. (Infinity parses as NaN does, "0000-00-00" fails as 2026-02-30 does, and an
# empty value is every form's default, so they add requests, not paths; the fuzz tests cover the API's.)
HOSTILE = ("NaN", "-1", "1e999", "x" * 300, "2026-02-30", "987654321")
Form = dict[str, str | float | bool]  # what Playwright sends as a query string or a posted form
MIGRAINE_PLAN: Form = {
    "indication": "chronic-migraine",
    "product": "onabotulinumtoxinA",
    "rows_for": "",
    "give:0": "on",
}
ADVERSE_EVENT: Form = {"event": "ptosis", "onset": "2026-11-01", "severity": "mild", "serious": "no"}


def _added(database_env: dict[str, str], *args: str) -> None:
    done = run_bont(database_env, *args)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def inputs_patient(server: str, database_env: dict[str, str]) -> str:
    """A fictional patient of this module's own, with one HDSS measurement, one session and one adverse event."""
    mrn = "INP-0001"
    for number, given in ((mrn, "Ina"), ("INP-0002", "Ivo")):
        _added(
            database_env,
            *("patient", "add", "--mrn", number, "--given-name", given, "--family-name", "Input"),
            *("--birth-date", "1980-04-02"),
        )
    _added(
        database_env,
        *("outcome", "add", "--mrn", mrn, "--indication", "axillary-hyperhidrosis", "--instrument", "hdss"),
        *("--date", "2026-11-02", "--value", "4", "--clinician", "demo-nurse"),
    )
    return mrn


def _csrf_headers(page: Page) -> dict[str, str]:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return {"X-CSRFToken": token}


def _ids(page: Page, server: str, mrn: str) -> dict[str, str]:
    """The ids the chart links to: this patient's outcome and adverse event."""
    page.goto(chart_url(server, mrn))
    html = page.content()
    found = {
        "outcome": re.search(r"/outcomes/(\d+)/withdraw/", html),
        "event": re.search(r"/adverse-events/(\d+)/", html),
    }
    return {name: match.group(1) for name, match in found.items() if match}


def test_no_hostile_value_in_any_field_or_query_parameter_gets_a_server_error(
    server: str, page: Page, browser: Browser, database_env: dict[str, str], inputs_patient: str
) -> None:
    mrn = inputs_patient
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, mrn, "adverse-events/new/"))
    request = page.context.request
    headers = _csrf_headers(page)
    assert request.post(chart_url(server, mrn, "adverse-events/new/"), form=ADVERSE_EVENT, headers=headers).ok
    ids = _ids(page, server, mrn)
    page.get_by_label("Patient diary link").select_option("bladder")
    page.get_by_role("button", name="Create a personal diary link").click()
    diary = page.locator(".messages").inner_text().split("(shown once): ", 1)[1].strip()
    forms: list[tuple[str, str, Form, tuple[str, ...]]] = [
        ("POST", "/patients/", {}, ("q", "page")),
        ("GET", "/conditions/search/", {}, ("q",)),
        (
            "POST",
            "/plan/",
            MIGRAINE_PLAN,
            (
                *("indication", "product", "variant", "mrn", "age", "weight_kg", "side", "vial_units", "diluent_ml"),
                *("units:0", "sites:0", "side:0", "auto:0", "auto_sites:0", "rows_weight", "filled_from"),
                *("deviation_reason", "give:0", "rows_for"),
            ),
        ),
        ("POST", "/plan/sheet/", MIGRAINE_PLAN, ("age", "weight_kg", "units:0", "sites:0", "mrn")),
        ("GET", "/inventory/", {"filtered": "1"}, ("recall", "product", "lot", "in_stock", "unexpired")),
        ("GET", "/adverse-events/", {}, ("product",)),
        (
            "GET",
            chart_path(server, mrn, "outcomes/new/"),
            {"indication": "axillary-hyperhidrosis"},
            ("indication", "instrument"),
        ),
        ("GET", chart_path(server, mrn, "adverse-events/new/"), {}, ("session",)),
        ("GET", chart_path(server, mrn, "continuation/axillary-hyperhidrosis/"), {}, ("format",)),
        (
            "POST",
            "/new-patient/",
            {"mrn": "INP-NEW", "given_name": "Ana", "family_name": "Input", "birth_date": "1980-01-01"},
            (
                *("mrn", "given_name", "family_name", "birth_date", "sex", "weight_kg", "condition:0"),
                *("medications", "allergies", "pregnant", "breastfeeding", "catheterizes"),
            ),
        ),
        (
            "POST",
            chart_path(server, "INP-0002", "edit/"),
            {"given_name": "Ivo", "family_name": "Input", "birth_date": "1980-01-01", "on": "2026-11-01"},
            (
                *("given_name", "family_name", "birth_date", "sex", "weight_kg", "weighed_on", "on", "condition:0"),
                *("medications", "allergies", "resolve", "stop", "remove_allergy", "pregnant", "catheterizes"),
            ),
        ),
        (
            "POST",
            chart_path(server, mrn, "adverse-events/new/"),
            ADVERSE_EVENT,
            ("event", "onset", "severity", "serious", "session", "outcome", "notes"),
        ),
        (
            "POST",
            chart_path(server, mrn, "outcomes/new/"),
            {"indication": "axillary-hyperhidrosis", "instrument": "hdss", "measured_on": "2026-11-03"},
            ("indication", "instrument", "measured_on", "value"),
        ),
        (
            "POST",
            chart_path(server, mrn, "outcomes/new/"),
            {
                "indication": "upper-limb-spasticity",
                "instrument": "goal-attainment-scaling",
                "measured_on": "2026-11-03",
            },
            ("goal:1", "weight:1"),
        ),
        ("POST", chart_path(server, mrn, "diary-links/"), {}, ("kind",)),
        ("POST", f"/outcomes/{ids['outcome']}/withdraw/", {}, ("reason", "confirm")),
        ("POST", f"/outcomes/{ids['outcome']}/correct/", {"reason": ""}, ("measured_on", "value", "reason")),
        (
            "POST",
            f"/adverse-events/{ids['event']}/",
            ADVERSE_EVENT,
            ("event", "onset", "severity", "serious", "outcome", "notes"),
        ),
        ("POST", f"/adverse-events/{ids['event']}/withdraw/", {}, ("reason", "confirm")),
        (  # the plan builder's "Record this session…" posting the plan
            "POST",
            chart_path(server, mrn, "record/"),
            {**MIGRAINE_PLAN, "to_record": "1"},
            ("age", "weight_kg", "units:0", "sites:0"),
        ),
        (  # the review step only: nothing here sends action=record, so no session is written
            "POST",
            chart_path(server, mrn, "record/"),
            {"date": "2026-11-29", "plan:indication": "chronic-migraine", "plan:product": "onabotulinumtoxinA"},
            (
                *("date", "given_at", "given_by", "override_reason", "ack:x", "action", "correction_reason"),
                *("plan:indication", "plan:units:0"),
                *("site_muscle:0", "site_side:0", "site_units:0", "vial:0", "lot:0", "drawn:0", "opened_at:0"),
                *("diluent:0", "discard:0"),
            ),
        ),
        ("POST", "/sessions/1/withdraw/", {}, ("reason", "confirm")),  # never confirmed: nothing is withdrawn
        ("GET", "/billing/", {}, ("start", "end")),
        ("GET", "/billing/export.csv", {}, ("start", "end")),
    ]
    refused: list[str] = []
    for method, path, base, fields in forms:
        for index, name in enumerate(fields):
            # Each field meets four of the six hostile kinds, starting one further along for each field, so that
            # a form of two or more fields meets every kind (one request per field and kind took most of a minute).
            for value in (HOSTILE * 2)[index % len(HOSTILE) :][: len(HOSTILE) // 2 + 1]:
                sent: Form = {**base, name: value}
                if method == "GET":
                    answer = request.get(f"{server}{path}", params=sent)
                else:
                    answer = request.post(f"{server}{path}", form=sent, headers=headers)
                if answer.status >= 500:
                    refused.append(f"{method} {path} {name}={value[:20]!r}: {answer.status}")
    for path in (
        "/patients/NO-SUCH/",  # an MRN: charts are addressed by their key only
        "/patients/NoSuchChartKey00/",
        "/sessions/987654321/",
        "/outcomes/987654321/correct/",
        "/diary/no-such/",
    ):
        answer = request.get(f"{server}{path}")
        assert answer.status == 404, path
    patient = browser.new_context()  # the diary: no sign-in, the link is the key
    patient_page = patient.new_page()
    patient_page.goto(diary)
    patient_headers = _csrf_headers(patient_page)
    for name in ("day", "voids", "incontinence_episodes", "replace"):
        for value in HOSTILE:
            posted: Form = {"day": "2026-11-29", "voids": "8", "incontinence_episodes": "0", name: value}
            answer = patient.request.post(diary, form=posted, headers=patient_headers)
            if answer.status >= 500:
                refused.append(f"POST diary {name}={value[:20]!r}: {answer.status}")
    patient.close()
    assert refused == []


def test_a_nan_or_negative_age_in_the_plan_builder_is_refused_beside_the_field_and_kept(
    server: str, page: Page
) -> None:
    sign_in(page, server, "demo-clinician")
    for typed, problem in (("NaN", "is not a number"), ("-1", "must be a number more than 0 up to 130")):
        open_plan(page, server, {"indication": "chronic-migraine", "product": "onabotulinumtoxinA", "age": typed})
        age = page.get_by_label("Age (years)")
        expect(age).to_have_value(typed)
        expect(page.locator("#age + p.error")).to_have_text(problem)
    shoot(page, "inputs-01-plan-negative-age")


def test_the_diary_refuses_a_day_before_its_link_and_asks_before_replacing_a_day(
    server: str, page: Page, browser: Browser, inputs_patient: str
) -> None:
    sign_in(page, server, "demo-nurse")
    page.goto(chart_url(server, "INP-0002"))
    page.get_by_label("Patient diary link").select_option("bladder")
    page.get_by_role("button", name="Create a personal diary link").click()
    link = page.locator(".messages").inner_text().split("(shown once): ", 1)[1].strip()
    diary = browser.new_context().new_page()
    diary.goto(link)
    today = diary.get_by_label("Day").get_attribute("max")
    assert today is not None
    assert diary.get_by_label("Day").get_attribute("min") == today  # the link began today

    diary.get_by_label("Day").fill("2024-01-15")
    diary.get_by_label("Times you passed urine").fill("7")
    diary.get_by_role("button", name="Save this day").click()
    expect(diary.locator("#day-error")).to_contain_text("is before this diary began")
    expect(diary.get_by_label("Times you passed urine")).to_have_value("7")  # what was typed is kept

    diary.get_by_label("Day").fill(today)
    diary.get_by_label("Leaks").fill("0")
    diary.get_by_role("button", name="Save this day").click()
    expect(diary.get_by_text("Thank you.")).to_be_visible()

    diary.get_by_label("Day").fill(today)
    diary.get_by_label("Times you passed urine").fill("11")
    diary.get_by_label("Leaks").fill("2")
    diary.get_by_role("button", name="Save this day").click()
    prompt = diary.locator(".replace-prompt")
    expect(prompt).to_contain_text("You already filled in this day: passed urine 7 times · 0 leaks")
    expect(diary.get_by_label("Times you passed urine")).to_have_value("11")
    shoot(diary, "inputs-02-diary-replace-prompt")
    diary.get_by_label("Replace that entry with what is below").check()
    diary.get_by_role("button", name="Save this day").click()
    expect(diary.get_by_text("Thank you.")).to_be_visible()
    diary.get_by_label("Day").fill(today)
    diary.get_by_role("button", name="Save this day").click()
    expect(diary.locator(".replace-prompt")).to_contain_text("passed urine 11 times · 2 leaks")
    diary.context.close()


def test_the_inventory_hides_expired_lots_until_asked_and_finds_a_lot_by_part_of_its_number(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    for lot, expiry in (("INP-LOT-OLD", "2025-01-31"), ("INP-LOT-NEW", "2030-06-30")):
        for product, number in (("onabotulinumtoxinA", lot), ("abobotulinumtoxinA", f"{lot}-D")):
            _added(
                database_env,
                *("lot", "add", "--product", product, "--lot", number, "--expiry", expiry, "--quantity", "2"),
            )
    sign_in(page, server, "demo-nurse")
    page.goto(f"{server}/inventory/")
    lots = page.locator("#lots tbody tr")
    expect(page.get_by_label("Unexpired only")).to_be_checked()
    expect(lots.filter(has_text="expired").filter(has=page.locator(".verdict.block"))).to_have_count(0)
    expect(page.locator("tr[data-lot='INP-LOT-NEW']")).to_have_count(1)
    expect(page.locator("tr[data-lot='INP-LOT-OLD']")).to_have_count(0)

    page.get_by_label("Lot number contains").fill("inp-lot")
    page.get_by_label("Product", exact=True).select_option(label="BOTOX")
    page.get_by_role("button", name="Filter").click()
    expect(lots).to_have_count(1)
    expect(page.locator("tr[data-lot='INP-LOT-NEW']")).to_be_visible()
    expect(page.get_by_label("Lot number contains")).to_have_value("inp-lot")  # the filters stay as chosen
    shoot(page, "inputs-03-inventory-filtered")

    page.get_by_label("Unexpired only").uncheck()
    page.get_by_role("button", name="Filter").click()
    expect(lots).to_have_count(2)
    expect(page.locator("tr[data-lot='INP-LOT-OLD']")).to_contain_text("expired")
    expect(page.get_by_label("Unexpired only")).not_to_be_checked()
    shoot(page, "inputs-04-inventory-with-expired")


def test_an_outcome_is_corrected_from_the_chart_with_a_reason(server: str, page: Page, inputs_patient: str) -> None:
    sign_in(page, server, "demo-nurse")
    page.goto(chart_url(server, inputs_patient))
    page.locator("details.outcome-entries summary").click()
    entry = page.locator("details.outcome-entries tr[data-outcome]").filter(has_text="2026-11-02")
    entry.get_by_role("link", name="correct").click()
    expect(page.get_by_role("heading", name=re.compile("Correct an outcome"))).to_be_visible()
    expect(page.get_by_label("Grade")).to_have_value("4")  # filled in with what was entered
    expect(page.get_by_label("Measured on")).to_have_value("2026-11-02")

    page.get_by_label("Grade").select_option("2")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.locator("#reason-error")).to_have_text("give the reason for the correction")
    expect(page.get_by_label("Grade")).to_have_value("2")  # kept on refusal

    page.get_by_label("Reason for the correction").fill("the baseline grade was typed for this visit")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.get_by_text("corrected; the entry before is kept")).to_be_visible()
    page.locator("details.outcome-entries summary").click()
    rows = page.locator("details.outcome-entries tr[data-outcome]")
    expect(rows.filter(has_text="corrected: the baseline grade was typed for this visit")).to_have_class("withdrawn")
    corrected = rows.filter(has_text="HDSS").filter(has_not_text="withdrawn")
    expect(corrected).to_have_count(1)
    expect(corrected.locator("td").nth(3)).to_have_text("2")
    shoot(page, "inputs-05-outcome-corrected")


def test_a_paste_larger_than_the_server_takes_answers_with_a_page_stating_the_limits(
    server: str, page: Page, inputs_patient: str
) -> None:
    sign_in(page, server, "demo-nurse")
    page.goto(chart_url(server, inputs_patient, "adverse-events/new/"))
    notes = page.get_by_label("Notes")
    expect(notes).to_have_attribute("maxlength", "4000")  # a paste into the page stops there
    page.get_by_label("Notes").fill("x" * 4500)
    assert len(notes.input_value()) == 4000
    page.get_by_label("Outcome at the last observation").select_option("recovering/resolving")
    shoot(page, "inputs-06-adverse-event-limits")
    pasted: Form = {**ADVERSE_EVENT, "notes": "x" * 10_000_000}  # what a page without maxlength would send
    answer = page.context.request.post(page.url, form=pasted, headers=_csrf_headers(page))
    assert answer.status == 400
    assert "2.5 MB in all" in answer.text()
    assert "notes up to 4000" in answer.text()
