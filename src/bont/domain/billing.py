"""Billing one session as a payer takes it: its claim lines, each code once, in whole billing units.

A session's claim lines, in order:

- the chemodenervation procedure code of the injected region, once (``procedure_lines``; an add-on code for
  each further extremity counts the extremities as units);
- one guidance code: 95874 (needle EMG) or 95873 (electrical stimulation), never both (``choose_guidance``);
- the drug, in whole billing units of its HCPCS code (``whole_billing_units``): the administered line (JZ when
  nothing billable was discarded) and a JW line for the whole billing units discarded, each with the 11-digit
  NDC and the NDC quantity of the vial used (``drug_ndc``);

with the patient's ICD-10-CM diagnosis codes under the session's indication (``diagnosis_codes``). Every rule
is stated in words and cited in ``bont/knowledge/data/billing.yaml`` (``BillingRules``); ``bill`` applies
them and adds the notes a biller needs: a guidance assumed, an NDC unknown, a rule that is unverified.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from bont.domain.anatomy import BodyRegion
from bont.domain.codes import NDC
from bont.domain.doses import format_amount
from bont.domain.evidence import Citation, Grade
from bont.domain.indications import Indication
from bont.domain.products import Formulation, Product, Vial
from bont.domain.protocols import Guidance, Protocol

if TYPE_CHECKING:
    from bont.domain.knowledge import KnowledgeBase

LIMB_REGIONS = (BodyRegion.UPPER_LIMB, BodyRegion.HAND, BodyRegion.LOWER_LIMB, BodyRegion.FOOT)
GUIDANCE_CODES = {Guidance.EMG: "95874", Guidance.ELECTRICAL_STIMULATION: "95873"}
GUIDANCE_NAMES = {Guidance.EMG: "needle EMG", Guidance.ELECTRICAL_STIMULATION: "electrical stimulation"}
LIMB_CODES = {"few": ("64642", "64643"), "many": ("64644", "64645")}  # 1–4 muscles / 5 or more, per extremity
NDC_QUANTITY_PLACES = Decimal("0.001")  # the claim's NDC quantity field holds three decimals


# -- the rules, as the knowledge file states and cites them


@dataclass(frozen=True)
class BillingRule:
    """One billing rule, stated in words, with its source."""

    statement: str
    citation: Citation

    @property
    def unverified(self) -> bool:
        return self.citation.grade is Grade.UNVERIFIED


@dataclass(frozen=True)
class BillingRules:
    """The cited rules ``bill`` applies (``billing.yaml``). Units are rounded as ``administered_units`` states:
    up to the next whole billing unit, the only rule read in a source."""

    administered_units: BillingRule
    discarded_units: BillingRule
    jw_jz: BillingRule
    procedure_once: BillingRule
    guidance: BillingRule
    ndc_format: BillingRule
    ndc_units: BillingRule
    place_of_service: BillingRule
    npi: BillingRule
    default_place_of_service: str  # a CMS place-of-service code: 11, Office

    def named(self) -> tuple[tuple[str, BillingRule], ...]:
        """Every rule with its name in the knowledge file, in the file's order."""
        return (
            ("administered_units", self.administered_units),
            ("discarded_units", self.discarded_units),
            ("jw_jz", self.jw_jz),
            ("procedure_once", self.procedure_once),
            ("guidance", self.guidance),
            ("ndc_format", self.ndc_format),
            ("ndc_units", self.ndc_units),
            ("place_of_service", self.place_of_service),
            ("npi", self.npi),
        )


def _unverified(rule: BillingRule) -> str:
    """What a note adds when it rests on a rule no source confirmed."""
    return f" (unverified rule: {rule.citation.note or 'not confirmed in any source'})" if rule.unverified else ""


# -- whole billing units


@dataclass(frozen=True)
class WholeUnits:
    """One drug's billing units for a session: the exact amounts, and the whole units the claim lines bill."""

    per_billing_unit: Decimal  # product units in one billing unit of the HCPCS code
    administered: Decimal  # product units given, exact
    discarded: Decimal  # product units discarded from the vials the session opened, exact
    administered_billed: int  # the administered line
    discarded_billed: int  # the JW line; 0: no JW line, and the administered line carries JZ

    @property
    def exact_administered(self) -> Decimal:
        return self.administered / self.per_billing_unit

    @property
    def exact_discarded(self) -> Decimal:
        return self.discarded / self.per_billing_unit

    @property
    def modifier(self) -> str:
        """The administered line's modifier: JZ when no JW line is billed, none when one is."""
        return "" if self.discarded_billed else "JZ"


