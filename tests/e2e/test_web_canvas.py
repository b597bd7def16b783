"""The anatomic canvas in a real browser on the shared demo server: a clinician plans blepharospasm and cervical
dystonia by tapping, dragging and removing sites on the drawings, the plan and its check follow, and the session
recorded keeps where each site was drawn; the procedure sheet prints the same canvas."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.e2e.accessibility import assert_accessible
from tests.e2e.browser import acknowledge_warnings, chart_url, register, shoot, sign_in

BOTOX = "onabotulinumtoxinA"


def _screen_point(page: Page, drawing: str, x: float, y: float) -> tuple[float, float]:
    """Where a point of a drawing (in its percent) is on the screen, the drawing scrolled into view first."""
    point = page.evaluate(
        """([drawing, x, y]) => {
            const svg = document.querySelector(`svg.canvas-drawing[data-drawing='${drawing}']`);
            svg.scrollIntoView({block: "nearest"});
            const point = svg.createSVGPoint();
            point.x = x; point.y = y;
            const screen = point.matrixTransform(svg.getScreenCTM());
            return [screen.x, screen.y];
        }""",
        [drawing, x, y],
    )
    return float(point[0]), float(point[1])


def _tap(page: Page, drawing: str, x: float, y: float) -> None:
    page.mouse.click(*_screen_point(page, drawing, x, y))


def _near(position: tuple[str, str], expected: tuple[float, float]) -> bool:
    """Within a few tenths of a percent of the drawing: a tap lands on a screen pixel."""
    return all(abs(float(got) - want) <= 0.3 for got, want in zip(position, expected, strict=True))


def _site(page: Page, key: str) -> dict[str, str]:
    site = page.locator(f"g.site[data-key='{key}']")
    expect(site).to_have_count(1)
    return {name: site.get_attribute(f"data-{name}") or "" for name in ("row", "x", "y", "side")}


def _plan(page: Page, server: str, database_env: dict[str, str], mrn: str, indication: str, side: str) -> Locator:
    """A new fictional patient's plan builder, as a clinician opens it: the indication, BOTOX and the side for
    per-side muscles chosen; returns the plan's heading (units, product and sites)."""
    register(database_env, mrn, mrn.title())
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, mrn, "plan/"))
    page.get_by_label("Indication").select_option(indication)
    page.get_by_label("Product").select_option(BOTOX)
    page.get_by_label("Side for per-side muscles").select_option(side)
    return page.locator("#plan-result h2").first


def _record(page: Page) -> None:
    """From the plan builder to the recorded session: the record form as the plan fills it (the demo stock
    offers the vial), warnings acknowledged."""
    page.get_by_role("button", name="Record this session…").click()
    expect(page.get_by_role("heading", name=re.compile("^Record a session"))).to_be_visible()
    acknowledge_warnings(page)
    page.get_by_role("button", name="Record the session").click()
    expect(page.get_by_text("recorded.")).to_be_visible()


