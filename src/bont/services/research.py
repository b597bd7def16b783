"""Use case: the de-identified registry for researchers: sessions and patients per indication and
product, and responder rates per indication and instrument. Counts only: no names, record numbers or
dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bont.domain.knowledge import KnowledgeBase
from bont.services.outcome_ports import OutcomeRecords
from bont.services.outcomes import outcomes_of_patient


@dataclass(frozen=True)
class TreatmentCount:
    indication: str
    product: str
    indication_name: str
    brand: str
    sessions: int
    patients: int


@dataclass(frozen=True)
class ResponderRate:
    """Per indication and instrument, how many patients' latest verdict is each status."""

    indication: str  # names, for the page
    instrument: str
    responders: int
    non_responders: int
    not_assessable: int
    rate: int | None  # percent of the judged who respond; None when nobody was judged


@dataclass(frozen=True)
class Registry:
    treatments: tuple[TreatmentCount, ...]
    responders: tuple[ResponderRate, ...]


def responder_rates(records: OutcomeRecords, knowledge: KnowledgeBase, today: date) -> tuple[ResponderRate, ...]:
    """Each patient's latest cycle with a follow-up measurement, judged by the indication's cited definition,
    counted per indication and instrument."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for patient_id in records.patients_with_outcomes():
        for outcomes in outcomes_of_patient(records, knowledge, patient_id, today):
            for series in outcomes.series:
                verdict = series.latest_verdict
                if verdict is None:
                    continue
                tally = counts.setdefault((outcomes.indication.name, series.instrument.name), {})
                tally[str(verdict.status)] = tally.get(str(verdict.status), 0) + 1
    rows = []
    for (indication, instrument), tally in sorted(counts.items()):
        responders = tally.get("responder", 0)
        judged = responders + tally.get("non-responder", 0)
        rows.append(
            ResponderRate(
                indication=indication,
                instrument=instrument,
                responders=responders,
                non_responders=tally.get("non-responder", 0),
                not_assessable=tally.get("not-assessable", 0),
                rate=None if judged == 0 else round(Decimal(100) * responders / judged),
            )
        )
    return tuple(rows)


def registry(records: OutcomeRecords, knowledge: KnowledgeBase, today: date) -> Registry:
    """The research page: treatments per indication and product (known to the knowledge base) and the
    responder rates."""
    treatments = tuple(
        TreatmentCount(
            row.indication,
            row.product,
            knowledge.indications[row.indication].name,
            knowledge.products[row.product].brand,
            row.sessions,
            row.patients,
        )
        for row in records.session_counts()
        if row.indication in knowledge.indications and row.product in knowledge.products
    )
    return Registry(treatments, responder_rates(records, knowledge, today))
