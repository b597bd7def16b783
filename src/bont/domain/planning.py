"""Dose planning: from a protocol to every injection site, its units and volume, the vials and the waste.

A plan starts from the protocol of the chosen product, indication and population; the clinician may then
choose muscles, sides, units and sites. Anything outside the protocol is allowed only as an explicit
deviation with a written reason, and every deviation is reported as a finding.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from bont.domain.dilution import judge_diluent
from bont.domain.doses import Units, format_amount, total_units
from bont.domain.errors import PlanningError, UnknownIdError
from bont.domain.evidence import Citation, Cited, Grade
from bont.domain.findings import Finding, Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.memo import remember
from bont.domain.populations import ADULT_AGE_YEARS, Population
from bont.domain.products import Formulation, Product, Reconstitution
from bont.domain.protocols import Laterality, MuscleDose, Protocol
from bont.domain.reconstitution import (
    SYRINGE_CAPACITY_ML,
    SYRINGE_MARK_ML,
    UNIT_PRECISION,
    Concentration,
    Draw,
    PreparedDose,
    draw,
    measurable_volume,
    split_units,
)

if TYPE_CHECKING:
    from bont.domain.safety import SessionSite  # the check reads plans: imported where a plan is checked

# bont's preference, not a label figure: when the label gives no dilution or per-site volume, choose the
# dilution that keeps each site at or under 0.5 mL, a usual intramuscular volume.
PREFERRED_SITE_VOLUME_ML = Decimal("0.5")
# How many answers each table of a ``PlanMemo`` keeps: the protocols' own rows at their dilutions need a few
# hundred; the bound keeps doses typed in by clinicians from growing a long-running server without end.
PLAN_MEMO_SIZE = 5_000


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    MIDLINE = "midline"


class SideChoice(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"

    @property
    def sides(self) -> tuple[Side, ...]:
        # Asked for every muscle, several times per plan: chosen by identity (an enum's hash is slow).
        if self is SideChoice.BOTH:
            return _BOTH_SIDES
        return _LEFT if self is SideChoice.LEFT else _RIGHT


_LEFT, _RIGHT, _BOTH_SIDES = (Side.LEFT,), (Side.RIGHT,), (Side.LEFT, Side.RIGHT)


@dataclass(frozen=True)
class MuscleChoice:
    """A clinician's choice for one muscle; ``units`` and ``sites`` are as the protocol row states them
    (per treated side for ``per-side`` rows, the total for ``bilateral`` rows)."""

    muscle: str
    side: SideChoice | None = None
    units: Decimal | None = None
    sites: int | None = None
    optional: bool = False  # one of the protocol's optional rows, e.g. follow-the-pain


@dataclass(frozen=True)
class PlanRequest:
    indication: str
    product: str
    on: date
    population: Population | None = None
    variant: str | None = None
    age_years: Decimal | None = None
    weight_kg: Decimal | None = None
    side: SideChoice | None = None  # default for per-side rows
    muscles: tuple[MuscleChoice, ...] = ()  # empty: the protocol's standard rows
    optional: tuple[MuscleChoice, ...] = ()
    deviation_reason: str | None = None
    vial_units: Decimal | None = None
    diluent_ml: Decimal | None = None
    # Whether this is the patient's first session of this product for this indication: a first session starts
    # from the label's initial dose; None when no history is known (the initial dose is the starting point).
    first_session: bool | None = None


@dataclass(frozen=True)
class PlannedSite:
    muscle: str
    side: Side
    units: Units
    draw: Draw

    @property
    def volume_ml(self) -> Decimal:
        return self.draw.volume_ml


@dataclass(frozen=True)
class PlannedMuscle:
    """A muscle's sites; what is read of them is worked out once, as a placed muscle serves many plans
    (``PlanMemo.placed``)."""

    muscle: str
    laterality: Laterality
    units: Units  # all sides together
    sites: tuple[PlannedSite, ...]
    optional: bool

    @cached_property
    def checked_sites(self) -> tuple[SessionSite, ...]:
        """The sites as the safety check reads them."""
        from bont.domain.safety import SessionSite

        return tuple(SessionSite(s.muscle, str(s.side), s.units.amount, s.draw.volume_ml) for s in self.sites)

    @cached_property
    def delivered(self) -> tuple[Decimal, ...]:
        """The units delivered at each site."""
        return tuple(site.draw.delivered.amount for site in self.sites)

    @cached_property
    def sides(self) -> frozenset[str]:
        return frozenset(str(site.side) for site in self.sites)

    @cached_property
    def rounded(self) -> bool:
        """Whether any site's volume is rounded to a syringe mark."""
        return any(site.draw.rounded for site in self.sites)

    @cached_property
    def largest_difference(self) -> Decimal:
        """The largest difference, at one site, between the units wanted and the units delivered."""
        return max((abs(site.draw.delivered.amount - site.units.amount) for site in self.sites), default=Decimal(0))

    @cached_property
    def syringes(self) -> int:
        """1 mL syringes: the sites filled in order, a new syringe when the next would overflow."""
        count = 0
        filled = SYRINGE_CAPACITY_ML
        for site in self.sites:
            volume = site.volume_ml
            if volume > SYRINGE_CAPACITY_ML:
                count += math.ceil(volume / SYRINGE_CAPACITY_ML)
                filled = SYRINGE_CAPACITY_ML
            elif filled + volume > SYRINGE_CAPACITY_ML:
                count += 1
                filled = volume
            else:
                filled += volume
        return count


@dataclass(frozen=True)
class VialUse:
    """One vial opened for the session and what is drawn from it."""

    vial_units: Decimal
    diluent_ml: Decimal | None  # None for a ready-to-use solution
    concentration: Concentration
    drawn: Units

    @property
    def remaining(self) -> Units:
        return Units(self.drawn.product, self.vial_units) - self.drawn


