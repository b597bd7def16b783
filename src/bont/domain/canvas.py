"""The anatomic canvas: where each injection site of a plan or a session is drawn.

A site's position is a point on one of the body-map drawings (``DiagramView``: head and face, body front, body
back, bladder, gastrointestinal), in percent of the drawing's width and height, as the clinician sees the
patient: on the front drawings the patient's right is on the viewer's left, on the back drawing on the right.
The canvas shows *regional views*, windows on a drawing at a useful scale (the eyelids, the neck from behind, a
forearm); a plan is shown in the smallest views that hold its sites.

Where the label shows an injection pattern (blepharospasm's pretarsal sites, chronic migraine's 31 sites), a
muscle's sites are first drawn at the pattern's points, cited; otherwise, and beyond the pattern's points, they
are spread around the muscle's point on the drawing. A clinician may move, add or remove sites; a position so
placed is kept with the plan and stored with the session. A position says where a site was drawn, never a dose.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bont.domain.anatomy import DiagramView, Target
from bont.domain.doses import format_amount
from bont.domain.evidence import Cited

HUNDRED = Decimal(100)
# Sites spread around a muscle's point this far apart (percent of the drawing) unless its pattern says otherwise.
DEFAULT_SPACING = Decimal("1.6")
# A view is chosen to hold its sites with this margin around them (percent of the drawing).
MARGIN = Decimal(2)
# A regional view's sites keep this diameter on the screen whatever the view's scale (percent of its width).
SITE_DIAMETER_SHARE = Decimal("0.05")


@dataclass(frozen=True, order=True)
class SitePosition:
    drawing: DiagramView
    x: Decimal
    y: Decimal

    def __post_init__(self) -> None:
        if not (0 <= self.x <= HUNDRED and 0 <= self.y <= HUNDRED):
            raise ValueError(f"a site's position ({self.x}, {self.y}) is outside 0–100")

    @property
    def text(self) -> str:
        """As a form carries it: ``head:37.5,40.2``."""
        return f"{self.drawing}:{_plain(self.x)},{_plain(self.y)}"

    @classmethod
    def parse(cls, text: str) -> SitePosition:
        """A position from its text (``head:37.5,40.2``); ValueError naming what is wrong."""
        drawing, _, point = text.strip().partition(":")
        x, _, y = point.partition(",")
        try:
            view = DiagramView(drawing)
        except ValueError:
            raise ValueError(f"unknown drawing '{drawing}'") from None
        try:
            return cls(view, _rounded(Decimal(x)), _rounded(Decimal(y)))
        except ArithmeticError:
            raise ValueError("the position is not two numbers") from None

    def mirrored(self) -> SitePosition:
        """The same point on the patient's other side."""
        return SitePosition(self.drawing, HUNDRED - self.x, self.y)


@dataclass(frozen=True)
class Box:
    """A window on a drawing, in the drawing's percent."""

    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal

    def holds(self, left: Decimal, top: Decimal, right: Decimal, bottom: Decimal) -> bool:
        return self.x <= left and right <= self.x + self.width and self.y <= top and bottom <= self.y + self.height

    @property
    def area(self) -> Decimal:
        return self.width * self.height

    @property
    def view_box(self) -> str:
        """As SVG's ``viewBox`` reads it."""
        return " ".join(_plain(value) for value in (self.x, self.y, self.width, self.height))


WHOLE = Box(Decimal(0), Decimal(0), HUNDRED, HUNDRED)


@dataclass(frozen=True)
class RegionalView:
    """A named window on one drawing (``canvas.yaml``)."""

    id: str
    title: str
    drawing: DiagramView
    box: Box


@dataclass(frozen=True)
class PatternPoint:
    name: str  # as the label names the spot, e.g. "lateral pretarsal, lower lid"
    position: SitePosition  # on the patient's right for a paired muscle


@dataclass(frozen=True)
class SitePattern:
    """The label's injection points for one muscle in one indication, on the patient's right side (mirrored
    for the left), in the order the sites are drawn."""

    indication: str
    target: str
    points: Cited[tuple[PatternPoint, ...]]


@dataclass(frozen=True)
class Canvas:
    """The regional views and the label patterns of ``canvas.yaml``."""

    views: tuple[RegionalView, ...] = ()
    patterns: Mapping[tuple[str, str], SitePattern] | None = None
    spacing: Mapping[DiagramView, Decimal] | None = None  # per drawing; DEFAULT_SPACING for one not named

    def pattern(self, indication: str, target: str) -> SitePattern | None:
        return (self.patterns or {}).get((indication, target))

    def spacing_on(self, drawing: DiagramView) -> Decimal:
        return (self.spacing or {}).get(drawing, DEFAULT_SPACING)


