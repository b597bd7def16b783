"""axe-core in the browser tests: a page's serious and critical violations of WCAG 2.2 AA, as a list a person can act
on (rule, impact, where), so that one failure names everything to fix on the page."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page

AXE = Axe()
# The WCAG 2.0, 2.1 and 2.2 A and AA rules and axe's best practices; the AAA ones (enhanced contrast) are not our
# target.
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = frozenset({"serious", "critical"})
TARGETS_SHOWN = 3


def violations(page: Page, name: str) -> list[str]:
    """The page's serious and critical violations, one line each: "page: rule (impact) at target, target, …";
    the count of the minor and moderate ones is printed, not failed."""
    found: list[dict[str, Any]] = AXE.run(
        page, options={"runOnly": {"type": "tag", "values": RULE_TAGS}, "resultTypes": ["violations"]}
    ).response["violations"]
    lesser = [violation["id"] for violation in found if violation["impact"] not in BLOCKING]
    if lesser:
        print(f"{name}: {len(lesser)} minor or moderate accessibility violations, not failed ({', '.join(lesser)})")
    lines = []
    for violation in found:
        if violation["impact"] in BLOCKING:
            nodes = violation["nodes"]
            where = ", ".join(" ".join(map(str, node["target"])) for node in nodes[:TARGETS_SHOWN])
            more = f" and {len(nodes) - TARGETS_SHOWN} more" if len(nodes) > TARGETS_SHOWN else ""
            lines.append(f"{name}: {violation['id']} ({violation['impact']}) at {where}{more}")
    return lines


def assert_accessible(page: Page, name: str) -> None:
    """Fail listing every serious or critical axe violation of the page as it is now."""
    found = violations(page, name)
    assert not found, "accessibility violations:\n" + "\n".join(found)
