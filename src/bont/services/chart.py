"""What a patient's chart shows beside the timeline: for each product the units in its current cumulative
window against the maximum (doses given elsewhere included), and the doses given elsewhere. (When the next
session is allowed is ``bont.services.next_session``'s.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bont.domain.doses import WeightCappedDose
from bont.domain.evidence import Citation
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import Administration, Patient
from bont.domain.safety.context import population_for


@dataclass(frozen=True)
class WindowGauge:
    product: str
    brand: str
    window: str
    used: Decimal
    maximum: Decimal | None  # None: a weight-based maximum with no weight recorded
    citation: Citation

    @property
    def fraction(self) -> Decimal:
        if not self.maximum:
            return Decimal(0)
        return min(Decimal(1), self.used / self.maximum)


def gauges(
    knowledge: KnowledgeBase, patient: Patient, history: tuple[Administration, ...], on: date
) -> list[WindowGauge]:
    population = population_for(patient.age_on(on))
    result = []
    for product_id in sorted({item.product for item in history if item.product in knowledge.products}):
        product = knowledge.products[product_id]
        for limit in product.limits:
            value = limit.value
            if value.window is None or value.population is not population:
                continue
            start = value.window.start(on)
            used = sum((i.units for i in history if i.product == product_id and start <= i.on <= on), Decimal(0))
            if isinstance(value.maximum, WeightCappedDose):
                maximum = value.maximum.for_weight(patient.weight_kg).amount if patient.weight_kg else None
            else:
                maximum = value.maximum.amount
            result.append(WindowGauge(product_id, product.brand, str(value.window), used, maximum, limit.citation))
    return result


@dataclass(frozen=True)
class DoseGivenElsewhere:
    """A dose another system recorded (imported outside history), as the chart lists it."""

    on: date
    brand: str
    indication: str | None  # the indication's name; None: the record names none bont knows
    units: Decimal
    source: str


def given_elsewhere(knowledge: KnowledgeBase, history: tuple[Administration, ...]) -> tuple[DoseGivenElsewhere, ...]:
    """The doses given elsewhere in the history the check reads, latest first."""
    doses = []
    for item in sorted(history, key=lambda item: item.on, reverse=True):
        if item.source is None:
            continue
        product = knowledge.products.get(item.product)
        indication = knowledge.indications.get(item.indication) if item.indication else None
        doses.append(
            DoseGivenElsewhere(
                item.on,
                product.brand if product else item.product,
                indication.name if indication else None,
                item.units,
                item.source,
            )
        )
    return tuple(doses)
