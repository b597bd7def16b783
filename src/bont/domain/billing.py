"""Billing a session: HCPCS drug units administered and discarded (JW, or JZ when nothing is discarded)
and the CPT procedure and guidance codes.

Billing units follow each code's unit size (J0586 is per 5 units, J0587 per 100 units); a fraction of a
billing unit is shown as it is, for the clinic to round by its payer's rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bont.domain.anatomy import BodyRegion
from bont.domain.indications import Indication
from bont.domain.knowledge import KnowledgeBase
from bont.domain.protocols import Guidance

LIMB_REGIONS = (BodyRegion.UPPER_LIMB, BodyRegion.HAND, BodyRegion.LOWER_LIMB, BodyRegion.FOOT)
GUIDANCE_CODES = {Guidance.EMG: "95874", Guidance.ELECTRICAL_STIMULATION: "95873"}
LIMB_CODES = {"few": ("64642", "64643"), "many": ("64644", "64645")}  # 1–4 muscles / 5 or more, per extremity


@dataclass(frozen=True)
class BilledSite:
    muscle: str
    side: str | None


@dataclass(frozen=True)
class BillingSummary:
    hcpcs: str
    units_per_billing_unit: Decimal
    units_administered: Decimal
    units_discarded: Decimal
    modifier: str  # "JW" when units were discarded, "JZ" when none were
    cpt: tuple[str, ...]

    @property
    def billing_units_administered(self) -> Decimal:
        return self.units_administered / self.units_per_billing_unit

    @property
    def billing_units_discarded(self) -> Decimal:
        return self.units_discarded / self.units_per_billing_unit


def _limb_codes(knowledge: KnowledgeBase, sites: Sequence[BilledSite]) -> list[str]:
    muscles_per_limb: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for site in sites:
        target = knowledge.targets.get(site.muscle)
        if target is None or target.region not in LIMB_REGIONS:
            continue
        limb = "upper" if target.region in (BodyRegion.UPPER_LIMB, BodyRegion.HAND) else "lower"
        muscles_per_limb[(limb, site.side)].add(site.muscle)
    counts = sorted((len(muscles) for muscles in muscles_per_limb.values()), reverse=True)
    codes: list[str] = []
    for index, count in enumerate(counts):
        base, add_on = LIMB_CODES["many" if count >= 5 else "few"]
        codes.append(base if index == 0 else add_on)  # the limb with most muscles takes the base code
    return codes


def bill(
    knowledge: KnowledgeBase,
    product_id: str,
    indication: Indication,
    sites: Sequence[BilledSite],
    units_administered: Decimal,
    units_discarded: Decimal,
    guidance: Sequence[Guidance] = (),
) -> BillingSummary:
    product = knowledge.product(product_id)
    billing = product.hcpcs.value
    limb = _limb_codes(knowledge, sites)
    procedure = [code for code in (str(c.value.code) for c in indication.cpt) if code not in GUIDANCE_CODES.values()]
    cpt = limb or procedure[:1]
    cpt += [GUIDANCE_CODES[g] for g in guidance if g in GUIDANCE_CODES]
    return BillingSummary(
        hcpcs=str(billing.code),
        units_per_billing_unit=billing.units_per_billing_unit,
        units_administered=units_administered,
        units_discarded=units_discarded,
        modifier="JW" if units_discarded > 0 else "JZ",
        cpt=tuple(dict.fromkeys(cpt)),
    )
