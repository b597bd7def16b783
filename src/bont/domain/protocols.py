"""Dosing protocols: how a product is given for one indication and population.

For an approved use the protocol is the label's dosing; for an off-label use it is the protocol of the
cited key study, and it is marked off-label. Every figure is ``Cited``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from bont.domain.doses import CountRange, UnitRange, Units, UnitsPerKg, WeightCappedDose, format_amount
from bont.domain.errors import PlanningError
from bont.domain.evidence import Citation, Cited, Grade, cited_figures
from bont.domain.populations import AgeRange, Population
from bont.domain.products import Reconstitution
from bont.domain.reconstitution import Preparation
from bont.domain.windows import Window


class LabelStatus(StrEnum):
    APPROVED = "approved"
    OFF_LABEL = "off-label"


class Route(StrEnum):
    INTRAMUSCULAR = "intramuscular"
    INTRADERMAL = "intradermal"
    SUBCUTANEOUS = "subcutaneous"
    INTRADETRUSOR = "intradetrusor"
    INTRAGLANDULAR = "intraglandular"
    ENDOSCOPIC_INTRASPHINCTERIC = "endoscopic-intrasphincteric"
    ENDOSCOPIC_INTRAPYLORIC = "endoscopic-intrapyloric"
    INTRASPHINCTERIC = "intrasphincteric"
    SUBMUCOSAL = "submucosal"


class Guidance(StrEnum):
    ANATOMICAL_LANDMARKS = "anatomical-landmarks"
    EMG = "emg"
    ELECTRICAL_STIMULATION = "electrical-stimulation"
    ULTRASOUND = "ultrasound"
    CYSTOSCOPY = "cystoscopy"
    ENDOSCOPY = "endoscopy"
    STARCH_IODINE_TEST = "starch-iodine-test"


class Laterality(StrEnum):
    """How a row's units and sites relate to the body's sides.

    ``bilateral``: both sides are always injected; the figures are totals, split evenly left and right.
    ``per-side``: figures are for each treated side (the affected limb or eye); one or both sides.
    ``midline``: an unpaired target (procerus, detrusor, lower oesophageal sphincter).
    """

    BILATERAL = "bilateral"
    PER_SIDE = "per-side"
    MIDLINE = "midline"


@dataclass(frozen=True)
class MuscleDose:
    """One row of a protocol's dosing table."""

    muscle: str
    laterality: Laterality
    units: Cited[UnitRange] | None = None
    units_per_kg: Cited[UnitsPerKg] | None = None
    sites: Cited[CountRange] | None = None
    max_units: Cited[Decimal] | None = None  # per muscle, e.g. the SCM limit in cervical dystonia
    optional: bool = False  # e.g. chronic migraine follow-the-pain sites
    pattern: str | None = None  # the clinical pattern the row treats, e.g. "flexed elbow"
    note: str | None = None

    @property
    def key(self) -> str:
        return f"{self.muscle}{'+optional' if self.optional else ''}"


@dataclass(frozen=True)
class WeightBand:
    """A row of a weight-band dosing table: ``minimum_kg ≤ weight < below_kg``."""

    minimum_kg: Decimal
    below_kg: Decimal | None
    total_units: Decimal
    muscle_units: tuple[tuple[str, Decimal], ...] = ()  # per-side units per target, where the label gives them

    def contains(self, weight_kg: Decimal) -> bool:
        return weight_kg >= self.minimum_kg and (self.below_kg is None or weight_kg < self.below_kg)

    @property
    def key(self) -> str:
        upper = format_amount(self.below_kg) if self.below_kg is not None else ""
        return f"{format_amount(self.minimum_kg)}-{upper}kg"

    def __str__(self) -> str:
        return f"{self.key}: {format_amount(self.total_units)} U"


@dataclass(frozen=True)
class CumulativeLimit:
    """No more than ``maximum`` in any ``window``."""

    maximum: Units
    window: Window

    def __str__(self) -> str:
        return f"at most {format_amount(self.maximum.amount)} U in any {self.window}"


