"""The anatomic canvas as the templates draw it (``web/canvas.html``): a plan's or a session's sites in regional
views, each numbered with its line in the page's site table (``bont.domain.canvas`` decides where)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from bont.domain.canvas import (
    DrawnSite,
    SitePosition,
    SiteToDraw,
    anchor,
    lay_out,
    regional_views,
    site_radius,
)
from bont.domain.doses import format_amount
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import Plan
from bont.domain.protocols import Protocol
from bont.services.sessions import GivenSite


def _name(knowledge: KnowledgeBase, muscle: str) -> str:
    return knowledge.targets[muscle].name if muscle in knowledge.targets else muscle


def _site(knowledge: KnowledgeBase, site: DrawnSite) -> dict[str, Any]:
    side = f", {site.side}" if site.side else ""
    spot = f" ({site.spot})" if site.spot else ""
    return {
        "number": site.number,
        "key": site.key,
        "muscle": site.muscle,
        "side": site.side,
        "x": format_amount(site.position.x),
        "y": format_amount(site.position.y),
        "placed": site.placed,
        "optional": site.optional,
        "label": f"{site.number}: {_name(knowledge, site.muscle)}{side}{spot}, {site.units.normalize():f} U",
    }


def canvas(knowledge: KnowledgeBase, drawn: Sequence[DrawnSite]) -> list[dict[str, Any]]:
    """The views of ``drawn`` sites: title, drawing, viewBox, the sites' radius and font size, and the sites."""
    views = []
    for view, sites in regional_views(knowledge.canvas, drawn):
        radius = site_radius(view)
        views.append(
            {
                "id": view.id,
                "title": view.title,
                "drawing": str(view.drawing),
                "view_box": view.box.view_box,
                "radius": radius,
                # A larger, unseen circle to tap: at least 24 px across on the narrowest view (WCAG 2.2 target size).
                "hit_radius": (radius * Decimal("1.45")).quantize(Decimal("0.001")),
                "font_size": (radius * Decimal("1.15")).quantize(Decimal("0.001")),
                "sites": [_site(knowledge, site) for site in sites],
            }
        )
    return views


def plan_sites(
    knowledge: KnowledgeBase,
    indication: str,
    document_sites: Sequence[Mapping[str, Any]],
    numbers: Sequence[int],
    placed: Mapping[str, SitePosition],
) -> tuple[DrawnSite, ...]:
    """A plan document's sites laid out, numbered with their site-table lines (``site_numbers``)."""
    sites = [
        SiteToDraw(site["muscle"], site["side"], Decimal(str(site["units"])), number, bool(site["optional"]))
        for site, number in zip(document_sites, numbers, strict=True)
    ]
    return lay_out(knowledge.targets, knowledge.canvas, indication, sites, placed)


def session_sites(knowledge: KnowledgeBase, indication: str, sites: Sequence[GivenSite]) -> tuple[DrawnSite, ...]:
    """A recorded session's sites where they were drawn when it was recorded (by the label's pattern where none
    was stored), numbered as the session page lists them, one line per site."""
    to_draw = [
        SiteToDraw(site.muscle, site.side, site.units, number, position=site.position)
        for number, site in enumerate(sites, start=1)
    ]
    return lay_out(knowledge.targets, knowledge.canvas, indication, to_draw, {})


def plan_positions(
    knowledge: KnowledgeBase, plan: Plan, placed: Mapping[str, SitePosition]
) -> list[SitePosition | None]:
    """Where each of the plan's sites is drawn, in the plan's order (None for a site with no place on the
    drawings): what the record form stores with the session."""
    sites = [SiteToDraw(site.muscle, str(site.side), site.units.amount, 0) for site in plan.sites]
    positions: list[SitePosition | None] = [None] * len(sites)
    for drawn in lay_out(knowledge.targets, knowledge.canvas, plan.indication, sites, placed):
        positions[drawn.index] = drawn.position
    return positions


def tap_targets(knowledge: KnowledgeBase, protocol: Protocol) -> list[dict[str, Any]]:
    """For the plan builder's script: each protocol row's muscle point on each side it may be given, so that a
    tap on the canvas adds a site to the nearest row."""
    rows = []
    for index, row in enumerate(protocol.muscles):
        target = knowledge.targets.get(row.muscle)
        if target is None or not target.diagram:
            continue
        sides = {side: anchor(target, side) for side in (("right", "left") if target.paired else ("midline",))}
        rows.append(
            {
                "row": index,
                "muscle": row.muscle,
                "name": target.name,
                "laterality": str(row.laterality),
                "optional": row.optional,
                "points": {side: [str(p.drawing), float(p.x), float(p.y)] for side, p in sides.items() if p},
            }
        )
    return rows
