"""The patient's diary on a phone (390 × 844 CSS px, a common phone's viewport), in a real browser: staff hand the
link over as a QR code on a printable card, and the patient fills a day with nothing wider than the screen, a box
of at least 24 px to tick for every checkbox, the clinic's name and the signs that need medical care now."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.browser import chart_url, shoot, sign_in

PHONE: ViewportSize = {"width": 390, "height": 844}
TOUCH_TARGET = 24  # CSS px: WCAG 2.2 success criterion 2.5.8, Target Size (Minimum), AA
MRN = "DEMO-0005"


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


def test_a_patient_fills_a_diary_day_on_a_phone_from_the_link_on_a_printed_card(
    server: str, page: Page, browser: Browser
) -> None:
    sign_in(page, server, "demo-clinician")
    page.goto(chart_url(server, MRN))
    page.get_by_label("Patient diary link").select_option("headache")
    page.get_by_role("button", name="Create a personal diary link").click()
    card = page.locator("article.diary-card")
    expect(card.get_by_role("heading", name="Your headache diary")).to_be_visible()
    expect(card.locator("svg.qr")).to_be_visible()
    expect(card).to_contain_text("(fictional)")  # the demo clinic's own name, on the card the patient keeps
    expect(page.get_by_text("this page is shown once")).to_be_visible()
    expect(page.get_by_role("button", name="Print the card")).to_be_visible()
    link = card.locator(".diary-url").inner_text().strip()
    shoot(page, "diary-card")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()  # printed: the card alone
    expect(card.locator("svg.qr")).to_be_visible()
    shoot(page, "diary-card-print")

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # no sign-in: the link is the key
    patient = phone.new_page()
    patient.goto(link)
    expect(patient.get_by_role("heading", name="Your headache diary")).to_be_visible()
    expect(patient.locator("header.clinic")).to_contain_text("(fictional)")
    expect(patient.get_by_role("heading", name="Seek medical care now if you have")).to_be_visible()
    expect(patient.get_by_text("Trouble breathing", exact=True)).to_be_visible()
    assert "decision support, not a prescriber" not in patient.content()
    _no_sideways_scroll(patient)
    boxes = patient.get_by_role("checkbox")
    assert boxes.count() == 7
    for index in range(boxes.count()):
        box = boxes.nth(index).bounding_box()
        assert box is not None
        assert box["width"] >= TOUCH_TARGET
        assert box["height"] >= TOUCH_TARGET

    patient.get_by_label("Hours of headache").fill("too many")
    patient.get_by_role("button", name="Save this day").click()
    hours = patient.get_by_label("Hours of headache")
    expect(hours).to_have_attribute("aria-describedby", "headache_hours-error")
    expect(patient.locator("#headache_hours-error")).to_contain_text("is not a number of hours")
    _no_sideways_scroll(patient)
    hours.fill("3.5")
    patient.get_by_label("throbbing").check()
    patient.get_by_label("trouble with light").check()
    patient.get_by_label("Medicine taken for it").select_option("migraine-specific")
    patient.get_by_role("button", name="Save this day").click()
    expect(patient.get_by_text("Thank you.")).to_be_visible()
    _no_sideways_scroll(patient)
    shoot(patient, "diary-phone-390")
    phone.close()
