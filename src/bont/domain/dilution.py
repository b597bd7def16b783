"""Dilution look-ups against a product's label: concentration from diluent, diluent from concentration, and
whether a typed in-vial diluent volume can be accepted at all.

``judge_diluent`` is the one answer to "may this much diluent go into this vial": the planner and the recorder
both ask it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bont.domain.doses import format_amount
from bont.domain.errors import PlanningError
from bont.domain.evidence import Citation, Cited, Grade
from bont.domain.findings import Finding, Severity
from bont.domain.products import Formulation, Product, Reconstitution
from bont.domain.reconstitution import (
    SYRINGE_MARK_ML,
    Concentration,
    DilutionCheck,
    diluent_for_concentration,
    measurable_volume,
)


@dataclass(frozen=True)
class DiluentVerdict:
    """Whether an in-vial diluent volume is acceptable for one product's vial, and whether the label lists it.

    ``label_range`` is the smallest and largest in-vial volume of the label's dilution table for that vial size:
    a volume outside it cannot be what the label meant to go into that vial, so it is refused. Inside it, a
    volume the table does not list is allowed and reported as an off-label dilution.
    """

    product: Product
    vial_units: Decimal
    diluent_ml: Decimal
    label_range: tuple[Decimal, Decimal] | None
    label_row: Cited[Reconstitution] | None
    refusal: str | None  # why the volume is refused, in words; None when it is acceptable

    @property
    def acceptable(self) -> bool:
        return self.refusal is None

    @property
    def in_label(self) -> bool:
        return self.label_row is not None and self.label_row.citation.grade is not Grade.UNVERIFIED

    @property
    def findings(self) -> tuple[Finding, ...]:
        if not self.acceptable or self.in_label:
            return ()
        return (
            Finding(
                Severity.WARN,
                "dilution-not-in-label",
                f"{format_amount(self.vial_units)} U in {format_amount(self.diluent_ml)} mL is not a verified label "
                f"dilution for {self.product.brand} (off-label dilution)",
                self.label_row.citation if self.label_row else self.product.diluent.citation,
            ),
        )


def label_diluent_range(product: Product, vial_units: Decimal) -> tuple[Decimal, Decimal] | None:
    """The smallest and largest in-vial diluent volume the label's table gives for this vial size."""
    volumes = [row.value.diluent_ml for row in product.reconstitution if row.value.vial_units == vial_units]
    return (min(volumes), max(volumes)) if volumes else None


def judge_diluent(product: Product, vial_units: Decimal, diluent_ml: Decimal) -> DiluentVerdict:
    """May ``diluent_ml`` of diluent go into a ``vial_units`` vial of ``product``? Refused: a volume below what a
    syringe can measure, or outside the label table's range for that vial size; allowed with a warning: a
    volume inside the range that the table does not list (``DiluentVerdict.findings``)."""
    label_range = label_diluent_range(product, vial_units)
    row = next(
        (r for r in product.reconstitution if r.value.vial_units == vial_units and r.value.diluent_ml == diluent_ml),
        None,
    )
    vial = f"a {format_amount(vial_units)} U vial of {product.brand}"
    refusal: str | None = None
    if product.formulation is Formulation.SOLUTION:
        refusal = f"{product.brand} is a ready-to-use solution; no diluent goes into its vial"
    elif vial_units not in product.vial_sizes:
        sizes = ", ".join(format_amount(v) for v in product.vial_sizes)
        refusal = f"{product.brand} comes in {sizes} U vials, not {format_amount(vial_units)} U"
    elif diluent_ml <= 0:
        refusal = f"The diluent volume must be more than 0 mL, not {format_amount(diluent_ml)} mL"
    elif label_range is not None and not label_range[0] <= diluent_ml <= label_range[1]:
        low, high = (format_amount(v) for v in label_range)
        span = f"{low} mL" if low == high else f"{low} to {high} mL"
        refusal = f"The diluent volume, {format_amount(diluent_ml)} mL, is outside the label's range for {vial}: {span}"
        if not any(
            r.value.vial_units == vial_units and r.citation.grade is not Grade.UNVERIFIED
            for r in product.reconstitution
        ):
            refusal += " (the dilution table on file is not yet verified against the label)"
    elif diluent_ml < SYRINGE_MARK_ML:
        refusal = (
            f"The diluent volume, {format_amount(diluent_ml)} mL, is less than a syringe can measure "
            f"({format_amount(SYRINGE_MARK_ML)} mL)"
        )
    return DiluentVerdict(product, vial_units, diluent_ml, label_range, row, refusal)


