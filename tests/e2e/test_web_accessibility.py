"""Every page of the clinic web app, as a role that may open it, at a desktop (1366 px), a tablet at the chair (768 px)
and a phone (390 px): a full-page screenshot of each for a person to look at, axe-core's serious and critical
violations of WCAG 2.2 AA, and no sideways scrolling on the tablet. The pages come from the URL configuration, so a
new page is visited without a change here; a route that is not a page (a download, a form's action, JSON) is named
below with the reason. Then planning and recording by keyboard alone, with the focus always drawn."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.accessibility import violations
from tests.e2e.browser import MIGRAINE_CHOICES, SCREENSHOTS, chart_key, open_plan, sign_in
from tests.integration.test_access_matrix import web_routes

DESKTOP, TABLET, PHONE = 1366, 768, 390
HEIGHTS = {DESKTOP: 900, TABLET: 1024, PHONE: 844}
MRN = "DEMO-0001"  # chronic migraine with BOTOX: sessions, outcomes and diaries on every chart page
ANONYMOUS, CLINICIAN = "", "demo-clinician"

# Routes that are not pages a person reads, by URL name, with the reason.
NOT_PAGES = {
    "home": "sends each role on to its first page",
    "logout": "a POST action",
    "sign_in_code": "asks for a code only after a right password with BONT_TOTP on; otherwise back to sign-in",
    "two_factor": "only with BONT_TOTP on (404 in the demo clinic)",
    "audit_export": "a CSV download",
    "condition_search": "JSON for the condition field's suggestions",
    "diary_link_new": "a POST action (the chart's diary link button)",
    "session_withdraw": "a POST action (the session page's withdraw form)",
    "event_withdraw": "a POST action (the adverse event page's withdraw form)",
    "billing_export": "a CSV download",
    "research_cohort_size": "JSON for the cohort builder's live count",
    "research_cohort_save": "a POST action (the cohort builder's save button)",
    "research_analyses_download": "a ZIP download",
    "research_export": "a ZIP download",
    "evidence_export": "a RIS, BibTeX or CSV download",
    "evidence_trials_export": "a CSV download",
    "evidence_pdf": "a PDF download",
    "api-root": "the JSON API",
    "openapi-json": "the JSON API's OpenAPI schema",
    "openapi-view": "Swagger UI's own page for the API's schema, not a page of bont's templates",
}
JSON_PREFIXES = ("fhir/", "api/")  # the FHIR R4 API and the JSON API: no pages

# Who opens a page that the clinician may not (or that reads differently for its own role); every other page is
# opened by the clinician, who may open the most.
ROLE_OF = {
    "login": ANONYMOUS,
    "diary": ANONYMOUS,  # the patient's link is the key
    "users": "demo-admin",
    "user": "demo-admin",
    "audit_search": "demo-admin",
    "billing": "demo-billing",
    "research": "demo-researcher",
    "research_analyses": "demo-researcher",
}


@dataclass(frozen=True)
class Clinic:
    """The real values a page's address takes, from the demo clinic."""

    path_values: Mapping[str, str]


def _filled(route: str, values: Mapping[str, str]) -> str:
    def value(part: re.Match[str]) -> str:
        return quote(values[part[1]], safe="/" if part[0].startswith("<path:") else "")

    return "/" + re.sub(r"<(?:[^:>]+:)?([^>]+)>", value, route)


def _first_id(database_env: dict[str, str], table: str) -> str:
    """The id of the demo clinic's first record of ``table`` (a Django model's table) still standing: one that a
    browser test before this one withdrew can no longer be corrected or withdrawn."""
    with closing(sqlite3.connect(database_env["DATABASE_URL"].removeprefix("sqlite:///"))) as connection:
        found = connection.execute(f"SELECT min(id) FROM clinic_{table} WHERE withdrawn_reason = ''").fetchone()
    assert found[0], f"no {table} in the demo clinic"
    return str(found[0])


def _diary_token(page: Page, server: str, key: str) -> str:
    page.goto(f"{server}/patients/{key}/")
    page.get_by_label("Patient diary link").select_option("headache")
    page.get_by_role("button", name="Create a personal diary link").click()
    link = page.locator(".messages").inner_text().split("(shown once): ", 1)[1].strip()
    return link.rstrip("/").rsplit("/", 1)[1]


