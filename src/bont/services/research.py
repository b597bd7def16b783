"""Use case: the de-identified registry for researchers: sessions and patients per indication and
product, and responder rates per indication and instrument. Counts only: no names, record numbers or
dates; and what is published (:func:`published_registry`) suppresses small cells, so that no row describes
one patient or a handful of them.

Small-cell suppression is the rule of the registry analyses (``bont.domain.research.disclosure``): a count from 1
to one under the clinic's minimum cell size (``BONT_RESEARCH_MIN_CELL``, default 11, as the CMS cell size
suppression policy hides 1 to 10) is shown as "<11", and a cell that would let a reader recompute a suppressed one
(a rate from its numerator and denominator, the sessions of a suppressed group of patients) is suppressed with it.
A zero is shown, as it describes no one, except beside a suppressed count of its row: responders 0 beside "<11"
non-responders would tell that every judged patient failed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bont.domain.knowledge import KnowledgeBase
from bont.domain.research.disclosure import MinimumCell
from bont.services.outcome_ports import ContinuationSetting, OutcomeHistory, OutcomeRecords
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
    # The stored verdicts were computed with other knowledge (or not yet): no rate is shown until
    # ``bont research refresh`` has judged every patient again.
    responders_outdated: bool = False


# -- each patient's latest verdicts, stored by the recording transactions (bont.clinic.responder_verdicts)

# Bump when the code that judges a cycle (bont.services.outcomes, bont.domain.outcomes) changes its answers: the
# stored verdicts then wait for ``bont research refresh``, as they do when the knowledge they rest on changes.
VERDICT_CODE_VERSION = 1


def verdict_basis(knowledge: KnowledgeBase) -> str:
    """A digest of what a stored verdict rests on: the knowledge base's indications, instruments, responder
    definitions and headache-day rules, and the version of the judging code."""
    rests_on = (
        VERDICT_CODE_VERSION,
        sorted(knowledge.indications),
        tuple(knowledge.instruments.values()),
        knowledge.responder_definitions,
        knowledge.headache_day_rules,
    )
    return hashlib.sha256(repr(rests_on).encode()).hexdigest()


@dataclass(frozen=True)
class LatestVerdict:
    """The status of a patient's latest verdict for one indication and instrument (ids)."""

    indication: str
    instrument: str
    status: str


# The latest diary period ends on the last day kept or on today, whichever is earlier; a diary day is never after
# the day it is entered (``check_day``), so judged as of the last day, a stored verdict holds whatever day it is.
_AS_OF_THE_LAST_DAY_KEPT = date.max


def latest_verdicts(
    records: OutcomeRecords,
    knowledge: KnowledgeBase,
    history: OutcomeHistory,
    settings: Mapping[str, ContinuationSetting],
) -> tuple[LatestVerdict, ...]:
    """Each patient's latest cycle with a follow-up measurement, judged by the indication's cited definition, as
    the chart judges it: what is stored for the research page."""
    found = []
    for outcomes in outcomes_of_patient(
        records, knowledge, history.patient_id, _AS_OF_THE_LAST_DAY_KEPT, history, dict(settings)
    ):
        for series in outcomes.series:
            verdict = series.latest_verdict
            if verdict is not None:
                found.append(LatestVerdict(outcomes.indication.id, series.instrument.id, str(verdict.status)))
    return tuple(found)


def responder_rates(records: OutcomeRecords, knowledge: KnowledgeBase) -> tuple[ResponderRate, ...] | None:
    """The stored latest verdicts counted per indication and instrument; None when they were computed with other
    knowledge than ``knowledge`` (or are being computed)."""
    stored = records.verdict_tallies()
    if stored.basis is not None and stored.basis != verdict_basis(knowledge):
        return None
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for row in stored.tallies:
        key = (knowledge.indications[row.indication].name, knowledge.instruments[row.instrument].name)
        tally = counts.setdefault(key, {})
        tally[row.status] = tally.get(row.status, 0) + row.patients
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


DEFAULT_MINIMUM = MinimumCell()


@dataclass(frozen=True)
class Cell:
    """A published count, or a suppressed one (``count`` None), shown as "<11" under a minimum of 11."""

    count: int | None
    minimum: int = MinimumCell.DEFAULT

    def __str__(self) -> str:
        return f"<{self.minimum}" if self.count is None else str(self.count)


def _cell(count: int, minimum: MinimumCell) -> Cell:
    return Cell(None if 0 < count < minimum.value else count, minimum.value)


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
    responders_outdated: bool = False


def suppress_small_cells(found: Registry, minimum: MinimumCell = DEFAULT_MINIMUM) -> PublishedRegistry:
    """The registry as the research page publishes it: every count from 1 to under ``minimum`` suppressed, with
    the cells that would give it back and the zeros beside them (no totals are published, so no other cell needs
    to go)."""
    treatments = tuple(
        PublishedTreatment(
            row.indication_name,
            row.brand,
            patients := _cell(row.patients, minimum),
            _cell(row.sessions, minimum) if patients.count is not None else Cell(None, minimum.value),
        )
        for row in found.treatments
    )
    responders = []
    for row in found.responders:
        responders_cell, non_responders_cell, not_assessable = _verdict_cells(row, minimum)
        # responders / (responders + non-responders): with one of them known, the rate gives the other; and with
        # both hidden, "nobody judged" would say they are zeros
        withheld = responders_cell.count is None or non_responders_cell.count is None
        responders.append(
            PublishedResponderRate(
                row.indication,
                row.instrument,
                responders_cell,
                non_responders_cell,
                not_assessable,
                None if withheld else row.rate,
                withheld,
            )
        )
    return PublishedRegistry(treatments, tuple(responders), found.responders_outdated)


def _verdict_cells(row: ResponderRate, minimum: MinimumCell) -> tuple[Cell, Cell, Cell]:
    """The responders, non-responders and not assessable as published. A zero beside a suppressed count goes
    with it: responders 0 beside "<11" non-responders would say that every judged patient failed."""
    cells = [_cell(count, minimum) for count in (row.responders, row.non_responders, row.not_assessable)]
    if any(cell.count is None for cell in cells):
        cells = [Cell(None, minimum.value) if cell.count == 0 else cell for cell in cells]
    return cells[0], cells[1], cells[2]


def published_registry(
    records: OutcomeRecords, knowledge: KnowledgeBase, minimum: MinimumCell = DEFAULT_MINIMUM
) -> PublishedRegistry:
    """The research page's tables, small cells suppressed."""
    return suppress_small_cells(registry(records, knowledge), minimum)


def registry(records: OutcomeRecords, knowledge: KnowledgeBase) -> Registry:
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
    rates = responder_rates(records, knowledge)
    return Registry(treatments, () if rates is None else rates, responders_outdated=rates is None)