@dataclass(frozen=True)
class SiteToDraw:
    """A site as the canvas receives it: its muscle and side, its units, and the number of its row in the
    plan's or session's site table (the number drawn on it)."""

    muscle: str
    side: str  # "left", "right", "midline" or "" (no side)
    units: Decimal
    row: int
    optional: bool = False  # of the protocol's optional rows (follow-the-pain), drawn after the standard ones
    position: SitePosition | None = None  # where it was drawn before (a recorded session's site): drawn there


@dataclass(frozen=True)
class DrawnSite:
    index: int  # its place in the sites laid out
    number: int  # the row of the site table it belongs to
    muscle: str
    side: str
    units: Decimal
    ordinal: int  # its place among the sites of its muscle on its side, from 0
    position: SitePosition
    spot: str  # the label pattern's name for the point, or "" when bont spread it
    placed: bool  # where the clinician put it
    optional: bool = False

    @property
    def key(self) -> str:
        return site_key(self.muscle, self.side, self.ordinal)


def site_key(muscle: str, side: str, ordinal: int) -> str:
    """What a placed position is kept under: the muscle, the side and the site's place among that muscle's sites on
    that side (``orbicularis-oculi:left:2``)."""
    return f"{muscle}:{side}:{ordinal}"


def anchor(target: Target, side: str) -> SitePosition | None:
    """The muscle's point on its drawing on the given side, or None when it has no point."""
    if not target.diagram:
        return None
    point = target.diagram[0]
    position = SitePosition(point.view, point.x, point.y)
    return position.mirrored() if side == "left" and target.paired else position


def lay_out(
    targets: Mapping[str, Target],
    canvas: Canvas,
    indication: str,
    sites: Sequence[SiteToDraw],
    placed: Mapping[str, SitePosition],
) -> tuple[DrawnSite, ...]:
    """Where each site is drawn: where the clinician placed it, else at the label pattern's next point, else
    spread around its muscle's point. A site of an unknown muscle, or one without a point, is not drawn."""
    counts: dict[tuple[str, str], int] = {}
    drawn: list[DrawnSite] = []
    for index, site in enumerate(sites):
        target = targets.get(site.muscle)
        if target is None or (centre := anchor(target, site.side)) is None:
            continue
        ordinal = counts.get((site.muscle, site.side), 0)
        counts[(site.muscle, site.side)] = ordinal + 1
        key = site_key(site.muscle, site.side, ordinal)
        pattern = canvas.pattern(indication, site.muscle)
        points = pattern.points.value if pattern is not None else ()
        spot = ""
        if site.position is not None:
            position = site.position
        elif key in placed:
            position = placed[key]
        elif ordinal < len(points):
            spot = points[ordinal].name
            position = points[ordinal].position
            position = position.mirrored() if site.side == "left" and target.paired else position
        else:
            spacing = canvas.spacing_on(centre.drawing)
            position = _spread(centre, ordinal - len(points), site.side, target.paired, spacing)
        drawn.append(
            DrawnSite(
                index,
                site.row,
                site.muscle,
                site.side,
                site.units,
                ordinal,
                position,
                spot,
                placed=key in placed,
                optional=site.optional,
            )
        )
    return tuple(drawn)


def _spread(centre: SitePosition, index: int, side: str, paired: bool, spacing: Decimal) -> SitePosition:
    """The ``index``-th point of a spiral of points around ``centre`` (the first on it), about ``spacing``
    apart: a muscle's sites drawn as a compact cluster, also the 10–15 sites of an axilla. A paired muscle's
    sites stay on its side of the midline."""
    if index == 0:
        return centre
    # Vogel's sunflower spiral: evenly spaced points in a disc, without a grid's gaps or overlaps.
    angle = index * math.radians(137.508)
    radius = float(spacing) * math.sqrt(index) * 0.9
    dx = Decimal(str(round(radius * math.cos(angle), 2)))
    dy = Decimal(str(round(radius * math.sin(angle), 2)))
    x = _clamp(centre.x - dx if side == "left" else centre.x + dx)
    spread = SitePosition(centre.drawing, x, _clamp(centre.y + dy))
    if paired and not on_its_side(spread, side):
        # Reflected back across the midline rather than pinned to it: no two sites land on one point.
        spread = SitePosition(centre.drawing, HUNDRED - x, spread.y)
    return spread


