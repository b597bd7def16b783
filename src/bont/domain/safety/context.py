"""What every rule needs, worked out once: the product, indication, population, protocol and history."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cached_property

from bont.domain.doses import Units, WeightCappedDose, format_amount
from bont.domain.evidence import Citation, FigureKind, Grade
from bont.domain.findings import Finding, Severity
from bont.domain.indications import Indication
from bont.domain.knowledge import KnowledgeBase
from bont.domain.populations import ADULT_AGE_YEARS, Population
from bont.domain.products import Product
from bont.domain.protocols import Protocol, Route
from bont.domain.safety.model import Administration, CheckRequest
from bont.domain.windows import Window


@dataclass(frozen=True)
class Context:
    knowledge: KnowledgeBase
    request: CheckRequest
    product: Product
    indication: Indication
    population: Population
    age_years: Decimal | None
    protocol: Protocol | None
    limits_protocol: Protocol | None  # the protocol whose limits apply (the adult one for a minor without one)
    # Earlier administrations of known products, up to the session date, as far back as the knowledge base's
    # longest window reaches (``KnowledgeBase.lookback_days``): older ones can change no finding.
    history: tuple[Administration, ...]
    # No earlier session of this product for this indication is on record, however old (one given elsewhere for an
    # indication not given counts as one: ``counts_for``).
    first_session: bool
    planned_units: Units  # the plan's total, worked out once: several rules ask
    muscles: tuple[str, ...]  # the plan's muscles, each once, in the order of its sites: several rules ask
    unrecognised_history: tuple[Administration, ...] = ()  # history items naming an unknown product or indication

    @property
    def on(self) -> date:
        return self.request.on

    @property
    def at(self) -> datetime:
        """The moment of drawing, in UTC (a time given without a zone is taken as UTC)."""
        return as_utc(self.request.at or datetime.combine(self.on, time(12)))

    @property
    def weight_kg(self) -> Decimal | None:
        return self.request.patient.weight_kg

    @property
    def routes(self) -> frozenset[Route]:
        """Every route the indication is given by, whatever the product: a bladder indication stays a bladder
        indication even when no protocol exists for this product or age."""
        return self.indication.routes

    @property
    def planned(self) -> Units:
        return self.planned_units

    @cached_property  # several rules ask when there is no history
    def no_units(self) -> Units:
        return Units.zero(self.product.id)

    def same_product_within(self, window: Window, indications: tuple[str, ...] | None = None) -> Units:
        """Units of this product given in the window that ends on the session date (never another product's), for
        these indications (``counts_for``)."""
        if not self.history:
            return self.no_units
        start = window.start(self.on)
        doses = [
            Units(self.product.id, item.units)
            for item in self.history
            if item.product == self.product.id and start <= item.on <= self.on and counts_for(item, indications)
        ]
        return sum(doses, Units.zero(self.product.id))

    def given_elsewhere_within(
        self, window: Window, indications: tuple[str, ...] | None = None
    ) -> tuple[Administration, ...]:
        """The doses ``same_product_within`` counts that were given elsewhere (each names its source)."""
        start = window.start(self.on)
        return tuple(
            item
            for item in self.history
            if item.source is not None
            and item.product == self.product.id
            and start <= item.on <= self.on
            and counts_for(item, indications)
        )

    def same_day_units(self, indications: tuple[str, ...] | None = None) -> Decimal:
        """Units of this product already given on the session date (for these indications, ``counts_for``): one
        session."""
        if not self.history:
            return NONE_GIVEN
        return sum(
            (
                item.units
                for item in self.history
                if item.on == self.on and item.product == self.product.id and counts_for(item, indications)
            ),
            Decimal(0),
        )

    def limit_amount(self, maximum: Units | WeightCappedDose) -> Decimal | None:
        """The limit in units for this patient; None when a weight-based limit meets an unknown weight."""
        if isinstance(maximum, Units):
            return maximum.amount
        if self.weight_kg is None:
            return None
        return maximum.for_weight(self.weight_kg).amount


NONE_GIVEN = Decimal(0)


def counts_for(item: Administration, indications: Collection[str] | None) -> bool:
    """Whether an earlier dose counts toward a figure for these indications (None: for all indications together).
    A dose whose indication is not known (given elsewhere, the record naming none bont could map) counts for every
    indication: nothing says it was not given for this one, so the conservative reading counts it."""
    return indications is None or item.indication is None or item.indication in indications


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def limit_finding(code: str, citation: Citation, message: str) -> Finding:
    """A figure exceeded. It blocks only when it is a limit, worded as one and read in the label; a
    recommendation warns and quotes what it recommends; an unverified figure warns, marked †, and needs the
    clinician's explicit acknowledgement of the figure and its status; a study or reference figure warns."""
    if citation.may_block:
        return Finding(Severity.BLOCK, code, message, citation)
    if citation.grade is Grade.UNVERIFIED:
        unverified = f"{message} † (unverified figure: not yet read in the label, so it warns instead of blocking)"
        if citation.kind is not FigureKind.LIMIT:
            return Finding(Severity.WARN, code, unverified, citation)
        return Finding(
            Severity.WARN,
            code,
            unverified,
            citation,
            acknowledgement=f"{message}: this limit is unverified (not yet read in the label); the dose is intended",
        )
    if citation.kind is FigureKind.RECOMMENDATION:
        quoted = f": “{citation.wording}”" if citation.wording else ""
        return Finding(Severity.WARN, code, f"{message} (a recommendation{quoted})", citation)
    return Finding(Severity.WARN, code, f"{message} (warning only: the figure is graded {citation.grade})", citation)


def describe_limit(maximum: Units | WeightCappedDose, weight_kg: Decimal | None) -> str:
    if isinstance(maximum, Units):
        return f"{format_amount(maximum.amount)} U"
    if weight_kg is None:
        return str(maximum)
    return f"{maximum} = {format_amount(maximum.for_weight(weight_kg).amount)} U at {format_amount(weight_kg)} kg"


def population_for(age_years: Decimal | None) -> Population:
    return Population.ADULT if age_years is None or age_years >= ADULT_AGE_YEARS else Population.PEDIATRIC