@dataclass(frozen=True)
class Protocol:
    """How one product is dosed for one indication in one population."""

    indication: str
    product: str
    population: Population
    status: LabelStatus
    title: str
    citation: Citation  # the protocol's principal source
    ages: Cited[AgeRange]
    route: Route
    guidance: tuple[Guidance, ...]
    muscles: tuple[MuscleDose, ...]
    variant: str | None = None
    initial_units: Cited[UnitRange] | None = None  # the first session's dose, where the label gives one
    total_units: Cited[UnitRange] | None = None  # the usual dose (a recommendation)
    total_units_per_kg: Cited[UnitsPerKg] | None = None
    session_maximum: Cited[Units | WeightCappedDose] | None = None  # the most in one session (limit or advice)
    per_side_maximum: Cited[Units | WeightCappedDose] | None = None  # the most in one limb or side per session
    weight_bands: tuple[Cited[WeightBand], ...] = ()
    sites: Cited[CountRange] | None = None
    max_units_per_site: Cited[Decimal] | None = None
    max_volume_per_site_ml: Cited[Decimal] | None = None
    volume_per_site_ml: Cited[Decimal] | None = None
    cumulative_limit: Cited[CumulativeLimit] | None = None
    min_interval_days: Cited[int] | None = None
    dilutions: tuple[Cited[Reconstitution], ...] = ()
    preparations: tuple[Cited[Preparation], ...] = ()  # the label's two-step preparations, one per vial size
    notes: tuple[Cited[str], ...] = ()

    @cached_property  # a key of the planner's and the check's tables, asked for several times per plan
    def id(self) -> str:
        base = f"{self.indication}/{self.product}/{self.population}"
        return f"{base}/{self.variant}" if self.variant else base

    @property
    def key(self) -> str:
        return self.id

    @cached_property  # walked once per protocol: every plan lists its sources
    def citations(self) -> tuple[Citation, ...]:
        """Every distinct citation the protocol's figures rest on, principal source first."""
        principal = (self.citation.source.id, self.citation.locator)
        seen: dict[tuple[str, str | None], Citation] = {principal: self.citation}
        for _, figure in cited_figures(self):
            seen.setdefault((figure.citation.source.id, figure.citation.locator), figure.citation)
        return tuple(seen.values())

    @cached_property  # the check asks for every plan
    def capped_muscles(self) -> tuple[MuscleDose, ...]:
        """The rows that limit the units in one muscle (the sternocleidomastoid in cervical dystonia)."""
        return tuple(row for row in self.muscles if row.max_units is not None)

    @cached_property  # the check asks for every plan
    def unverified_muscles(self) -> frozenset[str]:
        """Muscles whose row's units, units per kg or sites are not verified against the source."""
        return frozenset(
            row.muscle
            for row in self.muscles
            for figure in (row.units, row.units_per_kg, row.sites)
            if figure is not None and figure.citation.grade is Grade.UNVERIFIED
        )

    @cached_property  # the check asks for every plan
    def muscle_ids(self) -> frozenset[str]:
        """Every muscle of the protocol's rows, standard or optional."""
        return frozenset(row.muscle for row in self.muscles)

    @cached_property  # the check asks for every plan
    def has_optional_rows(self) -> bool:
        return any(row.optional for row in self.muscles)

    @cached_property  # the planner looks a row up for every muscle of every plan
    def rows(self) -> dict[tuple[str, bool], MuscleDose]:
        """The row for a muscle, standard (``False``) or optional (``True``): the first, where several match."""
        rows: dict[tuple[str, bool], MuscleDose] = {}
        for row in self.muscles:
            rows.setdefault((row.muscle, row.optional), row)
        return rows

    @property
    def fixed_sites(self) -> int | None:
        """Total injection sites of the non-optional rows, when every row has a fixed count."""
        if self.sites is not None and self.sites.value.is_fixed:
            return self.sites.value.minimum
        return None

    def preparation(self, vial_units: Decimal | None) -> Cited[Preparation] | None:
        """The label's preparation from this vial size (the first one when no size is chosen)."""
        return next(
            (p for p in self.preparations if vial_units is None or p.value.vial_units == vial_units),
            None,
        )

    def weight_band(self, weight_kg: Decimal) -> Cited[WeightBand] | None:
        return next((band for band in self.weight_bands if band.value.contains(weight_kg)), None)

    def session_limit_units(self, weight_kg: Decimal | None) -> Decimal | None:
        """The per-session maximum in units for this weight: the fixed figure, or "the lesser of X U/kg or
        Y U"; None when there is none, or when a weight-based one meets an unknown weight."""
        return _limit_units(self.session_maximum, weight_kg)

    def per_side_limit_units(self, weight_kg: Decimal | None) -> Decimal | None:
        """The most for one limb or side in a session ("per single upper limb"), as ``session_limit_units``."""
        return _limit_units(self.per_side_maximum, weight_kg)

    def side_conflict(self, sides: set[str]) -> str | None:
        """Why sites on these sides do not fit this protocol variant (a one-limb protocol with sites on both
        sides), or None when they fit. The planner and the check both ask this, so they choose alike."""
        if self.variant == UNILATERAL and {"left", "right"} <= sides:
            return (
                f"the {self.variant} protocol treats one side, but the plan has sites on both sides; "
                f"choose the {BILATERAL} variant or one side"
            )
        return None


def _limit_units(figure: Cited[Units | WeightCappedDose] | None, weight_kg: Decimal | None) -> Decimal | None:
    if figure is None:
        return None
    if isinstance(figure.value, Units):
        return figure.value.amount
    return figure.value.for_weight(weight_kg).amount if weight_kg is not None else None


UNILATERAL = "unilateral"
BILATERAL = "bilateral"


def protocol_for_plan(
    protocols: tuple[Protocol, ...], variant: str | None, sides: set[str], sex: str | None
) -> Protocol | None:
    """The protocol a plan follows, decided in one place for the planner and the check: the named variant,
    else the variant the plan's sides or the patient's sex select, else the first.

    Raises ``PlanningError`` (field ``variant``) when the named variant does not exist or does not fit the
    plan's sides.
    """
    if not protocols:
        return None
    if variant is None and len(protocols) == 1:
        return protocols[0]  # whatever the sides or the sex, as below
    by_variant = {p.variant: p for p in protocols}
    if variant is not None:
        if variant not in by_variant:
            raise PlanningError("variant", f"'{variant}' is not one of: {', '.join(str(p.variant) for p in protocols)}")
        chosen = by_variant[variant]
        conflict = chosen.side_conflict(sides)
        if conflict:
            raise PlanningError("variant", conflict)
        return chosen
    if BILATERAL in by_variant and {"left", "right"} <= sides:
        return by_variant[BILATERAL]
    if UNILATERAL in by_variant:
        return by_variant[UNILATERAL]
    gender = (sex or "").casefold()
    if gender in ("female", "male") and {"women", "men"} <= set(by_variant):
        return by_variant["women" if gender == "female" else "men"]
    return protocols[0]
