"""Botulinum toxin products as their US labels describe them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from bont.domain.codes import NDC, Coding, HCPCSCode
from bont.domain.doses import Units, WeightCappedDose, format_amount
from bont.domain.evidence import Cited, Source
from bont.domain.memo import remember
from bont.domain.populations import AgeRange, Population
from bont.domain.windows import Window


class Serotype(StrEnum):
    A = "A"
    B = "B"


class Formulation(StrEnum):
    POWDER = "powder"  # reconstituted with diluent before use
    SOLUTION = "solution"  # ready to use, may be diluted


@dataclass(frozen=True)
class Vial:
    """A vial size; ``solution_ml`` is the fill volume of a ready-to-use solution."""

    units: Decimal
    ndc: Cited[NDC] | None = None
    solution_ml: Decimal | None = None

    @property
    def key(self) -> str:
        return f"{format_amount(self.units)}U"


@dataclass(frozen=True)
class Reconstitution:
    """Diluent added to a vial, and the concentration that results.

    ``intermediate`` marks the in-vial step of a two-step preparation (BOTOX 200 U with 6 mL before it is diluted
    in syringes): a volume that may go into the vial, but not a solution the label injects from.
    """

    vial_units: Decimal
    diluent_ml: Decimal
    intermediate: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if self.vial_units <= 0 or self.diluent_ml <= 0:
            raise ValueError("vial units and diluent volume must be positive")

    @property
    def units_per_ml(self) -> Decimal:
        return self.vial_units / self.diluent_ml

    @property
    def units_per_0_1_ml(self) -> Decimal:
        return self.units_per_ml / 10

    @property
    def key(self) -> str:
        return f"{format_amount(self.vial_units)}U/{format_amount(self.diluent_ml)}mL"

    def __str__(self) -> str:
        return (
            f"{format_amount(self.vial_units)} U in {format_amount(self.diluent_ml)} mL = "
            f"{format_amount(round(self.units_per_0_1_ml, 4))} U per 0.1 mL"
        )


@dataclass(frozen=True)
class BillingCode:
    """A HCPCS drug code and how many product units one billing unit is."""

    code: HCPCSCode
    units_per_billing_unit: Decimal

    def __str__(self) -> str:
        return f"{self.code} (1 billing unit = {format_amount(self.units_per_billing_unit)} U)"


class LimitScope(StrEnum):
    ALL_INDICATIONS = "all-indications"
    LISTED_INDICATIONS = "listed-indications"


@dataclass(frozen=True)
class DoseLimit:
    """A product-wide dose limit: per session, or cumulative over a window of days.

    ``maximum`` is either a fixed amount or a weight-capped dose ("the lesser of X U/kg or Y U").
    """

    population: Population
    maximum: Units | WeightCappedDose
    scope: LimitScope
    indications: tuple[str, ...] = ()
    window: Window | None = None  # None: per treatment session

    @property
    def key(self) -> str:
        window = str(self.window).replace(" ", "") if self.window else "session"
        return f"{self.population}-{window}"

    def __str__(self) -> str:
        per = f"in any {self.window}" if self.window else "per session"
        scope = "all indications" if self.scope is LimitScope.ALL_INDICATIONS else ", ".join(self.indications)
        return f"{self.population}: at most {self.maximum} {per} ({scope})"

    def applies_to(self, indication: str, population: Population) -> bool:
        if population is not self.population:
            return False
        return self.scope is LimitScope.ALL_INDICATIONS or indication in self.indications


@dataclass(frozen=True)
class Approval:
    """An FDA-approved indication of a product, for one population."""

    indication: str
    population: Population
    ages: AgeRange
    wording: str
    excludes: tuple[str, ...] = ()  # ICD-10-CM codes or categories the approval leaves out, e.g. G80 (cerebral palsy)

    @property
    def key(self) -> str:
        return f"{self.indication}/{self.population}"

    def __str__(self) -> str:
        return f"{self.indication}, {self.population} ({self.ages})"


# How many indications (and populations) a product keeps answers for: the knowledge base has a few dozen.
_ASKED_SIZE = 256


@dataclass(frozen=True)
class Product:
    """A botulinum toxin product. Its units belong to it alone."""

    id: str
    established_name: str
    brand: str
    manufacturer: str
    serotype: Cited[Serotype]
    formulation: Formulation
    label: Source
    vials: tuple[Vial, ...]
    diluent: Cited[str]
    reconstitution: tuple[Cited[Reconstitution], ...]
    storage_unopened: Cited[str]
    beyond_use_hours: Cited[int] | None
    beyond_use_storage: Cited[str] | None
    excipients: tuple[Cited[str], ...]  # allergen ids, e.g. "human-albumin", "cow-milk-protein"
    hcpcs: Cited[BillingCode]
    approvals: tuple[Cited[Approval], ...]
    limits: tuple[Cited[DoseLimit], ...]
    boxed_warning: Cited[str]
    rxnorm: Cited[Coding] | None = None  # the ingredient's RxCUI

    def vial(self, units: Decimal) -> Vial | None:
        return next((vial for vial in self.vials if vial.units == units), None)

    @property
    def vial_sizes(self) -> tuple[Decimal, ...]:
        return tuple(vial.units for vial in self.vials)

    def units(self, amount: Decimal | int | str) -> Units:
        return Units(self.id, Decimal(amount))

    def limits_for(self, indication: str, population: Population) -> tuple[Cited[DoseLimit], ...]:
        """The product-wide limits that apply to this indication and population, in the label's order."""
        key = (indication, population)
        known = self._limits_for.get(key)
        if known is None:
            known = remember(
                self._limits_for,
                key,
                tuple(limit for limit in self.limits if limit.value.applies_to(indication, population)),
                _ASKED_SIZE,
            )
        return known

    def approvals_for(self, indication: str) -> tuple[Cited[Approval], ...]:
        """The approvals of this indication, every population, in the label's order."""
        known = self._approvals_for.get(indication)
        if known is None:
            known = remember(
                self._approvals_for,
                indication,
                tuple(approval for approval in self.approvals if approval.value.indication == indication),
                _ASKED_SIZE,
            )
        return known

    # Every check asks for the limits and approvals of its indication: each answer is kept with the product.
    @cached_property
    def _limits_for(self) -> dict[tuple[str, Population], tuple[Cited[DoseLimit], ...]]:
        return {}

    @cached_property
    def _approvals_for(self) -> dict[str, tuple[Cited[Approval], ...]]:
        return {}

    def approval(self, indication: str, population: Population) -> Cited[Approval] | None:
        return next(
            (
                approval
                for approval in self.approvals
                if approval.value.indication == indication and approval.value.population is population
            ),
            None,
        )