def whole_billing_units(administered: Decimal, discarded: Decimal, per_billing_unit: Decimal) -> WholeUnits:
    """The whole billing units of one drug (billing.yaml ``administered_units``, ``discarded_units``): the
    administered amount rounded up to the next whole billing unit; the JW line the whole billing units of the
    opened content (administered + discarded) rounded down, less the administered line, never more than the
    discarded amount rounded down. So the administered line is at most one billing unit above the amount given,
    the JW line never above the amount discarded, and together they differ from the exact total by less than
    one billing unit (not at all when the opened vials hold whole billing units, as every vial size does)."""
    if per_billing_unit <= 0:
        raise ValueError("a billing unit holds a positive number of units")
    if administered < 0 or discarded < 0:
        raise ValueError("units administered and discarded are never negative")
    given = administered / per_billing_unit
    billed = int(given.to_integral_value(rounding=ROUND_CEILING))
    opened = int(((administered + discarded) / per_billing_unit).to_integral_value(rounding=ROUND_FLOOR))
    at_most = int((discarded / per_billing_unit).to_integral_value(rounding=ROUND_FLOOR))
    return WholeUnits(per_billing_unit, administered, discarded, billed, max(0, min(opened - billed, at_most)))


# -- procedure and guidance codes


@dataclass(frozen=True)
class BilledSite:
    muscle: str
    side: str | None


@dataclass(frozen=True)
class ProcedureLine:
    code: str
    units: int = 1


def procedure_lines(
    knowledge: KnowledgeBase, indication: Indication, sites: Sequence[BilledSite]
) -> tuple[ProcedureLine, ...]:
    """The chemodenervation codes of a session, each once (billing.yaml ``procedure_once``). Limb muscles are
    counted per extremity: the extremity with most muscles takes the base code (64642 for 1–4 muscles, 64644
    for 5 or more), each further one the add-on (64643, 64645), counted as units. Otherwise the indication's
    first procedure code that is not a guidance code."""
    muscles_per_limb: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for site in sites:
        target = knowledge.targets.get(site.muscle)
        if target is None or target.region not in LIMB_REGIONS:
            continue
        limb = "upper" if target.region in (BodyRegion.UPPER_LIMB, BodyRegion.HAND) else "lower"
        muscles_per_limb[(limb, site.side)].add(site.muscle)
    units: dict[str, int] = {}
    counts = sorted((len(muscles) for muscles in muscles_per_limb.values()), reverse=True)
    for index, count in enumerate(counts):
        base, add_on = LIMB_CODES["many" if count >= 5 else "few"]
        code = base if index == 0 else add_on
        units[code] = units.get(code, 0) + 1
    if not units:
        guidance_codes = set(GUIDANCE_CODES.values())
        procedure = [str(c.value.code) for c in indication.cpt if str(c.value.code) not in guidance_codes]
        if procedure:
            units[procedure[0]] = 1
    return tuple(ProcedureLine(code, count) for code, count in units.items())


def billed_muscles(knowledge: KnowledgeBase) -> frozenset[str]:
    """The muscles whose sites ``procedure_lines`` counts, those of the limbs: a site in any other muscle changes
    no claim line (so billing need not read it)."""
    return frozenset(muscle for muscle, target in knowledge.targets.items() if target.region in LIMB_REGIONS)


@dataclass(frozen=True)
class GuidanceChoice:
    """The one guidance code billed for a session, and why."""

    guidance: Guidance | None
    code: str | None
    assumed: bool  # not recorded: the protocol's first guidance
    note: str | None


def choose_guidance(recorded: Sequence[Guidance], protocol: Protocol | None, rule: BillingRule) -> GuidanceChoice:
    """One guidance code per session (billing.yaml ``guidance``): the first billable guidance the session
    recorded; a session that recorded none takes its protocol's first guidance, and the note says so when it is
    billed. Guidance without a code of its own (landmarks, ultrasound) bills none."""
    billable = [g for g in dict.fromkeys(recorded) if g in GUIDANCE_CODES]
    if billable:
        chosen, others = billable[0], billable[1:]
        note = None
        if others:
            left_out = ", ".join(f"{GUIDANCE_NAMES[g]} ({GUIDANCE_CODES[g]})" for g in others)
            note = (
                f"{GUIDANCE_NAMES[chosen]} and {left_out} were both recorded; one guidance code is billed, "
                f"{GUIDANCE_CODES[chosen]} ({GUIDANCE_NAMES[chosen]}, recorded first){_unverified(rule)}"
            )
        return GuidanceChoice(chosen, GUIDANCE_CODES[chosen], False, note)
    if recorded or protocol is None or not protocol.guidance:
        return GuidanceChoice(None, None, False, None)
    first = protocol.guidance[0]
    if first in GUIDANCE_CODES:
        note = (
            f"no guidance was recorded: the protocol's first guidance, {GUIDANCE_NAMES[first]} "
            f"({GUIDANCE_CODES[first]}), is billed; confirm it in the record"
        )
        return GuidanceChoice(first, GUIDANCE_CODES[first], True, note)
    return GuidanceChoice(None, None, True, None)  # landmarks, ultrasound...: nothing to bill, nothing to say