def _study_key(page: Page, server: str) -> str:
    page.goto(f"{server}/evidence/")
    href = page.locator("a[href^='/evidence/studies/']").first.get_attribute("href")
    assert href
    return href.removeprefix("/evidence/studies/").rstrip("/")


@pytest.fixture(scope="module")
def contexts(browser: Browser, server: str) -> Iterator[dict[str, BrowserContext]]:
    """One browser context per role, signed in once."""
    made: dict[str, BrowserContext] = {}
    for role in {ANONYMOUS, CLINICIAN, *ROLE_OF.values()}:
        context = browser.new_context(viewport={"width": DESKTOP, "height": HEIGHTS[DESKTOP]})
        page = context.new_page()
        if role:
            sign_in(page, server, role)
        made[role] = context
    yield made
    for context in made.values():
        context.close()


@pytest.fixture(scope="module")
def pages(database_env: dict[str, str]) -> dict[str, str]:
    """The pages of the URL configuration, by name, with their routes."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", database_env["DATABASE_URL"])
        from bont.bootstrap import setup_database

        setup_database(migrate=False)  # Django's settings, for its URL resolver
    unknown = sorted(set(NOT_PAGES) - set(web_routes()))
    assert not unknown, f"named as not a page, but no such route: {', '.join(unknown)}"
    return {
        name: route
        for name, route in web_routes().items()
        if name not in NOT_PAGES and not route.startswith(JSON_PREFIXES)
    }


@pytest.fixture(scope="module")
def clinic(contexts: dict[str, BrowserContext], server: str, database_env: dict[str, str]) -> Clinic:
    page = contexts[CLINICIAN].pages[0]
    key = chart_key(server, MRN)
    return Clinic(
        {
            "mrn": key,
            "indication": "chronic-migraine",
            "indication_id": "chronic-migraine",
            "session_id": _first_id(database_env, "treatmentsession"),
            "outcome_id": _first_id(database_env, "outcomerecord"),
            "event_id": _first_id(database_env, "adverseevent"),
            "token": _diary_token(page, server, key),
            "key": _study_key(page, server),
            "username": "demo-nurse",
        }
    )


# Pages opened for one of the things they serve, as the page linking to them names it.
QUERIES = {"outcome_new": "?indication=chronic-migraine"}


def _open_record_past_any_stop(page: Page, server: str) -> None:
    """The record form for MRN's plan as a clinician opens it: past the stop, with a written override, when the
    sessions other modules recorded on the shared demo clinic have made the plan a blocked one."""
    open_plan(page, server, MIGRAINE_CHOICES, MRN)
    override = page.locator("textarea[name='override_reason']")
    if override.count():
        override.fill("accessibility sweep: the record page is opened, nothing is recorded")
    page.get_by_role("button", name="Record this session…").click()


# Pages a person reaches only by posting a form: each opened as the person opens it.
POSTED: dict[str, Callable[[Page, str], None]] = {
    "record": _open_record_past_any_stop,
    "plan_sheet": lambda page, server: open_plan(page, server, MIGRAINE_CHOICES, MRN, action="/plan/sheet/"),
}


def _shoot(page: Page, width: int, name: str) -> None:
    folder = SCREENSHOTS / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    # JPEG: a third of a PNG's time for a page this tall, and as good to look at.
    page.screenshot(path=str(folder / f"{name}.jpg"), full_page=True, type="jpeg", quality=80)


def _at(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": HEIGHTS[width]})


def test_every_page_is_accessible_and_fits_a_tablet_and_a_phone(
    contexts: dict[str, BrowserContext], pages: dict[str, str], clinic: Clinic, server: str
) -> None:
    """A route neither named in NOT_PAGES nor an HTML page the role opens fails here, with what it answered."""
    failures: list[str] = []
    for name, route in sorted(pages.items()):
        role = ROLE_OF.get(name, CLINICIAN)
        page = contexts[role].pages[0]
        _at(page, DESKTOP)
        if name in POSTED:
            POSTED[name](page, server)
        else:
            response = page.goto(server + _filled(route, clinic.path_values) + QUERIES.get(name, ""))
            status = response.status if response else 0
            kind = response.headers.get("content-type", "") if response else ""
            if status != 200 or not kind.startswith("text/html"):
                failures.append(
                    f"{name}: answered {status} {kind} to {role or 'a patient'} "
                    "(a route that is not a page goes in NOT_PAGES, with why)"
                )
                continue
        failures += violations(page, name)
        _shoot(page, DESKTOP, name)
        _at(page, TABLET)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            failures.append(f"{name}: scrolls sideways by {overflow} px at {TABLET} px")
        _shoot(page, TABLET, name)
        _at(page, PHONE)
        if name == "diary":  # the patient fills it on a phone
            failures += violations(page, f"{name} at {PHONE} px")
        _shoot(page, PHONE, name)
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)


# Where the keyboard's focus is, and whether a person sees it: a ring drawn (an outline or a box shadow) and the
# element on screen, not under the sticky patient banner or anything else.
_FOCUS = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
  const box = element.getBoundingClientRect();
  const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
  const seen = document.elementFromPoint(x, y);
  const onScreen = box.bottom > 0 && box.top < innerHeight && !!seen
    && (element.contains(seen) || seen.contains(element));
  const label = element.labels && element.labels[0] && element.labels[0].innerText;
  const name = element.getAttribute("aria-label") || label || element.innerText || element.id || element.tagName;
  const visible = element.matches(":focus-visible");
  const drawn = `outline ${style.outlineStyle} ${style.outlineWidth}, :focus-visible ${visible}`;
  // The focus on a control of the browser's own inside the element (a date field's calendar button): the element
  // is not :focus, and the browser draws that control's ring itself.
  const browsers = !element.matches(":focus");
  return {name: name.trim().slice(0, 60), ring: browsers || (ring && visible), onScreen, drawn};
}"""