def test_a_clinician_plans_blepharospasm_on_the_eyelids_by_tapping_and_records_where_each_site_was(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    heading = _plan(page, server, database_env, "FICT-CANVAS-1", "blepharospasm", "both")
    expect(heading).to_contain_text("7.5 U of BOTOX in 6 sites")
    # The label's three pretarsal sites per eye, on the eyelids view: never the middle of the upper lid.
    expect(page.locator("figure.canvas-view figcaption")).to_have_text(["Face and eyelids"])
    right_lateral_lower = _site(page, "orbicularis-oculi:right:2")
    assert right_lateral_lower["side"] == "right"
    assert float(right_lateral_lower["x"]) < 50
    left_medial_upper = _site(page, "orbicularis-oculi:left:0")
    assert float(left_medial_upper["x"]) > 50
    expect(page.locator("g.site[data-key='orbicularis-oculi:left:0'] title")).to_contain_text(
        "Orbicularis oculi, left (medial pretarsal, upper lid), 1.25 U"
    )
    shoot(page, "95-canvas-blepharospasm")

    # Fewer sites than the label's three per eye is a deviation: its reason first, else the plan asks for it.
    reason = page.get_by_label("Reason for any deviation from the protocol")
    reason.fill("two sites per eye: a narrow palpebral fissure")
    # Remove a site from the keyboard: the row is dosed per treated side, so each eye loses one, 1.25 U each.
    page.locator("g.site[data-key='orbicularis-oculi:left:2']").focus()
    page.keyboard.press("Delete")
    expect(heading).to_contain_text("5 U of BOTOX in 4 sites")
    expect(page.locator("#canvas-status")).to_contain_text("removed from Orbicularis oculi on each side")
    expect(page.get_by_label("sites for Orbicularis oculi")).to_have_value("2")

    # Tap beside the patient's right lateral canthus: a third site on each eye, the right one where tapped.
    _tap(page, "head", 32.5, 44.5)
    expect(heading).to_contain_text("7.5 U of BOTOX in 6 sites")
    tapped = _site(page, "orbicularis-oculi:right:2")
    assert _near((tapped["x"], tapped["y"]), (32.5, 44.5))  # where tapped, to the screen's pixel

    # Drag it a little lower: the plan keeps it there.
    start = _screen_point(page, "head", 32.5, 44.5)
    end = _screen_point(page, "head", 33.5, 46)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()
    expect(page.locator("#placed")).to_have_value(re.compile(r"orbicularis-oculi:right:2=head:3[34]\.\d,4[56]"))
    dragged = _site(page, "orbicularis-oculi:right:2")
    assert _near((dragged["x"], dragged["y"]), (33.5, 46))
    shoot(page, "95-canvas-blepharospasm-placed")

    _record(page)
    # The session page draws the sites where they were, numbered as its site table's lines.
    moved = page.locator("g.site[data-key='orbicularis-oculi:right:2']")
    expect(moved).to_have_attribute("data-x", dragged["x"])
    expect(moved).to_have_attribute("data-y", dragged["y"])
    expect(page.locator("g.site")).to_have_count(6)
    shoot(page, "95-canvas-session")


def test_a_clinician_plans_cervical_dystonia_by_tapping_the_neck_and_the_check_follows(
    server: str, page: Page, database_env: dict[str, str]
) -> None:
    heading = _plan(page, server, database_env, "FICT-CANVAS-2", "cervical-dystonia", "right")
    expect(heading).to_contain_text("90 U of BOTOX in 6 sites")  # the six muscles on the right, 15 U each
    expect(page.locator("figure.canvas-view")).to_have_count(2)  # the neck from the front and from behind
    splenius = _site(page, "splenius-capitis:right:0")
    # Tap the patient's left splenius capitis (from behind, the patient's left is on the viewer's left).
    _tap(page, "back", 100 - float(splenius["x"]), float(splenius["y"]))
    expect(page.locator("#canvas-status")).to_contain_text("Splenius capitis is now given on both sides")
    expect(page.get_by_label("side for Splenius capitis")).to_have_value("both")
    expect(heading).to_contain_text("105 U of BOTOX in 7 sites")  # planned and checked again

    # Remove the right sternocleidomastoid: its row is no longer given.
    page.locator("g.site[data-key='sternocleidomastoid:right:0']").click()
    page.get_by_role("button", name="Remove the selected site").click()
    expect(heading).to_contain_text("90 U of BOTOX in 6 sites")
    expect(page.get_by_label("give Sternocleidomastoid")).not_to_be_checked()
    expect(page.locator("g.site[data-muscle='sternocleidomastoid']")).to_have_count(0)
    shoot(page, "96-canvas-cervical-dystonia")
    # The canvas as a screen reader and a tablet at the chair meet it: no serious or critical axe violation, the
    # sites are buttons named with their muscle, side and units, and the page does not scroll sideways at 768 px.
    assert_accessible(page, "plan with the canvas")
    expect(page.get_by_role("button", name=re.compile(r"^Site 1: Splenius capitis, left, 15 U$"))).to_have_count(1)
    page.set_viewport_size({"width": 768, "height": 1024})
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    shoot(page, "96-canvas-cervical-dystonia-768")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The procedure sheet prints the same canvas.
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Print procedure sheet").click()
    sheet = opened.value
    expect(sheet.locator("g.site")).to_have_count(6)
    expect(sheet.locator("g.site[data-key='splenius-capitis:left:0']")).to_have_count(1)
    sheet.close()

    _record(page)
    expect(page.locator("g.site[data-key='splenius-capitis:left:0']")).to_have_count(1)
    expect(page.locator("g.site[data-muscle='sternocleidomastoid']")).to_have_count(0)


def test_chronic_migraine_taps_add_follow_the_pain_sites_on_the_painful_side_and_a_removal_keeps_both_sides_alike(
    server: str, page: Page
) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(f"{server}/plan/")
    page.get_by_label("Indication").select_option("chronic-migraine")
    page.get_by_label("Product").select_option(BOTOX)
    heading = page.locator("#plan-result h2").first
    expect(heading).to_contain_text("155 U of BOTOX in 31 sites")
    # On the patient's left temple, between its four sites: the follow-the-pain row is ticked on the left, its one
    # site where tapped.
    _tap(page, "head", 76, 29)
    expect(heading).to_contain_text("160 U of BOTOX in 32 sites")
    expect(page.get_by_label("give Temporalis (optional)")).to_be_checked()
    expect(page.get_by_label("side for Temporalis (optional)")).to_have_value("left")
    added = page.locator("g.site[data-key='temporalis:left:4']")
    expect(added).to_have_attribute("data-optional", "1")
    added_x = added.get_attribute("data-x") or ""
    # The right temple: follow-the-pain sites stay on the painful side; nothing changes.
    _tap(page, "head", 24, 29)
    expect(page.locator("#canvas-status")).to_contain_text("go on one side, the left")
    expect(heading).to_contain_text("160 U of BOTOX in 32 sites")
    # A standard temporalis site removed: the protocol injects both sides alike, so each side loses one, and the
    # follow-the-pain site after them keeps its place on the drawing.
    page.get_by_label("Reason for any deviation from the protocol").fill("fewer temporalis sites: temporal wasting")
    page.locator("g.site[data-key='temporalis:left:1']").focus()
    page.keyboard.press("Delete")
    expect(heading).to_contain_text("150 U of BOTOX in 30 sites")
    expect(page.locator("#canvas-status")).to_contain_text("removed from Temporalis on each side")
    kept = page.locator("g.site[data-optional='1'][data-muscle='temporalis']")
    expect(kept).to_have_attribute("data-key", "temporalis:left:3")
    expect(kept).to_have_attribute("data-x", added_x)