# -- diagnosis codes


def diagnosis_codes(
    knowledge: KnowledgeBase, indication: Indication, conditions: Sequence[str]
) -> tuple[tuple[str, ...], str | None]:
    """The ICD-10-CM codes of the session's indication: the patient's own codes that fall under the
    indication's codes (``KnowledgeBase.indications_coded``), in the chart's order; when the chart holds none,
    the indication's first code, with a note to confirm it."""
    codes: list[str] = []
    for term in conditions:
        code = knowledge.condition_code(term)
        if code is None or code in codes:
            continue
        if any(found.id == indication.id for found in knowledge.indications_coded(code)):
            codes.append(code)
    if codes:
        return tuple(codes), None
    if not indication.icd10:
        return (), f"no ICD-10-CM code is known for {indication.name}: enter the diagnosis by hand"
    first = str(indication.icd10[0].value.code)
    note = (
        f"the chart holds no ICD-10-CM code under {indication.name}: the indication's first code, {first}, "
        "is billed; confirm the patient's own code"
    )
    return (first,), note


# -- the NDC of the drug lines


class VialUsed(NamedTuple):
    """A vial a session drew from: its size, the units drawn, and the NDC recorded on its lot (may be empty).
    (A named tuple: billing a year hashes hundreds of thousands of them, as parts of a claim's key.)"""

    vial_units: Decimal
    units: Decimal
    lot_ndc: str = ""