def _tab_to(page: Page, selector: str, unseen: list[str], key: str = "Tab", limit: int = 150) -> None:
    """Press Tab (or ``key``) until the element of ``selector`` has the focus, noting each stop where the focus
    was not seen."""
    for _ in range(limit):
        page.keyboard.press(key)
        focus = page.evaluate(_FOCUS)
        if focus and not (focus["ring"] and focus["onScreen"]):
            lacks = f"no focus ring ({focus['drawn']})" if not focus["ring"] else "hidden or off screen"
            unseen.append(f"{focus['name']}: {lacks}")
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"{selector} not reached with {key} in {limit} presses")


def test_a_clinician_plans_chronic_migraine_with_the_keyboard_alone(
    contexts: dict[str, BrowserContext], server: str
) -> None:
    page = contexts[CLINICIAN].new_page()
    page.goto(f"{server}/patients/{chart_key(server, MRN)}/plan/")
    unseen: list[str] = []
    _tab_to(page, "#indication", unseen)
    page.keyboard.type("Chronic migraine")
    expect(page.locator("#indication")).to_have_value("chronic-migraine")
    _tab_to(page, "#product", unseen)
    page.keyboard.type("BOTOX")
    expect(page.locator("#product")).to_have_value("onabotulinumtoxinA")
    expect(page.get_by_role("heading", name="155 U of BOTOX in 31 sites")).to_be_visible()
    _tab_to(page, "#weight_kg", unseen)
    page.keyboard.press("Control+A")
    page.keyboard.type("62")
    _tab_to(page, "#plan-form button[type='submit']:not([formaction])", unseen)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="155 U of BOTOX in 31 sites")).to_be_visible()
    expect(page.locator("#weight_kg")).to_have_value("62")
    page.close()
    assert not unseen, "focus not seen at:\n" + "\n".join(unseen)


RECORDED_MRN = "DEMO-0013"  # axillary hyperhidrosis, last treated 169 days before the demo's today: allowed again


def test_a_clinician_reaches_and_submits_the_record_form_with_the_keyboard_alone(
    contexts: dict[str, BrowserContext], server: str
) -> None:
    page = contexts[CLINICIAN].new_page()
    open_plan(page, server, {"indication": "axillary-hyperhidrosis", "product": "onabotulinumtoxinA"}, RECORDED_MRN)
    unseen: list[str] = []
    _tab_to(page, "#record-link", unseen)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    for acknowledgement in page.locator("input[name^='ack:']").all():
        _tab_to(page, f"#{acknowledgement.get_attribute('id')}", unseen)
        page.keyboard.type("reviewed with the patient")
    _tab_to(page, "#record-session", unseen)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("axillary hyperhidrosis · BOTOX")
    page.close()
    assert not unseen, "focus not seen at:\n" + "\n".join(unseen)
