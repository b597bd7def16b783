"""Use cases: registry analytics for researchers — saved cohorts, a cohort's size, the analyses of a cohort as
published (small cells suppressed, each with its method), and the de-identified export.

What leaves here is what a researcher may see: the engine's raw results are published through
:mod:`bont.domain.research.disclosure` with the clinic's minimum cell size before any page, command or API shows
them, and every table says how many of its cells were suppressed and why. Nothing here names a patient: a
cohort is a definition, the results are counts and statistics. This is de-identified registry data for research,
not advice for a patient.

The analytics engine and the dataset's extract and export are adapters (``bont.interop.registry``,
``bont.clinic.research_dataset``) wired in ``bont.bootstrap``; the saved cohorts are stored through
``SavedCohorts`` (``bont.clinic.cohort_records``).
"""

from __future__ import annotations

import abc
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.research.analyses import (
    SIZE,
    AdverseEventRate,
    CohortSize,
    ContinuationRow,
    DoseByCycle,
    Method,
    ResponderCycle,
    RetreatmentCurve,
    ScaleChange,
)
from bont.domain.research.cohorts import CohortDefinition
from bont.domain.research.deidentification import site_code
from bont.domain.research.disclosure import (
    MeanInterval,
    MinimumCell,
    PublishedAdverseEventRate,
    PublishedCell,
    PublishedContinuationRow,
    PublishedCurve,
    PublishedDose,
    PublishedResponderCycle,
    PublishedScaleChange,
    PublishedSize,
    PublishedTable,
    publish_adverse_events,
    publish_continuation,
    publish_doses,
    publish_responders,
    publish_retreatment,
    publish_scale_changes,
    publish_size,
)

NOT_ADVICE = (
    "De-identified registry data for research: aggregates of the clinic's records, small cells suppressed. "
    "Not advice for any patient."
)

# A cohort's name: what a researcher types after ``bont research analyse`` and in an API path.
COHORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


# -- ports


@dataclass(frozen=True)
class StoredCohort:
    name: str
    definition: Mapping[str, Any]  # CohortDefinition.to_mapping()
    created_by: str
    updated_at: datetime


class CohortOwnedByOther(Exception):
    """Another user saved a cohort of that name: only its owner replaces it."""


class SavedCohorts(abc.ABC):
    """The researchers' named cohort definitions (``bont.clinic.cohort_records`` on Django)."""

    @abc.abstractmethod
    def save(self, name: str, definition: Mapping[str, Any], username: str) -> None:
        """Store ``definition`` under ``name``, replacing the owner's earlier one (``CohortOwnedByOther`` when
        another user owns the name)."""

    @abc.abstractmethod
    def named(self, name: str) -> StoredCohort | None: ...

    @abc.abstractmethod
    def all(self) -> tuple[StoredCohort, ...]:
        """Every saved cohort, by name."""


