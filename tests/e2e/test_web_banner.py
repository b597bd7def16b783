"""The patient banner in a real browser (tests/e2e/conftest.py's demo clinic): it stays at the top of the window
while the chart scrolls, and it fits the width of a desktop and of a tablet at the chair."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import SCREENSHOTS, chart_url, sign_in


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (768, 1024)])
def test_the_banner_stays_in_view_when_the_chart_is_scrolled_to_the_bottom(
    server: str, page: Page, width: int, height: int
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, "DEMO-0001"))
    banner = page.get_by_role("region", name="Patient")
    expect(banner).to_contain_text("Demo, Alma")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    assert page.evaluate("window.scrollY") > height  # the chart is longer than a window: it did scroll
    expect(banner).to_be_in_viewport(ratio=1)
    box = banner.bounding_box()
    assert box is not None
    assert abs(box["y"]) < 1  # held at the top of the window
    # Compact: a fraction of the window's height, and never wider than the page.
    assert box["height"] < height / 4
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert banner.evaluate("b => b.scrollWidth <= b.clientWidth")
    # The window as the clinician sees it (a full-page shot would unroll the scroll the banner is held across).
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"60-chart-banner-scrolled-{width}.png"))
