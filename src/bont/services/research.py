"""Use case: the de-identified registry for researchers: sessions and patients per indication and
product, and responder rates per indication and instrument. Counts only: no names, record numbers or
dates; and what is published (:func:`published_registry`) suppresses small cells, so that no row describes
one patient or a handful of them.

Small-cell suppression is the threshold (minimum frequency) rule of statistical disclosure control for
frequency tables (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, ch. 5): a count of fewer
than ``SMALL_CELL_THRESHOLD`` patients is shown as "<5", and a cell that would let a reader recompute a
suppressed one (a rate from its numerator and denominator, the sessions of a suppressed group of patients) is
suppressed with it. The threshold is bont's policy; stricter ones exist (the CMS cell size suppression policy
hides 1 to 10)."""

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
    settings = records.continuation_settings()
    # The histories read in bulk, a chunk of patients at a time: a few queries, never a few per patient.
    for history in records.outcome_histories(records.patients_with_outcomes()):
        for outcomes in outcomes_of_patient(records, knowledge, history.patient_id, today, history, settings):
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


SMALL_CELL_THRESHOLD = 5


@dataclass(frozen=True)
class Cell:
    """A published count, or a suppressed one (``count`` None), shown as "<5"."""

    count: int | None

    def __str__(self) -> str:
        return f"<{SMALL_CELL_THRESHOLD}" if self.count is None else str(self.count)


def _cell(count: int) -> Cell:
    # Zero is suppressed too: "nobody in this group responded" tells about each of its few members.
    return Cell(count if count >= SMALL_CELL_THRESHOLD else None)


@dataclass(frozen=True)
class PublishedTreatment:
    indication_name: str
    brand: str
    patients: Cell
    sessions: Cell  # suppressed with the patients: the sessions of a handful of patients describe them


@dataclass(frozen=True)
class PublishedResponderRate:
    indication: str
    instrument: str
    responders: Cell
    non_responders: Cell
    not_assessable: Cell
    rate: int | None  # None when nobody was judged or when the rate would reveal a suppressed count
    rate_suppressed: bool  # the rate is withheld with a suppressed count (not: nobody was judged)


@dataclass(frozen=True)
class PublishedRegistry:
    treatments: tuple[PublishedTreatment, ...]
    responders: tuple[PublishedResponderRate, ...]


def suppress_small_cells(found: Registry) -> PublishedRegistry:
    """The registry as the research page publishes it: every count of fewer than ``SMALL_CELL_THRESHOLD``
    suppressed, with the cells that would give it back (no totals are published, so no other cell needs to
    go)."""
    treatments = tuple(
        PublishedTreatment(
            row.indication_name,
            row.brand,
            _cell(row.patients),
            _cell(row.sessions) if row.patients >= SMALL_CELL_THRESHOLD else Cell(None),
        )
        for row in found.treatments
    )
    responders = []
    for row in found.responders:
        judged = (_cell(row.responders), _cell(row.non_responders))
        # responders / (responders + non-responders): with one of them known, the rate gives the other
        withheld = any(c.count is None for c in judged)
        responders.append(
            PublishedResponderRate(
                row.indication,
                row.instrument,
                *judged,
                _cell(row.not_assessable),
                None if withheld else row.rate,
                withheld and row.rate is not None,
            )
        )
    return PublishedRegistry(treatments, tuple(responders))


def published_registry(records: OutcomeRecords, knowledge: KnowledgeBase, today: date) -> PublishedRegistry:
    """The research page's tables, small cells suppressed."""
    return suppress_small_cells(registry(records, knowledge, today))


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
