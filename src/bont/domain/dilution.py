"""Dilution look-ups against a product's label: concentration from diluent, and diluent from concentration."""

from __future__ import annotations

from decimal import Decimal

from bont.domain.doses import format_amount
from bont.domain.errors import PlanningError
from bont.domain.evidence import Citation, Grade
from bont.domain.findings import Finding, Severity
from bont.domain.products import Formulation, Product, Reconstitution
from bont.domain.reconstitution import Concentration, DilutionCheck, diluent_for_concentration, measurable_volume


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
    """Work out a dilution either way; a volume the label does not list is reported as off-label."""
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