def _label_row(product: Product, vial_units: Decimal, diluent_ml: Decimal) -> Citation | None:
    wanted = Reconstitution(vial_units, diluent_ml)
    row = next((r for r in product.reconstitution if r.value == wanted), None)
    return None if row is None or row.citation.grade is Grade.UNVERIFIED else row.citation


def dilute(
    product: Product,
    vial_units: Decimal,
    diluent_ml: Decimal | None = None,
    units_per_0_1_ml: Decimal | None = None,
) -> tuple[DilutionCheck, tuple[Finding, ...]]:
    """Work out a dilution either way; a volume the label does not list is reported as off-label, and one
    ``judge_diluent`` refuses raises ``PlanningError``."""
    if vial_units <= 0:
        raise PlanningError("vial_units", f"must be more than 0, got {vial_units}")
    if vial_units not in product.vial_sizes:
        sizes = ", ".join(format_amount(v) for v in product.vial_sizes)
        raise PlanningError("vial_units", f"{product.brand} comes in {sizes} U vials, not {format_amount(vial_units)}")
    if (diluent_ml is None) == (units_per_0_1_ml is None):
        raise PlanningError("diluent_ml", "give either the diluent volume or the wanted units per 0.1 mL")
    if diluent_ml is not None and diluent_ml <= 0:
        raise PlanningError("diluent_ml", f"must be more than 0 mL, got {diluent_ml}")
    if units_per_0_1_ml is not None and units_per_0_1_ml <= 0:
        raise PlanningError("units_per_0_1_ml", f"must be more than 0, got {units_per_0_1_ml}")
    if product.formulation is Formulation.SOLUTION:
        raise PlanningError(
            "product", f"{product.brand} is a ready-to-use solution; it is not reconstituted from powder"
        )
    exact = (
        diluent_ml if diluent_ml is not None else diluent_for_concentration(vial_units, units_per_0_1_ml or Decimal(1))
    )
    measured = measurable_volume(exact)
    verdict = judge_diluent(product, vial_units, diluent_ml if diluent_ml is not None else measured)
    if verdict.refusal is not None:
        raise PlanningError("diluent_ml", verdict.refusal)
    source = _label_row(product, vial_units, measured)
    check = DilutionCheck(
        product=product.id,
        vial_units=vial_units,
        diluent_ml=measured,
        concentration=Concentration.of(product.id, vial_units, measured),
        in_label=source is not None,
        exact_diluent_ml=exact,
    )
    findings: list[Finding] = []
    if check.rounded:
        findings.append(
            Finding(
                Severity.INFO,
                "volume-rounded",
                f"{format_amount(round(exact, 4))} mL is rounded to {format_amount(measured)} mL, which a syringe "
                f"can measure; the concentration is {check.concentration}",
            )
        )
    if source is None:
        findings.append(
            Finding(
                Severity.WARN,
                "dilution-not-in-label",
                f"{format_amount(vial_units)} U in {format_amount(measured)} mL is not a verified label dilution "
                f"for {product.brand}: an off-label dilution",
                product.diluent.citation,
            )
        )
    return check, tuple(findings)


def label_source(product: Product, check: DilutionCheck) -> Citation | None:
    return _label_row(product, check.vial_units, check.diluent_ml)
