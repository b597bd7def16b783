"""The catalogue of injection targets: muscles, glands, skin areas and hollow organs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from bont.domain.codes import Coding
from bont.domain.evidence import Cited


class BodyRegion(StrEnum):
    HEAD = "head"
    EYE = "eye"
    FACE = "face"
    NECK = "neck"
    TRUNK = "trunk"
    UPPER_LIMB = "upper-limb"
    HAND = "hand"
    LOWER_LIMB = "lower-limb"
    FOOT = "foot"
    SKIN = "skin"
    SALIVARY_GLANDS = "salivary-glands"
    BLADDER = "bladder"
    GASTROINTESTINAL = "gastrointestinal"


class TargetKind(StrEnum):
    MUSCLE = "muscle"
    GLAND = "gland"
    SKIN_AREA = "skin-area"
    NERVE_TERRITORY = "nerve-territory"


class DiagramView(StrEnum):
    FRONT = "front"
    BACK = "back"
    HEAD = "head"
    BLADDER = "bladder"
    GI = "gi"


@dataclass(frozen=True)
class DiagramPoint:
    """Where a target is drawn on a body-map view, in percent of the view's width and height.

    For paired targets the point is on the patient's right; the map mirrors it for the left.
    """

    view: DiagramView
    x: Decimal
    y: Decimal

    def __post_init__(self) -> None:
        if not (0 <= self.x <= 100 and 0 <= self.y <= 100):
            raise ValueError(f"diagram point ({self.x}, {self.y}) is outside 0–100")


@dataclass(frozen=True)
class Target:
    """One injection target (mostly muscles; also glands, skin areas and the detrusor)."""

    id: str
    name: str
    region: BodyRegion
    kind: TargetKind
    paired: bool
    diagram: tuple[DiagramPoint, ...]
    aliases: tuple[str, ...] = ()
    snomed: Cited[Coding] | None = None  # the body structure, for FHIR's bodySite

    @property
    def key(self) -> str:
        return self.id