class AnalysisEngine(Protocol):
    """The analytics engine over the analysis dataset (``bont.interop.registry.engine.RegistryEngine``): raw
    results, never shown as they are."""

    def size(self, cohort: CohortDefinition) -> CohortSize: ...

    def responders(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> Sequence[ResponderCycle]: ...

    def scale_changes(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> Sequence[ScaleChange]: ...

    def doses(self, cohort: CohortDefinition) -> Sequence[DoseByCycle]: ...

    def retreatment(self, cohort: CohortDefinition) -> Sequence[RetreatmentCurve]: ...

    def adverse_events(self, cohort: CohortDefinition) -> Sequence[AdverseEventRate]: ...

    def continuation(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> Sequence[ContinuationRow]: ...


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    NDJSON = "ndjson"  # FHIR Bulk Data, de-identified


@dataclass(frozen=True)
class ExportRequest:
    folder: Path  # a new folder; nothing is left there when the export is refused
    format: ExportFormat
    site: str
    cohort: CohortDefinition | None  # None: every patient
    minimum_k: int


# Writes the de-identified export (``bont.interop.registry.export`` over the clinic's extract) and returns its
# manifest; raises ``ExportRefused`` below k, leaving nothing behind.
Exporter = Callable[[ExportRequest], Mapping[str, Any]]


# -- saved cohorts


def cohort_definition(mapping: Mapping[str, Any]) -> CohortDefinition:
    """A cohort from a form, a document or the command line's options (``FieldError`` naming the field)."""
    return CohortDefinition.from_mapping(dict(mapping))


def save_cohort(cohorts: SavedCohorts, name: str, definition: CohortDefinition, username: str) -> None:
    if not COHORT_NAME.fullmatch(name):
        raise FieldError(
            "name", "1 to 80 letters, digits, dots, dashes or underscores, starting with a letter or digit"
        )
    try:
        cohorts.save(name, definition.to_mapping(), username)
    except CohortOwnedByOther:
        raise FieldError("name", "another user saved a cohort of that name; choose another name") from None


def saved_cohort(cohorts: SavedCohorts, name: str) -> CohortDefinition:
    stored = cohorts.named(name)
    if stored is None:
        raise FieldError("cohort", "no saved cohort of that name")
    return cohort_definition(stored.definition)


# -- what a plot shows: drawn by ``bont.interop.registry.plots`` (SVG for the page, PNG for files)


class ChartKind(StrEnum):
    POINTS = "points"  # a value per cycle with its interval, joined
    STEPS = "steps"  # a Kaplan–Meier curve with its band
    BARS = "bars"  # a value per category


@dataclass(frozen=True)
class Series:
    """One line (or set of bars) of a chart: published values only, never a suppressed one."""

    label: str  # with its n, e.g. "HIT-6 ≥ 5 points (n = 24 judged at cycle 1)"
    x: tuple[float, ...]
    y: tuple[float, ...]
    low: tuple[float, ...] = ()  # the interval's bounds, when it has one
    high: tuple[float, ...] = ()


@dataclass(frozen=True)
class Chart:
    name: str  # a file name stem (letters, digits, dashes)
    title: str  # says n
    kind: ChartKind
    x_label: str  # with its unit
    y_label: str  # with its unit
    series: tuple[Series, ...]
    integer_x: bool = False  # cycles are whole numbers
    y_limits: tuple[float, float] | None = None
    categories: tuple[str, ...] = ()  # BARS: the label of each x position


# -- the published analyses: what every page, command and API call shows


@dataclass(frozen=True)
class Cell:
    """A published figure: its value for JSON (None when suppressed or not applicable) and its text as shown."""

    value: int | float | str | None
    text: str
    suppressed: bool = False


@dataclass(frozen=True)
class Column:
    key: str  # the JSON key
    label: str  # the heading, with its unit


@dataclass(frozen=True)
class Report:
    """One analysis as published: its table, method, suppressed figures counted and why, and its plots."""

    key: str
    method: Method
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    suppressed: int
    suppression: str
    charts: tuple[Chart, ...] = ()

    @property
    def rows_with_figures(self) -> tuple[tuple[Cell, ...], ...]:
        """The rows that publish at least one figure."""
        return tuple(row for row in self.rows if not self._withheld(row))

    @property
    def rows_withheld(self) -> tuple[tuple[Cell, ...], ...]:
        """The rows whose every figure is suppressed: a page lists them apart, folded, so that a small clinic's
        tables are not pages of "<11"."""
        return tuple(row for row in self.rows if self._withheld(row))

    def _withheld(self, row: tuple[Cell, ...]) -> bool:
        figures = [cell for column, cell in zip(self.columns, row, strict=True) if column.key not in ROW_LABELS]
        return any(cell.suppressed for cell in figures) and all(cell.value is None for cell in figures)


# The columns that say what a row is about rather than publish a figure of it.
ROW_LABELS = frozenset(
    {"indication", "instrument", "definition", "cycle", "product", "term", "seriousness", "status", "reason"}
)


@dataclass(frozen=True)
class Analyses:
    cohort: CohortDefinition
    minimum_cell: int
    size: Report
    reports: tuple[Report, ...]

    @property
    def fingerprint(self) -> str:
        """A short digest of the cohort's definition: what the access log records of an analysis (no identifier,
        and the same cohort always gives the same digest)."""
        text = json.dumps(self.cohort.to_mapping(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _count(cell: PublishedCell, minimum: int) -> Cell:
    if cell.count is None:
        return Cell(None, f"<{minimum}", suppressed=True)
    return Cell(cell.count, str(cell.count))


def _figure(value: float | None, hidden: bool, digits: int = 1, scale: float = 1.0) -> Cell:
    if value is None:
        return Cell(None, "suppressed" if hidden else "—", suppressed=hidden)
    shown = round(value * scale, digits)
    return Cell(shown, f"{shown:.{digits}f}")


def _text(value: str) -> Cell:
    return Cell(value, value)


def published_size(engine: AnalysisEngine, cohort: CohortDefinition, minimum_cell: int) -> Report:
    """A cohort's patients and sessions, before anything is run on it (counts under the minimum suppressed, and
    everything when the whole clinic less the cohort would describe a few)."""
    return _size_report(_size(engine, cohort, MinimumCell(minimum_cell)))


def _size(engine: AnalysisEngine, cohort: CohortDefinition, minimum: MinimumCell) -> PublishedSize:
    whole = CohortDefinition()
    size = engine.size(cohort)
    return publish_size(size, minimum, size if cohort == whole else engine.size(whole))


def _size_report(size: PublishedSize) -> Report:
    suppressed = sum(cell.suppressed for cell in (size.patients, size.sessions))
    if size.near_whole:
        note = (
            f"Withheld: the whole clinic less this cohort is fewer than {size.minimum} patients or sessions, whom "
            "its figures subtracted from the whole clinic's would describe; no analysis of it is shown."
        )
    elif suppressed:
        note = (
            f"{suppressed} figure(s) suppressed: a cohort of fewer than {size.minimum} patients is not described, "
            f"nor its sessions while they exceed its patients by fewer than {size.minimum} (its repeat sessions)."
        )
    else:
        note = f"No figure suppressed (minimum cell size {size.minimum})."
    return Report(
        "size",
        SIZE,
        (Column("patients", "Patients"), Column("sessions", "Sessions")),
        ((_count(size.patients, size.minimum), _count(size.sessions, size.minimum)),),
        suppressed,
        note,
    )


_Raw = TypeVar("_Raw")


def analyse(
    engine: AnalysisEngine,
    knowledge: KnowledgeBase,
    cohort: CohortDefinition,
    minimum_cell: int,
    mean_interval: MeanInterval,
) -> Analyses:
    """Every analysis of the cohort, published with the clinic's minimum cell size; none when the cohort's size
    is withheld as too near the whole clinic (the note of its size says why)."""
    minimum = MinimumCell(minimum_cell)
    names = _Names(knowledge)
    size = _size(engine, cohort, minimum)
    withheld = size.near_whole

    def asked(rows: Callable[[], Sequence[_Raw]]) -> Sequence[_Raw]:
        return () if withheld else rows()

    reports: tuple[Report, ...] = (
        _responders(publish_responders(asked(lambda: engine.responders(cohort, knowledge)), minimum), names),
        _scale_changes(
            publish_scale_changes(asked(lambda: engine.scale_changes(cohort, knowledge)), mean_interval, minimum),
            names,
        ),
        _doses(publish_doses(asked(lambda: engine.doses(cohort)), minimum), names),
        _retreatment(publish_retreatment(asked(lambda: engine.retreatment(cohort)), minimum), names),
        _adverse_events(
            publish_adverse_events(
                asked(lambda: engine.adverse_events(cohort)), minimum, sessions_withheld=size.sessions.suppressed
            ),
            names,
        ),
        _continuation(publish_continuation(asked(lambda: engine.continuation(cohort, knowledge)), minimum)),
    )
    size_report = _size_report(size)
    if withheld:
        reports = tuple(replace(report, suppression=size_report.suppression) for report in reports)
    return Analyses(cohort, minimum_cell, size_report, reports)


class _Names:
    """The knowledge's names for the ids of the dataset (an id it does not know, from another site, as it is)."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge

    def indication(self, id_: str) -> str:
        found = self.knowledge.indications.get(id_)
        return found.name if found is not None else id_

    def instrument(self, id_: str) -> str:
        found = self.knowledge.instruments.get(id_)
        return found.name if found is not None else id_

    def unit(self, id_: str) -> str:
        found = self.knowledge.instruments.get(id_)
        return found.unit if found is not None and found.unit else "points"

    def product(self, id_: str) -> str:
        found = self.knowledge.products.get(id_)
        return found.brand if found is not None else id_

    def term(self, id_: str) -> str:
        found = self.knowledge.adverse_event_terms.get(id_)
        return found.name if found is not None else id_

    def definition(self, id_: str) -> str:
        for definition in self.knowledge.responder_definitions:
            if definition.id == id_:
                return definition.description
        return id_

    def short_definition(self, id_: str) -> str:
        """The definition's rule without its commentary: "≥50% reduction in headache days per 28 days from
        baseline"."""
        return self.definition(id_).split(" (")[0]


def _chart_name(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def _responders(table: PublishedTable[PublishedResponderCycle], names: _Names) -> Report:
    m = table.minimum
    rows = tuple(
        (
            Cell(r.indication, names.indication(r.indication)),
            Cell(r.instrument, names.instrument(r.instrument)),
            Cell(r.definition_id, names.short_definition(r.definition_id)),
            Cell(r.cycle, str(r.cycle)),
            _count(r.responders, m),
            _count(r.non_responders, m),
            _count(r.not_assessable, m),
            _figure(r.rate, r.responders.suppressed, scale=100),
            _figure(r.ci_low, r.responders.suppressed, scale=100),
            _figure(r.ci_high, r.responders.suppressed, scale=100),
        )
        for r in table.rows
    )
    charts: dict[tuple[str, str], list[Series]] = {}
    judged_total: dict[tuple[str, str], int] = {}
    by_definition: dict[tuple[str, str, str], list[PublishedResponderCycle]] = {}
    for r in table.rows:
        if r.rate is not None and r.ci_low is not None and r.ci_high is not None:
            by_definition.setdefault((r.indication, r.instrument, r.definition_id), []).append(r)
    for (indication, instrument, definition), cycles in by_definition.items():
        judged = [(r.responders.count or 0) + (r.non_responders.count or 0) for r in cycles]
        judged_total[(indication, instrument)] = max(judged_total.get((indication, instrument), 0), max(judged))
        charts.setdefault((indication, instrument), []).append(
            Series(
                f"{names.short_definition(definition)} (n judged per cycle {min(judged)}–{max(judged)})",
                tuple(float(r.cycle) for r in cycles),
                tuple((r.rate or 0.0) * 100 for r in cycles),
                tuple((r.ci_low or 0.0) * 100 for r in cycles),
                tuple((r.ci_high or 0.0) * 100 for r in cycles),
            )
        )
    return Report(
        "responders",
        table.method,
        (
            Column("indication", "Indication"),
            Column("instrument", "Measure"),
            Column("definition", "Responder definition"),
            Column("cycle", "Cycle"),
            Column("responders", "Responders"),
            Column("non_responders", "Non-responders"),
            Column("not_assessable", "Not assessable"),
            Column("rate_percent", "Responder rate (%)"),
            Column("ci_low_percent", "95 % CI low (%)"),
            Column("ci_high_percent", "95 % CI high (%)"),
        ),
        rows,
        table.suppressed,
        table.note,
        tuple(
            Chart(
                _chart_name("responders", indication, instrument),
                f"Responders per cycle: {names.indication(indication)}, {names.instrument(instrument)} "
                f"(up to n = {judged_total[(indication, instrument)]} judged, Wilson 95 % CI)",
                ChartKind.POINTS,
                "Treatment cycle",
                "Responders among the judged (%)",
                tuple(series),
                integer_x=True,
                y_limits=(0.0, 102.0),  # a rate of 100 % stays visible above the top gridline
            )
            for (indication, instrument), series in charts.items()
        ),
    )


def _scale_changes(table: PublishedTable[PublishedScaleChange], names: _Names) -> Report:
    m = table.minimum
    rows = tuple(
        (
            Cell(r.indication, names.indication(r.indication)),
            Cell(r.instrument, names.instrument(r.instrument)),
            Cell(r.cycle, str(r.cycle)),
            _count(r.n, m),
            _figure(r.mean_change, r.n.suppressed, digits=2),
            _figure(r.sd, r.n.suppressed, digits=2),
            _figure(r.ci_low, r.n.suppressed, digits=2),
            _figure(r.ci_high, r.n.suppressed, digits=2),
        )
        for r in table.rows
    )
    grouped: dict[tuple[str, str], list[PublishedScaleChange]] = {}
    for r in table.rows:
        if r.mean_change is not None and r.ci_low is not None and r.ci_high is not None:
            grouped.setdefault((r.indication, r.instrument), []).append(r)
    charts = tuple(
        Chart(
            _chart_name("change", indication, instrument),
            f"Change from baseline: {names.indication(indication)}, {names.instrument(instrument)} "
            f"(n per cycle {min(r.n.count or 0 for r in cycles)}–{max(r.n.count or 0 for r in cycles)}, 95 % CI)",
            ChartKind.POINTS,
            "Treatment cycle",
            f"Change from baseline ({names.unit(instrument)})",
            (
                Series(
                    names.instrument(instrument),
                    tuple(float(r.cycle) for r in cycles),
                    tuple(r.mean_change or 0.0 for r in cycles),
                    tuple(r.ci_low or 0.0 for r in cycles),
                    tuple(r.ci_high or 0.0 for r in cycles),
                ),
            ),
            integer_x=True,
        )
        for (indication, instrument), cycles in grouped.items()
    )
    return Report(
        "scale_changes",
        table.method,
        (
            Column("indication", "Indication"),
            Column("instrument", "Measure"),
            Column("cycle", "Cycle"),
            Column("n", "Patients"),
            Column("mean_change", "Mean change (measure's units)"),
            Column("sd", "SD"),
            Column("ci_low", "95 % CI low"),
            Column("ci_high", "95 % CI high"),
        ),
        rows,
        table.suppressed,
        table.note,
        charts,
    )


def _doses(table: PublishedTable[PublishedDose], names: _Names) -> Report:
    m = table.minimum
    rows = tuple(
        (
            Cell(r.product, names.product(r.product)),
            Cell(r.cycle, str(r.cycle)),
            _count(r.sessions, m),
            _figure(r.median, r.sessions.suppressed),
            _figure(r.q1, r.sessions.suppressed),
            _figure(r.q3, r.sessions.suppressed),
        )
        for r in table.rows
    )
    grouped: dict[str, list[PublishedDose]] = {}
    for r in table.rows:
        if r.median is not None and r.q1 is not None and r.q3 is not None:
            grouped.setdefault(r.product, []).append(r)
    # One chart per product: units of different products never share an axis.
    charts = tuple(
        Chart(
            _chart_name("doses", product),
            f"Dose per session by cycle: {names.product(product)} "
            f"(n sessions per cycle {min(r.sessions.count or 0 for r in cycles)}–"
            f"{max(r.sessions.count or 0 for r in cycles)}; median and quartiles)",
            ChartKind.POINTS,
            "Treatment cycle",
            f"Units of {names.product(product)} per session",
            (
                Series(
                    f"{names.product(product)} median (quartiles)",
                    tuple(float(r.cycle) for r in cycles),
                    tuple(r.median or 0.0 for r in cycles),
                    tuple(r.q1 or 0.0 for r in cycles),
                    tuple(r.q3 or 0.0 for r in cycles),
                ),
            ),
            integer_x=True,
        )
        for product, cycles in grouped.items()
    )
    return Report(
        "doses",
        table.method,
        (
            Column("product", "Product"),
            Column("cycle", "Cycle"),
            Column("sessions", "Sessions"),
            Column("median_units", "Median units (product's own)"),
            Column("q1_units", "Q1 units"),
            Column("q3_units", "Q3 units"),
        ),
        rows,
        table.suppressed,
        table.note,
        charts,
    )


def _median(curve: PublishedCurve) -> Cell:
    if curve.median_days is not None:
        return Cell(curve.median_days, str(curve.median_days))
    # No median: the curve is withheld (too few), or it never fell to one half while enough remained at risk.
    return Cell(None, "not reached" if curve.steps else "—")


def _retreatment(table: PublishedTable[PublishedCurve], names: _Names) -> Report:
    m = table.minimum
    rows = tuple(
        (
            Cell(c.indication, names.indication(c.indication)),
            _count(c.patients, m),
            _count(c.events, m),
            _count(c.censored, m),
            _median(c),
        )
        for c in table.rows
    )
    charts = tuple(
        Chart(
            _chart_name("retreatment", c.indication),
            f"Time to retreatment: {names.indication(c.indication)} (n = {c.patients.count} patients; "
            "Kaplan–Meier, 95 % CI)",
            ChartKind.STEPS,
            "Days since the session",
            "Not yet retreated (%)",
            (
                Series(
                    f"{names.indication(c.indication)} (n = {c.patients.count})",
                    (0.0, *(float(s.day) for s in c.steps)),
                    (100.0, *(s.survival * 100 for s in c.steps)),
                    (100.0, *(s.ci_low * 100 for s in c.steps)),
                    (100.0, *(s.ci_high * 100 for s in c.steps)),
                ),
            ),
            y_limits=(0.0, 100.0),
        )
        for c in table.rows
        if c.steps and c.patients.count is not None
    )
    return Report(
        "retreatment",
        table.method,
        (
            Column("indication", "Indication"),
            Column("patients", "Patients"),
            Column("events", "Retreatments"),
            Column("censored", "Censored"),
            Column("median_days", "Median days to retreatment"),
        ),
        rows,
        table.suppressed,
        table.note,
        charts,
    )


def _adverse_events(table: PublishedTable[PublishedAdverseEventRate], names: _Names) -> Report:
    m = table.minimum
    rows = tuple(
        (
            Cell(r.term, names.term(r.term)),
            Cell(r.serious, "serious" if r.serious else "not serious"),
            _count(r.events, m),
            _count(r.sessions, m),
            _figure(r.per_100_sessions, r.events.suppressed or r.sessions.suppressed, digits=2),
        )
        for r in table.rows
    )
    shown = [r for r in table.rows if r.per_100_sessions is not None]
    charts: tuple[Chart, ...] = ()
    if shown:
        sessions = max(r.sessions.count or 0 for r in shown)
        charts = (
            Chart(
                "adverse-events",
                f"Adverse events per 100 sessions (n = {sessions} sessions)",
                ChartKind.BARS,
                "Term",
                "Events per 100 sessions",
                (
                    Series(
                        f"events per 100 sessions (n = {sessions})",
                        tuple(float(i) for i in range(len(shown))),
                        tuple(r.per_100_sessions or 0.0 for r in shown),
                    ),
                ),
                categories=tuple(f"{names.term(r.term)}{' (serious)' if r.serious else ''}" for r in shown),
            ),
        )
    return Report(
        "adverse_events",
        table.method,
        (
            Column("term", "Term"),
            Column("seriousness", "Seriousness"),
            Column("events", "Events"),
            Column("sessions", "Sessions"),
            Column("per_100_sessions", "Per 100 sessions"),
        ),
        rows,
        table.suppressed,
        table.note,
        charts,
    )


def _continuation(table: PublishedTable[PublishedContinuationRow]) -> Report:
    m = table.minimum
    rows = tuple(
        (
            _text(str(r.status)),
            Cell(None if r.reason is None else str(r.reason), "—" if r.reason is None else str(r.reason)),
            _count(r.patients, m),
        )
        for r in table.rows
    )
    return Report(
        "continuation",
        table.method,
        (Column("status", "Status"), Column("reason", "Reason"), Column("patients", "Patients")),
        rows,
        table.suppressed,
        table.note,
    )


def report_document(report: Report) -> dict[str, Any]:
    """A published analysis as JSON: rows keyed by column (ids of the knowledge base, not names, where a column
    holds one), a suppressed figure as null."""
    return {
        "analysis": report.key,
        "method": {
            "name": report.method.name,
            "description": report.method.description,
            "definitions": list(report.method.definitions),
            "citations": list(report.method.citations),
        },
        "columns": [{"key": c.key, "label": c.label} for c in report.columns],
        "rows": [{c.key: cell.value for c, cell in zip(report.columns, row, strict=True)} for row in report.rows],
        "suppressed": report.suppressed,
        "suppression": report.suppression,
        "suppressed_as": "suppressed",
    }


def analyses_document(analyses: Analyses) -> dict[str, Any]:
    return {
        "notice": NOT_ADVICE,
        "cohort": analyses.cohort.to_mapping(),
        "minimum_cell": analyses.minimum_cell,
        "size": report_document(analyses.size),
        "analyses": [report_document(report) for report in analyses.reports],
    }


# -- the de-identified export


def export_dataset(exporter: Exporter, request: ExportRequest) -> Mapping[str, Any]:
    """Write the de-identified export (``ExportRefused`` under k, with the reason; nothing left behind)."""
    if request.cohort is not None and not request.cohort.to_mapping():
        request = replace(request, cohort=None)  # no criterion: every patient, without selecting them
    if request.format is ExportFormat.NDJSON and request.cohort is not None:
        raise FieldError("cohort", "the FHIR NDJSON export holds every patient; export a cohort as csv or parquet")
    if request.cohort is not None and (request.cohort.first_day or request.cohort.last_day):
        # Knowing that every patient had a session within real days would narrow each one's secret date offset.
        raise FieldError(
            "cohort",
            "a date range cannot choose the patients of an export: its real days would narrow each patient's "
            "secret date offset; export without it and select by the export's own (shifted) dates",
        )
    return exporter(replace(request, site=site_code(request.site)))


def export_zip(
    exporter: Exporter, export_format: ExportFormat, site: str, cohort: CohortDefinition | None, minimum_k: int
) -> bytes:
    """The de-identified export as the bytes of a zip archive (for a download), written in a private temporary
    folder that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bont-research-") as work:
        folder = Path(work) / "export"
        export_dataset(exporter, ExportRequest(folder, export_format, site, cohort, minimum_k))
        archive = shutil.make_archive(str(Path(work) / "registry-export"), "zip", folder)
        return Path(archive).read_bytes()