@dataclass(frozen=True)
class Plan:
    indication: str
    product: str
    population: Population
    on: date
    protocol: Protocol
    age_years: Decimal | None
    weight_kg: Decimal | None
    muscles: tuple[PlannedMuscle, ...]
    concentration: Concentration
    vials: tuple[VialUse, ...]
    syringes: int
    notes: tuple[Finding, ...]  # how the plan was made (rounding, scaling, deviations); never a safety verdict
    sources: tuple[Citation, ...]
    deviation_reason: str | None = None
    # The label's two-step preparation worked out for this dose (intradetrusor BOTOX); None when the dose is
    # drawn straight from the reconstituted vial.
    preparation: Cited[PreparedDose] | None = None

    @cached_property  # read by the check, the views and every total below
    def sites(self) -> tuple[PlannedSite, ...]:
        return tuple(site for muscle in self.muscles for site in muscle.sites)

    @property
    def total_units(self) -> Units:
        return total_units(self.product, [muscle.units for muscle in self.muscles])

    @property
    def units_drawn(self) -> Units:
        return Units(self.product, _drawn(_delivered(self.muscles)))

    @property
    def vial_units_opened(self) -> Units:
        return Units(self.product, sum((vial.vial_units for vial in self.vials), Decimal(0)))

    @property
    def waste(self) -> Units:
        return self.vial_units_opened - self.units_drawn

    @property
    def injection_volume_ml(self) -> Decimal | None:
        """The volume of every injection when all are alike (30 × 1 mL into the detrusor), else None."""
        volumes = {site.volume_ml for site in self.sites}
        return volumes.pop() if len(volumes) == 1 else None


# A muscle as dosed: the choice, the protocol's row (None outside the protocol), its units and its site count.
Dosed = tuple[MuscleChoice, MuscleDose | None, Decimal, int]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PlanMemo:
    """What plans of one knowledge base have in common, worked out once (``KnowledgeBase.plan_memo``): most plans
    follow a protocol's own rows, so the same muscles are placed alike at the same dilution, and the same vials
    chosen. Each table answers exactly as the computation it replaces; none holds more than ``PLAN_MEMO_SIZE``."""

    def __init__(self) -> None:
        # The protocol for the indication, product, population and variant a request names.
        self.protocols: dict[tuple[str, str, Population, str | None], Protocol] = {}
        self.standard_choices: dict[str, tuple[MuscleChoice, ...]] = {}  # by protocol id
        self.rows_as_they_stand: dict[tuple[str, MuscleChoice, Decimal | None], Dosed] = {}
        self.placed: dict[tuple[object, ...], PlannedMuscle] = {}
        self.label_dilutions: dict[tuple[str, Decimal | None, Decimal], tuple[Concentration, Citation | None]] = {}
        self.vial_sizes: dict[tuple[str, Decimal], tuple[Decimal, ...]] = {}
        self.fewest_vials: dict[tuple[Decimal, tuple[Decimal, ...]], tuple[Decimal, ...]] = {}
        self.units_for_weight: dict[tuple[str, str, bool, Decimal], tuple[Decimal, Decimal]] = {}
        self.sources: dict[tuple[str, Citation | None], tuple[Citation, ...]] = {}
        self.dilution_rows: dict[tuple[str, Decimal, Decimal], Cited[Reconstitution] | None] = {}
        # A protocol's standard rows for a side, weight and first session: dosed, then placed at a dilution.
        self.standard: dict[Hashable, tuple[tuple[Dosed, ...], Decimal, Decimal, tuple[Finding, ...]]] = {}
        self.standard_placed: dict[
            tuple[Hashable, tuple[str, str]], tuple[tuple[PlannedMuscle, ...], Decimal, Finding | None]
        ] = {}
        # The vials opened for an amount drawn at a dilution, with the notes on the dilution.
        self.vials: dict[tuple[object, ...], tuple[tuple[VialUse, ...], tuple[Finding, ...]]] = {}

    @staticmethod
    def remember(table: dict[K, V], key: K, value: V) -> V:
        """Keep ``value`` in one of these tables, each bounded by ``PLAN_MEMO_SIZE``."""
        return remember(table, key, value, PLAN_MEMO_SIZE)


def choose_protocol(knowledge: KnowledgeBase, request: PlanRequest, population: Population) -> Protocol:
    indication = knowledge.indication(request.indication)
    product = knowledge.product(request.product)
    candidates = indication.protocols_for(product.id, population)
    if request.variant is not None:
        candidates = tuple(p for p in candidates if p.variant == request.variant)
    if not candidates:
        available = sorted({f"{p.product} ({p.population})" for p in indication.protocols}) or ["none"]
        raise PlanningError(
            "product",
            f"no {population} protocol for {product.id} in {indication.id}; "
            f"protocols exist for: {', '.join(available)}",
        )
    if len(candidates) > 1:
        variants = ", ".join(str(p.variant) for p in candidates)
        raise PlanningError("variant", f"{indication.id} has several {product.id} protocols; choose one of: {variants}")
    return candidates[0]


def protocol_for(knowledge: KnowledgeBase, request: PlanRequest) -> Protocol:
    """The protocol ``make_plan`` would follow for this request (before any muscle choices)."""
    return choose_protocol(knowledge, request, _population(request))


def _population(request: PlanRequest) -> Population:
    if request.population is not None:
        return request.population
    if request.age_years is not None:
        return Population.ADULT if request.age_years >= ADULT_AGE_YEARS else Population.PEDIATRIC
    return Population.ADULT


def _quantize(amount: Decimal) -> Decimal:
    return amount.quantize(UNIT_PRECISION, rounding=ROUND_HALF_EVEN)