@dataclass(frozen=True)
class DrugNdc:
    """The NDC of a session's drug lines: 11 digits in 5-4-2 form, its unit of measure (UN each vial, ML of a
    solution) and the vial it names."""

    ndc: str | None
    unit: str
    vial_units: Decimal | None
    solution_ml: Decimal | None
    note: str | None

    def quantity(self, units: Decimal) -> Decimal | None:
        """The NDC quantity of a line billing ``units`` product units (billing.yaml ``ndc_units``): vials (UN)
        or millilitres (ML), to three decimals."""
        if self.ndc is None or self.vial_units is None:
            return None
        vials = units / self.vial_units
        amount = vials * self.solution_ml if self.unit == "ML" and self.solution_ml is not None else vials
        return amount.quantize(NDC_QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def _lot_ndc(vials: Sequence[VialUsed], size: Decimal) -> NDC | None:
    for vial in vials:
        if vial.vial_units == size and vial.lot_ndc:
            try:
                return NDC(vial.lot_ndc.strip())
            except ValueError:
                continue
    return None


def drug_ndc(product: Product, vials: Sequence[VialUsed]) -> DrugNdc:
    """The NDC of the vial size the session drew from (the one that gave most units when there were several):
    the product knowledge's NDC for that size, else the one recorded on the lot, in its 11-digit 5-4-2 form
    (billing.yaml ``ndc_format``)."""
    if not vials:
        return DrugNdc(None, "UN", None, None, "no vial was recorded for this session: the NDC is not known")
    drawn: dict[Decimal, Decimal] = defaultdict(Decimal)
    for vial in vials:
        drawn[vial.vial_units] += vial.units
    size = max(drawn, key=lambda s: (drawn[s], s))
    notes = []
    if len(drawn) > 1:
        sizes = ", ".join(f"{format_amount(s)} U" for s in sorted(drawn))
        notes.append(
            f"vials of {sizes} were used: the {format_amount(size)} U vial's NDC is billed; a payer may want one "
            "line per NDC"
        )
    known: Vial | None = product.vial(size)
    ndc = known.ndc.value if known is not None and known.ndc is not None else _lot_ndc(vials, size)
    eleven = ndc.eleven_digit if ndc is not None else None
    if eleven is None:
        notes.append(f"no NDC is known for the {format_amount(size)} U vial of {product.brand}: record it on the lot")
    solution_ml = known.solution_ml if known is not None else None
    unit = "ML" if product.formulation is Formulation.SOLUTION and solution_ml is not None else "UN"
    return DrugNdc(eleven, unit, size, solution_ml, "; ".join(notes) or None)


# -- the session's claim lines


class LineKind(StrEnum):
    PROCEDURE = "procedure"
    GUIDANCE = "guidance"
    DRUG = "drug"  # the amount administered
    DISCARDED = "discarded"  # the JW line


@dataclass(frozen=True)
class ClaimLine:
    """One line of a claim: a code, its modifier and whole units; a drug line also keeps the exact amount
    (product units and billing units) beside it, and carries the NDC and its quantity."""

    kind: LineKind
    code: str
    modifier: str
    units: int
    exact_units: Decimal | None = None
    exact_billing_units: Decimal | None = None
    ndc: str | None = None
    ndc_unit: str | None = None
    ndc_quantity: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class SessionToBill:
    """A session as billing reads it."""

    product: str
    indication: str
    sites: tuple[BilledSite, ...]
    units_administered: Decimal
    units_discarded: Decimal
    guidance: tuple[str, ...] = ()  # the guidance ids recorded, in the order recorded
    protocol: str = ""  # the id of the protocol recorded, or ""
    conditions: tuple[str, ...] = ()  # the patient's condition terms open on the day
    vials: tuple[VialUsed, ...] = ()


@dataclass(frozen=True)
class SessionBill:
    lines: tuple[ClaimLine, ...]
    diagnoses: tuple[str, ...]
    units: WholeUnits
    guidance: GuidanceChoice
    notes: tuple[str, ...]


def _protocol(recorded: str, product: str, indication: Indication) -> Protocol | None:
    """The protocol the session recorded, else the indication's first for the product."""
    found = next((p for p in indication.protocols if recorded and p.id == recorded), None)
    if found is not None:
        return found
    candidates = indication.protocols_for(product)
    return candidates[0] if candidates else None


def bill(knowledge: KnowledgeBase, rules: BillingRules, session: SessionToBill) -> SessionBill:
    """The claim lines of one session, by the cited rules: the procedure code once, one guidance code, the
    drug in whole billing units with JW or JZ, the NDC and its quantity, and the diagnosis codes."""
    product = knowledge.product(session.product)
    indication = knowledge.indication(session.indication)
    billing = product.hcpcs.value
    hcpcs = str(billing.code)
    units = whole_billing_units(session.units_administered, session.units_discarded, billing.units_per_billing_unit)
    diagnoses, diagnosis_note = diagnosis_codes(knowledge, indication, session.conditions)
    recorded = [Guidance(g) for g in session.guidance if g in Guidance._value2member_map_]
    guidance = choose_guidance(recorded, _protocol(session.protocol, product.id, indication), rules.guidance)
    ndc = drug_ndc(product, session.vials)

    procedures = procedure_lines(knowledge, indication, session.sites)
    lines = [ClaimLine(LineKind.PROCEDURE, p.code, "", p.units) for p in procedures]
    if guidance.code is not None:
        lines.append(ClaimLine(LineKind.GUIDANCE, guidance.code, "", 1, note=guidance.note or ""))
    drug_note = [ndc.note] if ndc.note else []
    if units.discarded > 0 and not units.discarded_billed:
        drug_note.append(
            f"{format_amount(units.discarded)} U discarded is less than one whole {hcpcs} billing unit beyond the "
            "administered line's rounding: no JW line, JZ"
        )
    per = billing.units_per_billing_unit
    lines.append(
        ClaimLine(
            LineKind.DRUG,
            hcpcs,
            units.modifier,
            units.administered_billed,
            exact_units=units.administered,
            exact_billing_units=units.exact_administered,
            ndc=ndc.ndc,
            ndc_unit=ndc.unit if ndc.ndc else None,
            ndc_quantity=ndc.quantity(units.administered_billed * per),
            note="; ".join(drug_note),
        )
    )
    if units.discarded_billed:
        lines.append(
            ClaimLine(
                LineKind.DISCARDED,
                hcpcs,
                "JW",
                units.discarded_billed,
                exact_units=units.discarded,
                exact_billing_units=units.exact_discarded,
                ndc=ndc.ndc,
                ndc_unit=ndc.unit if ndc.ndc else None,
                ndc_quantity=ndc.quantity(units.discarded_billed * per),
            )
        )
    if diagnosis_note:
        first = lines[0]
        joined = "; ".join(part for part in (diagnosis_note, first.note) if part)
        lines[0] = replace(first, note=joined)
    notes = tuple(n for n in (diagnosis_note, guidance.note, *drug_note) if n)
    return SessionBill(tuple(lines), diagnoses, units, guidance, notes)
