"""Body-map dots for a plan: each muscle and side becomes one dot on its diagram view, labelled with the
sites and units, mirrored to the patient's left where needed (the catalogue stores the right side)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from bont.domain.anatomy import DiagramView
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import Plan, Side

VIEW_TITLES = {
    DiagramView.HEAD: "Head and face",
    DiagramView.FRONT: "Front",
    DiagramView.BACK: "Back",
    DiagramView.BLADDER: "Bladder",
    DiagramView.GI: "Gastrointestinal",
}


@dataclass(frozen=True)
class Dot:
    muscle: str
    name: str
    side: str
    x: Decimal
    y: Decimal
    sites: int
    units: Decimal

    @property
    def label(self) -> str:
        return f"{self.name} ({self.side}): {self.sites} × {self.units / self.sites:.4g} U"


def dots(knowledge: KnowledgeBase, plan: Plan) -> dict[str, list[Dot]]:
    grouped: dict[tuple[str, Side], list[Decimal]] = defaultdict(list)
    for site in plan.sites:
        grouped[(site.muscle, site.side)].append(site.units.amount)
    views: dict[str, list[Dot]] = defaultdict(list)
    for (muscle, side), units in grouped.items():
        target = knowledge.targets[muscle]
        for point in target.diagram:
            x = point.x
            # The catalogue's point is the patient's right; the left side is its mirror image.
            if side is Side.LEFT and target.paired:
                x = Decimal(100) - x
            views[str(point.view)].append(
                Dot(muscle, target.name, side.value, x, point.y, len(units), sum(units, Decimal(0)))
            )
    return {str(view): views[str(view)] for view in VIEW_TITLES if views.get(str(view))}


def body_map(knowledge: KnowledgeBase, plan: Plan) -> list[dict[str, object]]:
    """The views of the plan's body map as ``web/bodymap.html`` draws them: title, view and dots."""
    return [
        {"title": VIEW_TITLES[DiagramView(view)], "view": view, "dots": points}
        for view, points in dots(knowledge, plan).items()
    ]