def regional_views(canvas: Canvas, sites: Sequence[DrawnSite]) -> list[tuple[RegionalView, list[DrawnSite]]]:
    """The views the sites are shown in: per drawing, the smallest regional view that holds all of that
    drawing's sites with a margin, else the whole drawing; in the order of the drawings."""
    shown: list[tuple[RegionalView, list[DrawnSite]]] = []
    for drawing in DRAWING_TITLES:  # the head first, then the body front and back, then the organs
        on_drawing = [site for site in sites if site.position.drawing is drawing]
        if not on_drawing:
            continue
        # The margin stops at the drawing's edge: a site on the sole is still held by the view of the feet.
        left = max(min(site.position.x for site in on_drawing) - MARGIN, Decimal(0))
        right = min(max(site.position.x for site in on_drawing) + MARGIN, HUNDRED)
        top = max(min(site.position.y for site in on_drawing) - MARGIN, Decimal(0))
        bottom = min(max(site.position.y for site in on_drawing) + MARGIN, HUNDRED)
        fitting = [
            view for view in canvas.views if view.drawing is drawing and view.box.holds(left, top, right, bottom)
        ]
        view = min(fitting, key=lambda v: v.box.area, default=None) or RegionalView(
            str(drawing), DRAWING_TITLES[drawing], drawing, WHOLE
        )
        shown.append((view, on_drawing))
    return shown


def site_radius(view: RegionalView) -> Decimal:
    """A site's radius in the view's own units, so that it looks the same size in every view."""
    return (view.box.width * SITE_DIAMETER_SHARE / 2).quantize(Decimal("0.001"))


DRAWING_TITLES = {
    DiagramView.HEAD: "Head and face",
    DiagramView.FRONT: "Body, front",
    DiagramView.BACK: "Body, back",
    DiagramView.BLADDER: "Bladder",
    DiagramView.GI: "Gastrointestinal tract",
}


def on_its_side(position: SitePosition, side: str) -> bool:
    """Whether a site of ``side`` drawn at ``position`` is on the patient's side it belongs to (the midline counts
    for both): on the back drawing the patient's right is on the viewer's right, on the others on the left."""
    if side not in ("left", "right") or position.x == HUNDRED / 2:
        return True
    viewer_left = position.x < HUNDRED / 2
    right = not viewer_left if position.drawing is DiagramView.BACK else viewer_left
    return right == (side == "right")


MAXIMUM_PLACED = 500  # more sites than any session has: a longer list is not a form's


def read_placed(text: str) -> dict[str, SitePosition]:
    """The positions a clinician placed, as a form carries them: ``key=drawing:x,y`` separated by ``;``.
    ValueError naming the first that is not one, or that puts a site on the patient's other side."""
    placed: dict[str, SitePosition] = {}
    items = [part.strip() for part in text.split(";") if part.strip()]
    if len(items) > MAXIMUM_PLACED:
        raise ValueError(f"more than {MAXIMUM_PLACED} positions")
    for item in items:
        key, _, position = item.partition("=")
        if key.count(":") != 2:
            raise ValueError(f"'{key[:60]}' is not a site")
        muscle, side, ordinal = key.split(":")
        if not muscle or side not in ("left", "right", "midline", "") or not (ordinal.isascii() and ordinal.isdigit()):
            raise ValueError(f"'{key[:60]}' is not a site")
        named = f"{muscle} site {int(ordinal) + 1}" + (f" ({side})" if side else "")
        try:
            placed[key] = SitePosition.parse(position)
        except ValueError as error:
            raise ValueError(f"{named}: {error}") from None
        if not on_its_side(placed[key], side):
            raise ValueError(f"{named}: the position is on the patient's other side")
    return placed


def write_placed(sites: Sequence[DrawnSite]) -> str:
    """The placed positions of ``sites`` as ``read_placed`` reads them."""
    return ";".join(f"{site.key}={site.position.text}" for site in sites if site.placed)


def _rounded(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ArithmeticError
    return value.quantize(Decimal("0.1"))


def _clamp(value: Decimal) -> Decimal:
    return min(max(value, Decimal(0)), HUNDRED)


def _plain(value: Decimal) -> str:
    text = format_amount(value)
    return "0" if text == "-0" else text  # a point clamped to the edge from below