class _Planner:
    def __init__(self, knowledge: KnowledgeBase, request: PlanRequest) -> None:
        self.knowledge = knowledge
        self.request = request
        self.notes: list[Finding] = []
        self.deviations: list[str] = []
        if request.weight_kg is not None and request.weight_kg <= 0:
            raise PlanningError("weight_kg", "must be more than 0 kg")
        if request.age_years is not None and request.age_years < 0:
            raise PlanningError("age_years", "cannot be negative")
        self.population = _population(request)
        self.memo = knowledge.plan_memo
        key = (request.indication, request.product, self.population, request.variant)
        protocol = self.memo.protocols.get(key)
        if protocol is None:
            protocol = choose_protocol(knowledge, request, self.population)
            self.memo.remember(self.memo.protocols, key, protocol)
        self.protocol = protocol
        self.product: Product = knowledge.products.get(protocol.product) or knowledge.product(protocol.product)

    @cached_property
    def session_limit(self) -> Decimal | None:
        """The protocol's per-session maximum in units for this patient, if any."""
        return self.protocol.session_limit_units(self.request.weight_kg)

    def units(self, amount: Decimal) -> Units:
        return Units(self.product.id, amount)

    def report(self, finding: Finding) -> None:
        if finding not in self.notes:
            self.notes.append(finding)

    def require_reason(self, message: str) -> None:
        """A departure from the protocol is allowed only with a written reason."""
        if not self.request.deviation_reason:
            raise PlanningError("deviation_reason", f"{message}; a deviation from the protocol needs a written reason")
        self.deviations.append(message)

    def deviate(self, code: str, message: str, source: Citation | None) -> None:
        """Record a departure from the protocol as a planning note; allowed only with a written reason."""
        self.require_reason(message)
        self.report(Finding(Severity.WARN, code, f"{message} (deviation: {self.request.deviation_reason})", source))

    # -- choosing rows and doses

    def row_for(self, choice: MuscleChoice) -> MuscleDose | None:
        try:
            target = self.knowledge.target(choice.muscle)
        except UnknownIdError as error:
            raise PlanningError("muscle", str(error)) from error
        return self.protocol.rows.get((target.id, choice.optional))

    def default_units(self, row: MuscleDose) -> Decimal | None:
        band = self.weight_band_units(row)
        if band is not None:
            return band
        if row.units is not None:
            return row.units.value.minimum
        if row.units_per_kg is not None:
            return self.units_for_weight(row)[0]
        return None

    def units_for_weight(self, row: MuscleDose) -> tuple[Decimal, Decimal]:
        """The least and the most units of a row dosed by weight, for this patient's weight, to hundredths."""
        assert row.units_per_kg is not None
        weight = self.require_weight()
        key = (self.protocol.id, row.muscle, row.optional, weight)
        known = self.memo.units_for_weight.get(key)
        if known is None:
            allowed = row.units_per_kg.value.for_weight(weight)
            known = self.memo.remember(
                self.memo.units_for_weight, key, (_quantize(allowed.minimum), _quantize(allowed.maximum))
            )
        return known

    def weight_band_units(self, row: MuscleDose) -> Decimal | None:
        if not self.protocol.weight_bands:
            return None
        weight = self.require_weight()
        band = self.protocol.weight_band(weight)
        if band is None:
            lowest = min(b.value.minimum_kg for b in self.protocol.weight_bands)
            raise PlanningError(
                "weight_kg", f"no dosing band for this weight (the label gives none below {format_amount(lowest)} kg)"
            )
        per_side = dict(band.value.muscle_units)
        if row.muscle in per_side:
            factor = 2 if row.laterality is Laterality.BILATERAL else 1
            return per_side[row.muscle] * factor
        if len(self.protocol.muscles) == 1:
            return band.value.total_units
        return None

    def require_weight(self) -> Decimal:
        if self.request.weight_kg is None:
            raise PlanningError("weight_kg", f"{self.protocol.id} doses by body weight; give the weight in kg")
        return self.request.weight_kg

    def check_units(self, row: MuscleDose | None, choice: MuscleChoice, units: Decimal) -> None:
        if units <= 0:
            raise PlanningError(
                "muscle", f"{choice.muscle}: units must be more than 0, got {units}", muscle=choice.muscle
            )
        if row is None:
            return
        if row.units is not None and not row.units.value.contains(self.units(units)):
            self.deviate(
                "units-outside-protocol-range",
                f"{row.muscle}: {format_amount(units)} U is outside the protocol's {row.units.value}",
                row.units.citation,
            )
        elif row.units_per_kg is not None and self.request.weight_kg is not None:
            least, most = self.units_for_weight(row)
            if not (least <= units <= most):
                self.deviate(
                    "units-outside-protocol-range",
                    f"{row.muscle}: {format_amount(units)} U is outside {row.units_per_kg.value} × "
                    f"{format_amount(self.request.weight_kg)} kg = {format_amount(least)}–{format_amount(most)} U",
                    row.units_per_kg.citation,
                )

    def sites_for(self, row: MuscleDose | None, choice: MuscleChoice, units: Decimal) -> int:
        if choice.sites is not None:
            if choice.sites <= 0:
                raise PlanningError(
                    "muscle", f"{choice.muscle}: sites must be at least 1, got {choice.sites}", muscle=choice.muscle
                )
            if row is not None and row.sites is not None:
                allowed = row.sites.value
                if not allowed.minimum <= choice.sites <= allowed.maximum:
                    self.deviate(
                        "sites-outside-protocol-range",
                        f"{row.muscle}: {choice.sites} sites is outside the protocol's {allowed}",
                        row.sites.citation,
                    )
            return choice.sites
        if row is not None and row.sites is not None:
            return row.sites.value.minimum
        per_site_cap = self.protocol.max_units_per_site
        count = max(1, math.ceil(units / per_site_cap.value)) if per_site_cap is not None else 1
        # The source gives no site count: at least one site on each side of a bilateral row.
        if row is not None and row.laterality is Laterality.BILATERAL:
            count += count % 2
        return count

    def sides_for(self, row: MuscleDose | None, choice: MuscleChoice) -> tuple[Side, ...]:
        laterality = row.laterality if row is not None else self.default_laterality(choice)
        if laterality is Laterality.MIDLINE:
            return (Side.MIDLINE,)
        if laterality is Laterality.BILATERAL:
            return (Side.LEFT, Side.RIGHT)
        side = choice.side or self.request.side
        if side is None:
            raise PlanningError(
                "side", f"{choice.muscle} is dosed per treated side; choose left, right or both", muscle=choice.muscle
            )
        return side.sides

    def bilateral_sides(self, row: MuscleDose | None, choice: MuscleChoice, sites: int) -> tuple[Side, ...]:
        """Sides for a row whose figures are totals for both sides.

        Sites alternate left and right. A side named on the choice puts every site there: the optional
        follow-the-pain rows go to the painful side; for a standard row that is a deviation.
        """
        if choice.side in (SideChoice.LEFT, SideChoice.RIGHT):
            if row is not None and not row.optional:
                self.deviate(
                    "unilateral-injection-of-bilateral-row",
                    f"{row.muscle} is injected on both sides in the protocol; only the {choice.side} side is planned",
                    row.sites.citation if row.sites else self.protocol.citation,
                )
            return (Side(choice.side.value),) * sites
        first = self.request.side
        if sites % 2 and first not in (SideChoice.LEFT, SideChoice.RIGHT):
            raise PlanningError(
                "side",
                f"{choice.muscle}: {sites} site(s) cannot be split evenly; choose the side for the odd one",
                muscle=choice.muscle,
            )
        order = (Side.RIGHT, Side.LEFT) if first is SideChoice.RIGHT else (Side.LEFT, Side.RIGHT)
        return (order * (sites // 2 + 1))[:sites]

    def default_laterality(self, choice: MuscleChoice) -> Laterality:
        target = self.knowledge.target(choice.muscle)
        return Laterality.PER_SIDE if target.paired else Laterality.MIDLINE

    # -- building the plan

    def plan(self) -> Plan:
        protocol = self.protocol
        request = self.request
        # The protocol's standard rows as they stand are dosed and placed alike for every plan with the same
        # side, weight and first session: that part is worked out once, with its notes (``PlanMemo.standard``).
        standard = (
            (
                protocol.id,
                request.side,
                None if request.weight_kg is None else str(request.weight_kg),
                request.first_session,
            )
            if not request.muscles and not request.optional
            else None
        )
        muscles, total, largest_site = self.dosed_muscles(standard)
        prepared = self.prepare(total)
        dilution_source: Citation | None
        if prepared is not None:
            concentration, dilution_source = prepared.value.final_concentration, prepared.citation
        else:
            concentration, dilution_source = self.concentration(largest_site)
        dilution = (concentration.product, str(concentration.units_per_ml))
        planned, drawn, rounding = self.placed_muscles(standard, muscles, concentration, dilution)
        vials = (
            self.prepared_vials(prepared.value, drawn) if prepared else self.open_vials(drawn, concentration, dilution)
        )
        if rounding is not None:
            self.report(rounding)
        sources = self.sources(dilution_source)
        return Plan(
            indication=protocol.indication,
            product=protocol.product,
            population=self.population,
            on=self.request.on,
            protocol=protocol,
            age_years=self.request.age_years,
            weight_kg=self.request.weight_kg,
            muscles=planned,
            concentration=concentration,
            vials=vials,
            # A prepared dose is injected from the preparation's syringes, not from 1 mL syringes.
            # Each muscle's sites are filled into syringes of their own.
            syringes=0 if prepared else sum(muscle.syringes for muscle in planned),
            notes=tuple(self.notes),
            sources=sources,
            deviation_reason=self.request.deviation_reason if self.deviations else None,
            preparation=prepared,
        )

    def dosed_muscles(self, standard: Hashable | None) -> tuple[tuple[Dosed, ...], Decimal, Decimal]:
        """Every muscle's row, units and site count, session caps applied; their total and the largest dose at
        one site. ``standard`` keys the protocol's standard rows in ``PlanMemo.standard`` (None for chosen rows)."""
        memo = self.memo
        if standard is not None:
            known = memo.standard.get(standard)
            if known is not None:
                muscles, total, largest_site, notes = known
                for note in notes:
                    self.report(note)
                return muscles, total, largest_site
        choices = self.request.muscles or self.standard_choices()
        choices = self.from_initial_dose(choices) + tuple(
            MuscleChoice(c.muscle, c.side, c.units, c.sites, optional=True) for c in self.request.optional
        )
        dosed = [self.plan_muscle(choice) for choice in choices]
        for choice, _, units, count in dosed:
            if units < UNIT_PRECISION * count:
                raise PlanningError(
                    "muscle",
                    f"{choice.muscle}: the dose is too small to give in {count} site(s)",
                    muscle=choice.muscle,
                )
        capped, total = self.apply_session_cap(dosed, self.planned_total(dosed))
        self.check_total(capped, total)
        largest_site = max((units / count for _, _, units, count in capped), default=Decimal(0))
        muscles = tuple(capped)
        # Kept without deviations only (a deviation's note carries this request's reason); nothing is noted
        # before this step, so the notes so far are its own.
        if standard is not None and not self.deviations:
            memo.remember(memo.standard, standard, (muscles, total, largest_site, tuple(self.notes)))
        return muscles, total, largest_site

    def placed_muscles(
        self,
        standard: Hashable | None,
        muscles: tuple[Dosed, ...],
        concentration: Concentration,
        dilution: tuple[str, str],
    ) -> tuple[tuple[PlannedMuscle, ...], Decimal, Finding | None]:
        """The muscles' sites at this concentration, kept within the session's limit, the units drawn for them
        and the note on rounding their volumes, if any; the standard rows' are kept in ``PlanMemo.standard_placed``."""
        memo = self.memo
        key = None if standard is None else (standard, dilution)
        if key is not None:
            known = memo.standard_placed.get(key)
            if known is not None:
                return known
        draws: dict[Decimal, Draw] = {}
        placed = tuple(self.place_sites(m, concentration, dilution, draws) for m in muscles)
        drawn = _drawn(_delivered(placed))
        planned = self.within_session_limit(placed, drawn)
        if planned is not placed:
            drawn = _drawn(_delivered(planned))
        conflict = self.protocol.side_conflict(set().union(*(muscle.sides for muscle in planned)))
        if conflict:
            raise PlanningError("variant", conflict)
        note = None
        if any(muscle.rounded for muscle in planned):
            worst = max(muscle.largest_difference for muscle in planned)
            note = Finding(
                Severity.INFO,
                "volume-rounded",
                f"volumes are rounded to the 0.01 mL marks of a 1 mL syringe; the largest difference "
                f"at one site is {format_amount(round(worst, 4))} U",
            )
        if key is not None and not self.deviations:
            memo.remember(memo.standard_placed, key, (planned, drawn, note))
        return planned, drawn, note

    def standard_choices(self) -> tuple[MuscleChoice, ...]:
        """The protocol's standard rows, chosen as they stand."""
        protocol, memo = self.protocol, self.memo
        known = memo.standard_choices.get(protocol.id)
        if known is not None:
            return known
        choices = tuple(MuscleChoice(row.muscle) for row in protocol.muscles if not row.optional)
        return memo.remember(memo.standard_choices, protocol.id, choices)

    def sources(self, dilution_source: Citation | None) -> tuple[Citation, ...]:
        """The protocol's citations, then the dilution's where it is another."""
        key = (self.protocol.id, dilution_source)
        known = self.memo.sources.get(key)
        if known is None:
            cited = self.protocol.citations + ((dilution_source,) if dilution_source else ())
            known = self.memo.remember(self.memo.sources, key, tuple(dict.fromkeys(cited)))
        return known

    def from_initial_dose(self, choices: tuple[MuscleChoice, ...]) -> tuple[MuscleChoice, ...]:
        """A first session starts from the label's initial dose (XEOMIN cervical dystonia 120 U, DYSPORT 500 U):
        where the protocol gives no per-muscle dose, the initial dose is divided evenly among the chosen
        muscles and sides that have no units of their own. A later session's doses are the clinician's."""
        initial = self.protocol.initial_units
        if initial is None or self.request.first_session is False:
            return choices
        open_slots = [
            (index, len(self.sides_of(choice)))
            for index, choice in enumerate(choices)
            if choice.units is None and (row := self.row_for(choice)) is not None and self.default_units(row) is None
        ]
        given = sum(
            (choice.units * len(self.sides_of(choice)) for choice in choices if choice.units is not None),
            Decimal(0),
        )
        remaining = initial.value.minimum - given
        if not open_slots or remaining <= 0:
            return choices
        slots = sum(count for _, count in open_slots)
        # Whole units, as clinicians write them (83 U, not 83.33 U); below 1 U, the syringe's precision.
        step = Decimal(1) if remaining >= slots else UNIT_PRECISION
        share = (remaining / slots).quantize(step, rounding="ROUND_FLOOR")
        known = "" if self.request.first_session else " (no earlier session is on record)"
        self.report(
            Finding(
                Severity.INFO,
                "initial-dose",
                f"first session{known}: the initial dose of {format_amount(initial.value.minimum)} U, less the "
                f"units chosen, is divided evenly: {format_amount(share)} U per muscle and side; adjust it to the "
                "pattern",
                initial.citation,
            )
        )
        planned = list(choices)
        for index, _ in open_slots:
            planned[index] = replace(planned[index], units=share)
        return tuple(planned)

    def sides_of(self, choice: MuscleChoice) -> tuple[Side, ...]:
        side = choice.side or self.request.side
        return side.sides if side is not None else (Side.LEFT,)

    def plan_muscle(self, choice: MuscleChoice) -> Dosed:
        """The muscle's row, units and site count. A protocol's row chosen as it stands plans alike for every
        patient of the same weight; when it departs from nothing (no deviation), it is worked out once."""
        key = (self.protocol.id, choice, self.request.weight_kg)
        known = self.memo.rows_as_they_stand.get(key)
        if known is not None:
            return known
        deviations = len(self.deviations)  # every note of a muscle comes with a deviation
        planned = self.work_out_muscle(choice)
        as_it_stands = choice.units is None and choice.sites is None and planned[1] is not None
        if as_it_stands and len(self.deviations) == deviations:
            self.memo.remember(self.memo.rows_as_they_stand, key, planned)
        return planned

    def work_out_muscle(self, choice: MuscleChoice) -> Dosed:
        row = self.row_for(choice)
        if row is None:
            # The check reports the muscle (muscle-not-in-protocol); the planner only asks for the reason.
            kind = "optional rows" if choice.optional else "muscles"
            self.require_reason(f"{choice.muscle} is not among the protocol's {kind}")
        units = choice.units if choice.units is not None else (self.default_units(row) if row else None)
        if units is None:
            raise PlanningError(
                "muscle",
                f"the source gives no per-muscle dose for {choice.muscle} in {self.protocol.id}; "
                "give the units for this muscle",
                muscle=choice.muscle,
            )
        self.check_units(row, choice, units)
        return choice, row, _quantize(units), self.sites_for(row, choice, units)

    def apply_session_cap(self, muscles: Sequence[Dosed], planned: Decimal) -> tuple[Sequence[Dosed], Decimal]:
        """Scale weight-based defaults down to "the lesser of X U/kg or Y U" when they would exceed it; not when
        the clinician gave any muscle's units (those doses are the clinician's, for the check to judge).
        ``planned`` is the muscles' total (``planned_total``); gives the muscles and their total."""
        cap_figure = self.protocol.session_maximum
        limit = self.session_limit
        chosen_units = any(choice.units is not None for choice in (*self.request.muscles, *self.request.optional))
        if cap_figure is None or limit is None or chosen_units:
            return muscles, planned
        cap = cap_figure.value
        if planned <= limit:
            return muscles, planned
        if not any(row and row.units_per_kg for _, row, _, _ in muscles):
            if self.request.muscles:
                return muscles, planned  # the clinician's muscles at fixed doses: for the check to judge
            raise PlanningError(
                "muscle",
                f"the protocol's standard rows add up to {format_amount(planned)} U, above its session maximum of "
                f"{format_amount(limit)} U; choose the muscles to treat",
            )
        factor = limit / planned
        self.report(
            Finding(
                Severity.INFO,
                "dose-capped-by-weight",
                f"the weight-based doses add up to {format_amount(_quantize(planned))} U; scaled to the "
                f"session maximum, {cap} = {format_amount(_quantize(limit))} U",
                cap_figure.citation,
            )
        )
        scaled = []
        for choice, row, units, sites in muscles:
            reduced = (units * factor).quantize(UNIT_PRECISION, rounding="ROUND_FLOOR")
            scaled.append((choice, row, reduced, sites))
        return scaled, self.planned_total(scaled)

    def within_session_limit(self, planned: tuple[PlannedMuscle, ...], drawn: Decimal) -> tuple[PlannedMuscle, ...]:
        """Volume rounding must not carry a capped dose over its cap: take one syringe mark off the largest
        sites until the units delivered (``drawn``, as planned) fit again (199.8 U planned must not become 200 U
        drawn)."""
        limit = self.session_limit
        if (
            limit is None
            or drawn <= limit
            or sum(site.units.amount for muscle in planned for site in muscle.sites) > limit
        ):
            return planned
        muscles = [list(muscle.sites) for muscle in planned]
        while _drawn(site.draw.delivered.amount for group in muscles for site in group) > limit:
            group, index = max(
                ((g, i) for g, group in enumerate(muscles) for i in range(len(group))),
                key=lambda gi: muscles[gi[0]][gi[1]].volume_ml,
            )
            site = muscles[group][index]
            volume = site.volume_ml - SYRINGE_MARK_ML
            concentration = site.draw.delivered.amount / site.volume_ml
            muscles[group][index] = replace(
                site,
                draw=replace(site.draw, volume_ml=volume, delivered=self.units(volume * concentration)),
            )
        return tuple(replace(muscle, sites=tuple(group)) for muscle, group in zip(planned, muscles, strict=True))

    def check_total(self, muscles: Sequence[Dosed], total: Decimal) -> None:
        """Note a plan whose standard rows fall below the protocol's total. Above it, and above any maximum,
        is for the safety check to judge, not the planner."""
        # The protocol's total describes its standard rows; optional rows are extra.
        optional = any(choice.optional for choice, _, _, _ in muscles)
        standard = self.planned_total([m for m in muscles if not m[0].optional]) if optional else total
        expected = self.protocol.total_units
        if expected is not None and standard < expected.value.minimum:
            self.report(
                Finding(
                    Severity.INFO,
                    "total-below-protocol-range",
                    f"the protocol's rows total {format_amount(standard)} U; the protocol gives {expected.value}",
                    expected.citation,
                )
            )

    def planned_total(self, muscles: Sequence[Dosed]) -> Decimal:
        """Units of all planned muscles, counting per-side rows once for every treated side."""
        return sum(
            (
                units * len(self.sides_for(row, choice)) if self.per_side(row) else units
                for choice, row, units, _ in muscles
            ),
            Decimal(0),
        )

    @staticmethod
    def per_side(row: MuscleDose | None) -> bool:
        return row is None or row.laterality is Laterality.PER_SIDE

    def place_sites(
        self,
        planned: Dosed,
        concentration: Concentration,
        dilution: tuple[str, str],
        draws: dict[Decimal, Draw],
    ) -> PlannedMuscle:
        """The muscle's sites, left side first, then right, then midline; ``dilution`` names the concentration
        (its product and the text of its units per mL); ``draws`` holds the draw of every
        amount already met in this plan (most sites of a protocol receive the same few amounts). A muscle placed
        alike before at this concentration is taken from the plan memo (``PlanMemo.placed``)."""
        choice, row, units, sites = planned
        laterality = row.laterality if row else self.default_laterality(choice)
        bilateral = laterality is Laterality.BILATERAL
        sides = self.bilateral_sides(row, choice, sites) if bilateral else self.sides_for(row, choice)
        muscle = row.muscle if row is not None else self.knowledge.target(choice.muscle).id  # rows name ids
        # Decimals that compare equal may print differently (50 and 5E+1, from 2 or 2.0 mL), and so would the
        # units delivered: the key holds the concentration's text. The units are always in hundredths.
        key = (muscle, laterality, sides, units, sites, choice.optional, dilution)
        placed = self.memo.placed.get(key)
        if placed is None:
            placed = self.memo.remember(
                self.memo.placed,
                key,
                self.placed(muscle, laterality, sides, units, sites, choice.optional, concentration, draws),
            )
        return placed

    def placed(
        self,
        muscle: str,
        laterality: Laterality,
        sides: tuple[Side, ...],
        units: Decimal,
        sites: int,
        optional: bool,
        concentration: Concentration,
        draws: dict[Decimal, Draw],
    ) -> PlannedMuscle:
        """A muscle's sites worked out: for a bilateral row ``sides`` names the side of every site in turn; else
        every side named receives ``sites`` sites."""
        placed: dict[Side, list[PlannedSite]] = {Side.LEFT: [], Side.RIGHT: [], Side.MIDLINE: []}
        if laterality is Laterality.BILATERAL:
            for side, amount in zip(sides, split_units(units, sites), strict=True):
                placed[side].append(self.site(muscle, side, amount, concentration, draws))
            muscle_units = units
        else:
            amounts = split_units(units, sites)
            for side in sides:
                placed[side].extend(self.site(muscle, side, amount, concentration, draws) for amount in amounts)
            muscle_units = units * len(sides)
        return PlannedMuscle(
            muscle=muscle,
            laterality=laterality,
            units=self.units(muscle_units),
            sites=(*placed[Side.LEFT], *placed[Side.RIGHT], *placed[Side.MIDLINE]),
            optional=optional,
        )

    def site(
        self, muscle: str, side: Side, amount: Decimal, concentration: Concentration, draws: dict[Decimal, Draw]
    ) -> PlannedSite:
        measured = draws.get(amount)
        if measured is None:
            measured = draws[amount] = draw(self.units(amount), concentration)
        return PlannedSite(muscle, side, measured.wanted, measured)

    # -- reconstitution and vials

    def prepare(self, dose: Decimal) -> Cited[PreparedDose] | None:
        """The label's two-step preparation for this dose, when the protocol has one for the chosen vial and the
        clinician did not choose another in-vial volume."""
        request = self.request
        if not self.protocol.preparations or self.product.formulation is Formulation.SOLUTION:
            return None
        preparation = self.protocol.preparation(request.vial_units)
        label = self.protocol.preparations[0]
        if preparation is None or (
            request.diluent_ml is not None and request.diluent_ml != preparation.value.vial_diluent_ml
        ):
            self.report(
                Finding(
                    Severity.WARN,
                    "preparation-not-followed",
                    f"the label prepares this dose from a {format_amount(label.value.vial_units)} U vial with "
                    f"{format_amount(label.value.vial_diluent_ml)} mL, diluted in {label.value.syringes} syringe(s) of "
                    f"{format_amount(label.value.syringe_ml)} mL; this plan injects from the vial as reconstituted",
                    label.citation,
                )
            )
            return None
        try:
            prepared = preparation.value.for_dose(self.units(dose))
        except ValueError as error:
            raise PlanningError("muscle", str(error)) from error
        if preparation.citation.grade is Grade.UNVERIFIED:
            self.report(
                Finding(
                    Severity.WARN,
                    "preparation-unverified",
                    "part of the preparation steps was not read in the label (see the source's note); check them "
                    "against the prescribing information before preparing",
                    preparation.citation,
                )
            )
        if prepared.rounded:
            self.report(
                Finding(
                    Severity.INFO,
                    "volume-rounded",
                    f"the reconstituted toxin per syringe is rounded to {format_amount(prepared.draw_ml)} mL, a 0.1 mL "
                    f"mark; the syringes hold {format_amount(round(prepared.delivered.amount, 2))} U in all",
                )
            )
        return Cited(prepared, preparation.citation)

    def prepared_vials(self, prepared: PreparedDose, needed: Decimal) -> tuple[VialUse, ...]:
        """The vials a preparation opens, each with the label's in-vial volume, and what is drawn from each."""
        remaining = needed
        preparation = prepared.preparation
        uses = []
        for _ in range(prepared.vials):
            drawn = min(preparation.vial_units, remaining)
            remaining -= drawn
            uses.append(
                VialUse(
                    preparation.vial_units,
                    preparation.vial_diluent_ml,
                    preparation.vial_concentration,
                    self.units(drawn),
                )
            )
        return tuple(uses)

    def concentration(self, largest_site_units: Decimal) -> tuple[Concentration, Citation | None]:
        """The protocol's dilution; else the most dilute verified label dilution whose largest site still
        fits one syringe and the per-site volume maximum (more dilute means smaller rounding errors)."""
        product, request = self.product, self.request
        if product.formulation is Formulation.SOLUTION:
            vial = product.vials[0]
            if vial.solution_ml is None:
                raise PlanningError("product", f"{product.id} has no solution volume recorded")
            stock = Concentration(product.id, vial.units / vial.solution_ml)
            if request.diluent_ml is not None or request.vial_units is not None:
                raise PlanningError(
                    "diluent_ml", f"{product.brand} is a ready-to-use solution; it is not reconstituted"
                )
            return stock, product.diluent.citation
        if request.diluent_ml is not None:
            vial_units = request.vial_units or max(product.vial_sizes)
            self.require_vial(vial_units)
            verdict = judge_diluent(product, vial_units, request.diluent_ml)
            if verdict.refusal is not None:
                raise PlanningError("diluent_ml", verdict.refusal)
            chosen = Reconstitution(vial_units, request.diluent_ml)
            return Concentration.of(product.id, vial_units, request.diluent_ml), self.dilution_citation(chosen)
        key = (self.protocol.id, request.vial_units, largest_site_units)
        known = self.memo.label_dilutions.get(key)
        if known is not None:
            return known
        return self.memo.remember(self.memo.label_dilutions, key, self.label_dilution(largest_site_units))

    def label_dilution(self, largest_site_units: Decimal) -> tuple[Concentration, Citation]:
        """The protocol's dilution, else the most dilute verified label dilution that fits (``concentration``)."""
        product, request = self.product, self.request
        label_rows = [
            r for r in product.reconstitution if r.citation.grade is not Grade.UNVERIFIED and not r.value.intermediate
        ]
        options = list(self.protocol.dilutions) or sorted(label_rows, key=lambda r: r.value.units_per_ml)
        if request.vial_units is not None:
            self.require_vial(request.vial_units)
            options = [o for o in options if o.value.vial_units == request.vial_units]
        if not options:
            raise PlanningError(
                "diluent_ml",
                f"no verified label dilution is recorded for {product.brand} here; give the diluent volume",
            )
        # Prefer the label's per-site volume maximum, else bont's default of 0.5 mL per intramuscular site,
        # then what one syringe holds; failing all, the most concentrated label dilution.
        preferred = (
            self.protocol.max_volume_per_site_ml.value
            if self.protocol.max_volume_per_site_ml is not None
            else PREFERRED_SITE_VOLUME_ML
        )
        chosen_row = max(options, key=lambda o: o.value.units_per_ml)
        for limit in (min(preferred, SYRINGE_CAPACITY_ML), SYRINGE_CAPACITY_ML):
            fitting = [o for o in options if largest_site_units / o.value.units_per_ml <= limit]
            if fitting:
                chosen_row = fitting[0]
                break
        return (
            Concentration.of(product.id, chosen_row.value.vial_units, chosen_row.value.diluent_ml),
            chosen_row.citation,
        )

    def require_vial(self, vial_units: Decimal) -> None:
        if vial_units not in self.product.vial_sizes:
            sizes = ", ".join(format_amount(v) for v in self.product.vial_sizes)
            raise PlanningError("vial_units", f"{self.product.brand} comes in {sizes} U vials, not {vial_units}")

    def dilution_citation(self, chosen: Reconstitution) -> Citation | None:
        citation, note = self.dilution_row(chosen)
        if note is not None:
            self.report(note)
        return citation

    def dilution_row(self, chosen: Reconstitution) -> tuple[Citation | None, Finding | None]:
        """The citation of a dilution, and the note to make when it is not a verified label dilution."""
        key = (self.protocol.id, chosen.vial_units, chosen.diluent_ml)
        try:  # one read, not a test and a read: another thread may empty a full table between them
            match = self.memo.dilution_rows[key]
        except KeyError:
            known = [*self.protocol.dilutions, *self.product.reconstitution]
            match = self.memo.remember(
                self.memo.dilution_rows, key, next((row for row in known if row.value == chosen), None)
            )
        note = None
        if match is None or match.citation.grade is Grade.UNVERIFIED:
            note = Finding(
                Severity.WARN,
                "dilution-not-in-label",
                f"{format_amount(chosen.vial_units)} U in {format_amount(chosen.diluent_ml)} mL is not a "
                f"verified label dilution for {self.product.brand} (off-label dilution)",
                match.citation if match else self.product.diluent.citation,
            )
        return (match.citation if match else None), note

    def open_vials(
        self, needed: Decimal, concentration: Concentration, dilution: tuple[str, str]
    ) -> tuple[VialUse, ...]:
        """The vials to open for ``needed`` units at this concentration (``dilution`` names it, as in
        ``place_sites``), each with its diluent; the same amount at the same dilution opens the same vials."""
        vial_units = self.request.vial_units
        key = (self.protocol.id, None if vial_units is None else str(vial_units), needed, dilution)
        known = self.memo.vials.get(key)
        if known is None:
            known = self.memo.remember(self.memo.vials, key, self.vials_for(needed, concentration))
        uses, notes = known
        for note in notes:
            self.report(note)
        return uses

    def vials_for(
        self, needed: Decimal, concentration: Concentration
    ) -> tuple[tuple[VialUse, ...], tuple[Finding, ...]]:
        solution = self.product.formulation is Formulation.SOLUTION
        sizes = (self.request.vial_units,) if self.request.vial_units else self.label_vial_sizes(concentration)
        uses = []
        notes = []
        remaining = needed
        vials = self.memo.fewest_vials.get((needed, sizes))
        if vials is None:
            vials = self.memo.remember(self.memo.fewest_vials, (needed, sizes), _fewest_vials(needed, sizes))
        for vial_units in vials:
            drawn = min(vial_units, remaining)
            remaining -= drawn
            diluent = None if solution else measurable_volume(concentration.diluent_for(vial_units))
            if diluent is not None:
                _, note = self.dilution_row(Reconstitution(vial_units, diluent))
                if note is not None and note not in notes:
                    notes.append(note)
            uses.append(VialUse(vial_units, diluent, concentration, self.units(drawn)))
        return tuple(uses), tuple(notes)

    def label_vial_sizes(self, concentration: Concentration) -> tuple[Decimal, ...]:
        """Vial sizes that the label (or protocol) reconstitutes to this concentration; else every size."""
        key = (self.protocol.id, concentration.units_per_ml)
        known = self.memo.vial_sizes.get(key)
        if known is None:
            known = self.memo.remember(self.memo.vial_sizes, key, self.verified_vial_sizes(concentration))
        return known

    def verified_vial_sizes(self, concentration: Concentration) -> tuple[Decimal, ...]:
        verified = {
            row.value.vial_units
            for row in (*self.protocol.dilutions, *self.product.reconstitution)
            if row.citation.grade is not Grade.UNVERIFIED and row.value.units_per_ml == concentration.units_per_ml
        }
        return tuple(size for size in self.product.vial_sizes if size in verified) or self.product.vial_sizes


def _delivered(muscles: Iterable[PlannedMuscle]) -> Iterator[Decimal]:
    """The units delivered at every site, muscle by muscle."""
    return itertools.chain.from_iterable(muscle.delivered for muscle in muscles)


def _drawn(delivered: Iterable[Decimal]) -> Decimal:
    """Units drawn for all sites, to 0.0001 U: a concentration such as 200 U in 30 mL does not terminate
    in decimal, and the digits beyond that are arithmetic, not medicine."""
    return sum(delivered, Decimal(0)).quantize(Decimal("0.0001"))


def _fewest_vials(needed: Decimal, sizes: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """The vials to open: the least content that covers ``needed``, then the fewest vials; largest first."""
    if needed <= 0:
        return ()
    # Products come in at most three sizes, so every combination of counts can be tried.
    ranges = [range(math.ceil(needed / size) + 1) for size in sizes]
    best: tuple[Decimal, int, tuple[int, ...]] | None = None
    for counts in itertools.product(*ranges):
        content = sum((size * count for size, count in zip(sizes, counts, strict=True)), Decimal(0))
        if content < needed:
            continue
        candidate = (content, sum(counts), counts)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    assert best is not None
    chosen = [size for size, count in zip(sizes, best[2], strict=True) for _ in range(count)]
    return tuple(sorted(chosen, reverse=True))


def make_plan(knowledge: KnowledgeBase, request: PlanRequest) -> Plan:
    """Turn a protocol and the clinician's choices into a concrete plan; raises ``PlanningError``."""
    return _Planner(knowledge, request).plan()
