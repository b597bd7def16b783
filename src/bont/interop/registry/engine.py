"""The registry analytics engine: every analysis of a cohort as SQL in DuckDB over the analysis dataset.

The dataset's tables (``bont.domain.research.dataset.DATASET``) are views of a DuckDB connection: over pyarrow
Tables (the clinic's own records, read in bulk) or over the Parquet or CSV files of one or several exports (a
multi-site study: the sites' rows one after the other). Only aggregates leave the engine, as the raw results of
``bont.domain.research.analyses``; disclosure control is applied by whoever publishes them.

One clinical truth: the chart judges responders with ``bont.domain.outcomes.responders``, fed by
``bont.services.outcomes.diary_measurements``. The engine re-implements only their arithmetic, set-wise:

- diary windows end on each session day of the indication and on the latest diary day (at most the end of
  follow-up); a window counts when at least the minimum number of days were kept; rates per 28 days (headache)
  or per day (bladder) are rounded to 0.01 half-even, as ``per_period`` does, in integer arithmetic;
- a measurement belongs to the cycle of the session days before it, to none when a session day lies strictly
  inside its period; each cycle is judged on its last measurement against the last one on or before the first
  session day; on one day a diary's window comes after every stored score, and stored scores follow their order
  of entry (the dataset's ``entry``), as in the chart;
- thresholds are compared exactly: values are whole millionths and a percent threshold is met when
  ``improvement × 100 ≥ threshold × baseline`` (products in ``HUGEINT``).

Every figure (rule, threshold, direction, window length, minimum days, period) is read from the knowledge base
and the outcome service's constants and handed to SQL as a small table; none is written in the SQL. An ordinal
or binary score's ``value`` in the dataset is its rank on the instrument's scale (the first grade is 0).

Kaplan–Meier confidence intervals use Greenwood's variance on the log(−log) scale (Kalbfleisch & Prentice), as
``scipy.stats.ecdf(...).sf.confidence_interval(method="log-log")`` does.

Dates in exports are shifted per patient: a cohort's ``first_day`` and ``last_day`` over exports (one site's or
several combined) select on the shifted dates, up to a year off the real ones; on the clinic's own records they
are real.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import duckdb
import pyarrow as pa

from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import Direction, Instrument, InstrumentKind
from bont.domain.outcomes.diaries import PERIOD_DAYS
from bont.domain.outcomes.responders import ResponderRule, ResponderStatus
from bont.domain.research.analyses import (
    AdverseEventRate,
    CohortSize,
    ContinuationRow,
    ContinuationStatus,
    DiscontinuationReason,
    DoseByCycle,
    ResponderCycle,
    RetreatmentCurve,
    RetreatmentStep,
    ScaleChange,
)
from bont.domain.research.cohorts import CohortDefinition
from bont.domain.research.dataset import DATASET, ColumnType
from bont.services.outcomes import (
    BLADDER,
    BLADDER_MINIMUM_DAYS,
    BLADDER_WINDOW_DAYS,
    DIARY_INSTRUMENTS,
    HEADACHE,
    HEADACHE_MINIMUM_DAYS,
    HEADACHE_WINDOW_DAYS,
)

# Whole millionths: exact for every score bont records (at most two decimals) and for the thresholds.
SCALE = 1_000_000
CONFIDENCE = 0.95

_SQL_TYPES = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.DECIMAL: "DECIMAL(38, 10)",
    ColumnType.DATE: "DATE",
    ColumnType.BOOLEAN: "BOOLEAN",
}

# The dataset column each diary-derived instrument counts, as ``HeadacheDiarySummary.scores`` and
# ``BladderDiarySummary.scores`` pair them.
_DIARY_COLUMNS = {
    "headache-days": "headache_day",
    "migraine-days": "migraine_day",
    "acute-medication-days": "acute_medication_day",
    "ui-episodes-per-day": "incontinence_episodes",
    "voids-per-day": "voids",
}
# Window length, minimum days kept, and the period a rate is given per (``per_period``).
# Per diary: its window, the days it needs, the rate's period, and whether its summary is dated by the days kept
# (a bladder diary's, ``summarise_bladder_diary``) rather than by its window (a headache diary's counts, which
# ``summarise_headache_diary`` dates by the window it is given): the chart assigns the summary to a cycle by them.
_DIARY_WINDOWS = {
    HEADACHE: (HEADACHE_WINDOW_DAYS, HEADACHE_MINIMUM_DAYS, PERIOD_DAYS, False),
    BLADDER: (BLADDER_WINDOW_DAYS, BLADDER_MINIMUM_DAYS, 1, True),
}
_ORDINAL = (InstrumentKind.GRADE, InstrumentKind.BINARY)


class DatasetError(ValueError):
    """The dataset handed to the engine is incomplete (a table or a file is missing); names the table, never a
    row."""


def mean_ci(n: int, mean: float, sd: float, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The two-sided confidence interval of a mean from its sample SD: mean ± t(n − 1) × SD / √n (Student);
    None for fewer than two values."""
    if n < 2:
        return None
    from scipy import stats  # scipy takes a while to import: only when a mean is published

    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


_Options = ParamSpec("_Options")
_Result = TypeVar("_Result")


def _one_at_a_time(analysis: Callable[_Options, _Result]) -> Callable[_Options, _Result]:
    """An analysis holding the engine's connection until its answer is read: it registers the knowledge's figures
    on the connection and then queries, and a DuckDB connection runs one statement at a time."""

    @functools.wraps(analysis)
    def serialised(*args: _Options.args, **kwargs: _Options.kwargs) -> _Result:
        engine = args[0]
        assert isinstance(engine, RegistryEngine)
        with engine.lock:
            return analysis(*args, **kwargs)

    return serialised


class RegistryEngine:
    """The analyses of ``bont.domain.research.analyses`` over a DuckDB connection holding the dataset's tables.
    One engine may serve several threads (a web server's): each analysis holds the connection while it runs."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.lock = threading.Lock()

    @classmethod
    def from_tables(cls, tables: Mapping[str, pa.Table]) -> RegistryEngine:
        """An engine over in-memory pyarrow Tables, one per dataset table (by name)."""
        connection = duckdb.connect()
        for table in DATASET:
            if table.name not in tables:
                raise DatasetError(f"the dataset has no {table.name} table")
            connection.register(f"arrow_{table.name}", tables[table.name])
            connection.execute(f"CREATE VIEW {table.name} AS {_typed(connection, table.name, f'arrow_{table.name}')}")
        return cls(connection)

    @classmethod
    def from_folders(cls, folders: Sequence[Path | str]) -> RegistryEngine:
        """An engine over exported folders, each holding ``<table>.parquet`` or ``<table>.csv`` per dataset table;
        several folders (sites) are read one after the other into each table. The files are read by each
        analysis (Parquet is read fast enough that loading them first costs more than it saves). A missing file or
        column, or a value that does not read as its column's type, is a ``DatasetError`` naming the folder, the
        table and the column, never the value or its row."""
        if not folders:
            raise DatasetError("no folder given")
        connection = duckdb.connect()
        for table in DATASET:
            union = " UNION ALL ".join(
                _typed(connection, table.name, _file_source(Path(folder), table.name), Path(folder))
                for folder in folders
            )
            connection.execute(f"CREATE VIEW {table.name} AS {union}")
        return cls(connection)

    # -- analyses

    @_one_at_a_time
    def size(self, cohort: CohortDefinition) -> CohortSize:
        sql, parameters = _cohort_sql(cohort)
        row = self._one(f"WITH {sql} SELECT count(DISTINCT person), count(*) FROM cohort_sessions", parameters)
        return CohortSize(patients=int(row[0]), sessions=int(row[1]))

    @_one_at_a_time
    def patients(self, cohort: CohortDefinition) -> frozenset[str]:
        """The pseudonyms of the cohort's patients, to restrict an export to them; never shown."""
        sql, parameters = _cohort_sql(cohort)
        return frozenset(
            row[0] for row in self._all(f"WITH {sql} SELECT DISTINCT patient FROM cohort_sessions", parameters)
        )

    @_one_at_a_time
    def responders(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> tuple[ResponderCycle, ...]:
        """Responders, non-responders and not assessable per indication, instrument, definition and cycle (a
        cycle counts when its opening session is one of the cohort's)."""
        sql, parameters = self._verdicts_sql(cohort, knowledge)
        rows = self._all(
            f"""WITH {sql}
            SELECT v.indication, v.instrument, v.definition_id, v.cycle,
                count(*) FILTER (WHERE v.status = '{ResponderStatus.RESPONDER}'),
                count(*) FILTER (WHERE v.status = '{ResponderStatus.NON_RESPONDER}'),
                count(*) FILTER (WHERE v.status = '{ResponderStatus.NOT_ASSESSABLE}')
            FROM verdicts v SEMI JOIN cohort_cycles c USING (series, cycle)
            GROUP BY ALL ORDER BY v.indication, v.instrument, v.definition_id, v.cycle""",
            parameters,
        )
        return tuple(ResponderCycle(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in rows)

    @_one_at_a_time
    def cycle_verdicts(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> list[tuple[Any, ...]]:
        """Every verdict, one row per series, definition and cycle: (site, patient, indication, instrument,
        definition_id, cycle, status). For checking the engine against the chart; never published."""
        sql, parameters = self._verdicts_sql(cohort, knowledge)
        return self._all(
            f"""WITH {sql} SELECT p.site, p.patient, v.indication, v.instrument, v.definition_id, v.cycle, v.status
            FROM verdicts v JOIN people p USING (person) ORDER BY ALL""",
            parameters,
        )

    @_one_at_a_time
    def scale_changes(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> tuple[ScaleChange, ...]:
        """Change from baseline per indication, instrument and cycle, for instruments scored as numbers (an
        ordinal grade's rank is not a quantity to average)."""
        sql, parameters = self._cycles_sql(cohort, knowledge)
        rows = self._all(
            f"""WITH {sql}
            SELECT k.indication, k.instrument, f.cycle, count(*),
                avg(f.value - b.value) / {SCALE}, coalesce(stddev_samp(f.value - b.value), 0) / {SCALE}
            FROM last_per_cycle f
            JOIN last_per_cycle b ON b.series = f.series AND b.measure = f.measure AND b.cycle = 0
            JOIN measures k ON k.measure = f.measure AND NOT k.ordinal
            SEMI JOIN cohort_cycles c ON c.series = f.series AND c.cycle = f.cycle
            WHERE f.cycle > 0 GROUP BY ALL ORDER BY ALL""",
            parameters,
        )
        return tuple(ScaleChange(r[0], r[1], int(r[2]), int(r[3]), float(r[4]), float(r[5])) for r in rows)

    @_one_at_a_time
    def doses(self, cohort: CohortDefinition) -> tuple[DoseByCycle, ...]:
        """Dose per session by product and cycle: median and quartiles within one product, never across."""
        sql, parameters = _cohort_sql(cohort)
        rows = self._all(
            f"""WITH {sql}
            SELECT product, cycle, count(*), quantile_cont(units, 0.5), quantile_cont(units, 0.25),
                quantile_cont(units, 0.75)
            FROM cohort_sessions GROUP BY ALL ORDER BY ALL""",
            parameters,
        )
        return tuple(DoseByCycle(r[0], int(r[1]), int(r[2]), float(r[3]), float(r[4]), float(r[5])) for r in rows)

    @_one_at_a_time
    def retreatment(self, cohort: CohortDefinition) -> tuple[RetreatmentCurve, ...]:
        """Kaplan–Meier time from each of the cohort's session days to the patient's next session day for the
        indication; the last interval is censored at the patient's ``follow_up_end``: the day the records were read
        for the clinic's own analyses, the export's horizon in an export (after which nothing of the patient is in
        it). 95 % CI: Greenwood, log(−log)."""
        from scipy import stats  # scipy takes a while to import: only when a curve is drawn

        sql, parameters = _cohort_sql(cohort)
        z = float(stats.norm.ppf((1 + CONFIDENCE) / 2))
        rows = self._all(
            f"""WITH {sql}, {_SERIES_DAYS},
            following AS (
                SELECT person, indication, day, lead(day) OVER (PARTITION BY series ORDER BY day) AS next_day
                FROM series_days),
            intervals AS (
                SELECT f.indication, f.person, coalesce(f.next_day, p.follow_up_end) - f.day AS t,
                    f.next_day IS NOT NULL AS event
                FROM following f
                SEMI JOIN cohort_sessions c USING (person, indication, day)
                JOIN people p USING (person)),
            grouped AS (
                SELECT indication, t, count(*) FILTER (WHERE event) AS events,
                    count(*) FILTER (WHERE NOT event) AS censored, count(*) AS ending
                FROM intervals GROUP BY ALL),
            steps AS (
                SELECT *, sum(ending) OVER (PARTITION BY indication ORDER BY t DESC) AS at_risk FROM grouped),
            curve AS (
                SELECT indication, t, at_risk, events, censored,
                    product(1 - events / at_risk) OVER w AS survival,
                    sum(CASE WHEN at_risk > events THEN events / (at_risk * (at_risk - events)) END) OVER w
                        AS greenwood
                FROM steps WINDOW w AS (PARTITION BY indication ORDER BY t)),
            banded AS (
                SELECT *, CASE WHEN survival > 0 AND survival < 1 AND greenwood > 0
                    THEN $z * sqrt(greenwood) / abs(ln(survival)) END AS spread
                FROM curve)
            SELECT indication, t, at_risk, events, censored, survival,
                CASE WHEN spread IS NULL THEN survival ELSE pow(survival, exp(spread)) END,
                CASE WHEN spread IS NULL THEN survival ELSE pow(survival, exp(-spread)) END,
                (SELECT count(DISTINCT person) FROM intervals i WHERE i.indication = banded.indication)
            FROM banded ORDER BY indication, t""",
            {**parameters, "z": z},
        )
        curves: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            curves.setdefault(row[0], []).append(row)
        return tuple(_curve(indication, steps) for indication, steps in curves.items())

    @_one_at_a_time
    def adverse_events(self, cohort: CohortDefinition) -> tuple[AdverseEventRate, ...]:
        """Events per term and seriousness among the cohort's sessions: an event counts with the session it is
        suspected of, or, naming none, with the patient's latest cohort session on or before its onset."""
        sql, parameters = _cohort_sql(cohort)
        rows = self._all(
            f"""WITH {sql},
            linked AS (
                SELECT e.term, e.serious FROM adverse_events e
                JOIN cohort_sessions c ON c.site = e.site AND c.patient = e.patient AND c.session = e.session),
            unlinked AS (
                SELECT e.term, e.serious FROM (SELECT * FROM adverse_events WHERE session IS NULL) e
                ASOF JOIN cohort_sessions c ON c.site = e.site AND c.patient = e.patient AND c.day <= e.day)
            SELECT term, serious, count(*), (SELECT count(*) FROM cohort_sessions)
            FROM (SELECT * FROM linked UNION ALL SELECT * FROM unlinked)
            GROUP BY ALL ORDER BY ALL""",
            parameters,
        )
        return tuple(AdverseEventRate(r[0], bool(r[1]), int(r[2]), int(r[3])) for r in rows)

    @_one_at_a_time
    def continuation(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> tuple[ContinuationRow, ...]:
        """Continuing or discontinued per series of the cohort, with the first reason that applies; whether a
        series was discontinued is the dataset's ``series.discontinued``, judged on real dates when it was read."""
        sql, parameters = self._verdicts_sql(cohort, knowledge)
        rows = self._all(
            f"""WITH {sql},
            last_session AS (
                SELECT series, person, indication, max(day) AS last_day FROM series_days GROUP BY ALL),
            main_verdict AS (
                SELECT v.series, arg_max(v.status, v.cycle) AS status
                FROM verdicts v JOIN k_definitions d USING (indication, definition_id)
                WHERE d.main AND v.judged GROUP BY v.series),
            status AS (
                SELECT l.*, coalesce(s.discontinued, false) AS discontinued,
                    m.status = '{ResponderStatus.NON_RESPONDER}' AS no_response,
                    EXISTS (SELECT 1 FROM adverse_events e WHERE e.site = p.site AND e.patient = p.patient
                        AND e.serious AND e.day >= l.last_day) AS serious_event
                FROM last_session l JOIN people p USING (person)
                LEFT JOIN series s ON s.site = p.site AND s.patient = p.patient AND s.indication = l.indication
                LEFT JOIN main_verdict m USING (series))
            SELECT discontinued,
                CASE WHEN NOT discontinued THEN NULL
                    WHEN coalesce(no_response, false) THEN 'no-response'
                    WHEN serious_event THEN 'adverse-event' ELSE 'none' END AS reason,
                count(*)
            FROM status GROUP BY ALL ORDER BY ALL""",
            parameters,
        )
        reasons = {
            "no-response": DiscontinuationReason.NO_RESPONSE,
            "adverse-event": DiscontinuationReason.ADVERSE_EVENT,
            "none": DiscontinuationReason.NONE_RECORDED,
        }
        return tuple(
            ContinuationRow(
                ContinuationStatus.DISCONTINUED if r[0] else ContinuationStatus.CONTINUING,
                None if r[1] is None else reasons[r[1]],
                int(r[2]),
            )
            for r in rows
        )

    # -- the shared steps

    def _cycles_sql(
        self, cohort: CohortDefinition, knowledge: KnowledgeBase, judged_only: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """The cohort, its series' numbered session days, every measurement (stored and diary-derived) with its
        cycle, and the last measurement per cycle (cycle 0: the baseline); ``judged_only``: of the instruments
        a responder definition judges."""
        for name, table in knowledge_tables(knowledge, judged_only).items():
            self.connection.register(name, table)
        sql, parameters = _cohort_sql(cohort)
        return f"{sql}, {_SERIES_DAYS}, {_MEASUREMENT_CYCLES}", parameters

    def _verdicts_sql(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> tuple[str, dict[str, Any]]:
        sql, parameters = self._cycles_sql(cohort, knowledge, judged_only=True)
        return f"{sql}, {_VERDICTS}", parameters

    def _all(self, sql: str, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, _used(sql, parameters)).fetchall()

    def _one(self, sql: str, parameters: Mapping[str, Any]) -> tuple[Any, ...]:
        # Every row fetched: a result left open would refuse the connection's next registration.
        [row] = self.connection.execute(sql, _used(sql, parameters)).fetchall()  # an aggregate: one row
        return tuple(row)


def knowledge_tables(knowledge: KnowledgeBase, judged_only: bool = False) -> dict[str, pa.Table]:
    """The knowledge's figures the SQL reads, as small tables: ``k_definitions`` (each responder definition of an
    indication's own instruments, its rule, threshold in millionths, direction, and whether it is the
    indication's main one), ``k_instruments`` (which instruments an indication is measured with) and
    ``k_diaries`` (which diary gives which instrument, its window, minimum days and rate period). With
    ``judged_only`` only the instruments a responder definition of the indication judges are listed."""
    definitions: dict[str, list[Any]] = {
        key: [] for key in ("indication", "instrument", "definition_id", "rule", "threshold", "lower", "main")
    }
    instruments: dict[str, list[Any]] = {key: [] for key in ("indication", "instrument", "ordinal")}
    for indication in sorted(knowledge.indications):
        measured = {i.id: i for i in _instruments(knowledge, indication, judged_only)}
        for instrument in measured.values():
            instruments["indication"].append(indication)
            instruments["instrument"].append(instrument.id)
            instruments["ordinal"].append(instrument.kind in _ORDINAL)
        main = True
        for definition in knowledge.responder_definitions_for(indication):
            judged = measured.get(definition.instrument)
            if judged is None:  # the chart judges only the indication's own instruments
                continue
            if definition.rule is ResponderRule.REACHES_GRADE:
                threshold = Decimal(judged.rank(definition.target_grade or ""))
            else:
                threshold = definition.threshold if definition.threshold is not None else Decimal(0)
            definitions["indication"].append(indication)
            definitions["instrument"].append(definition.instrument)
            definitions["definition_id"].append(definition.id)
            definitions["rule"].append(str(definition.rule))
            definitions["threshold"].append(int(threshold * SCALE))
            definitions["lower"].append(judged.direction is Direction.LOWER_IS_BETTER)
            definitions["main"].append(main)
            main = False
    diaries: dict[str, list[Any]] = {
        key: []
        for key in ("indication", "kind", "instrument", "counted", "length", "minimum", "per_days", "by_days_kept")
    }
    for indication in sorted(knowledge.indications):
        measured_ids = {i.id for i in _instruments(knowledge, indication, judged_only)}
        for kind, produced in DIARY_INSTRUMENTS.items():
            if kind == HEADACHE and knowledge.headache_day_rules is None:
                continue  # without the day rules the chart derives no headache measure either
            length, minimum, per_days, by_days_kept = _DIARY_WINDOWS[kind]
            for instrument_id in produced:
                if instrument_id in measured_ids:
                    for key, value in zip(
                        diaries,
                        (
                            indication,
                            kind,
                            instrument_id,
                            _DIARY_COLUMNS[instrument_id],
                            length,
                            minimum,
                            per_days,
                            by_days_kept,
                        ),
                        strict=True,
                    ):
                        diaries[key].append(value)
    return {
        "k_definitions": pa.table(
            definitions,
            schema=pa.schema(
                [
                    ("indication", pa.string()),
                    ("instrument", pa.string()),
                    ("definition_id", pa.string()),
                    ("rule", pa.string()),
                    ("threshold", pa.int64()),
                    ("lower", pa.bool_()),
                    ("main", pa.bool_()),
                ]
            ),
        ),
        "k_instruments": pa.table(
            instruments,
            schema=pa.schema([("indication", pa.string()), ("instrument", pa.string()), ("ordinal", pa.bool_())]),
        ),
        "k_diaries": pa.table(
            diaries,
            schema=pa.schema(
                [
                    ("indication", pa.string()),
                    ("kind", pa.string()),
                    ("instrument", pa.string()),
                    ("counted", pa.string()),
                    ("length", pa.int32()),
                    ("minimum", pa.int32()),
                    ("per_days", pa.int32()),
                    ("by_days_kept", pa.bool_()),
                ]
            ),
        ),
    }


def _instruments(knowledge: KnowledgeBase, indication: str, judged_only: bool) -> tuple[Instrument, ...]:
    instruments = knowledge.instruments_for(indication)
    if not judged_only:
        return instruments
    judged = {d.instrument for d in knowledge.responder_definitions_for(indication)}
    return tuple(i for i in instruments if i.id in judged)


def _used(sql: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """DuckDB refuses named parameters the statement does not use."""
    return {name: value for name, value in parameters.items() if f"${name}" in sql}


def _typed(connection: duckdb.DuckDBPyConnection, table: str, source: str, folder: Path | None = None) -> str:
    """A select of the dataset table's columns from ``source``, each cast to its dictionary type where it has
    another (CSV is read as text), so that Parquet, CSV and Arrow sources of several sites line up. The file of a
    ``folder`` is read once here for values that would not cast: DuckDB's own conversion error quotes the row."""
    where = f"the {table} table" if folder is None else f"{folder}: the {table} table"
    found = {row[0]: str(row[1]) for row in connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    selected, cast = [], []
    for column in next(t for t in DATASET if t.name == table).columns:
        wanted, stored = _SQL_TYPES[column.type], found.get(column.name)
        if stored is None:
            raise DatasetError(f"{where} has no {column.name} column")
        if stored == wanted or (column.type is ColumnType.DECIMAL and stored.startswith("DECIMAL")):
            selected.append(column.name)
        else:
            selected.append(f"CAST({column.name} AS {wanted}) AS {column.name}")
            cast.append(column)
    if folder is not None and cast:
        unread = connection.execute(
            "SELECT "
            + ", ".join(
                f"count_if({c.name} IS NOT NULL AND TRY_CAST({c.name} AS {_SQL_TYPES[c.type]}) IS NULL)" for c in cast
            )
            + f" FROM {source}"
        ).fetchall()[0]
        for column, count in zip(cast, unread, strict=True):
            if count:
                raise DatasetError(
                    f"{where}'s {column.name} column holds {count} value(s) that do not read as {column.type}"
                )
    return f"SELECT {', '.join(selected)} FROM {source}"


def _file_source(folder: Path, table: str) -> str:
    parquet, csv = folder / f"{table}.parquet", folder / f"{table}.csv"
    if parquet.is_file():
        return f"read_parquet({_literal(parquet)})"
    if csv.is_file():
        # Every column read as text, then cast to the dictionary's type: no type guessed from the first rows.
        return f"read_csv({_literal(csv)}, header = true, all_varchar = true)"
    raise DatasetError(f"{folder} has no {table}.parquet or {table}.csv")


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _cohort_sql(cohort: CohortDefinition) -> tuple[str, dict[str, Any]]:
    """The cohort's sessions (``cohort_sessions``) and series (``cohort_series``), with their parameters."""
    where: list[str] = []
    parameters: dict[str, Any] = {}

    def criterion(name: str, value: object, condition: str) -> None:
        if value is not None:
            where.append(condition)
            parameters[name] = value

    criterion("indication", cohort.indication, "s.indication = $indication")
    criterion("product", cohort.product, "s.product = $product")
    criterion("population", cohort.population, "coalesce(s.population, '') = $population")
    criterion("sex", cohort.sex, "p.sex = $sex")
    criterion("first_day", cohort.first_day, "s.day >= $first_day")
    criterion("last_day", cohort.last_day, "s.day <= $last_day")
    criterion("units_from", cohort.units_from, "s.units >= $units_from")
    criterion("units_to", cohort.units_to, "s.units <= $units_to")
    bands = cohort.age_bands
    criterion("age_bands", None if bands is None else list(bands), "list_contains($age_bands, p.age_band)")
    if cohort.condition_codes:
        where.append(
            "EXISTS (SELECT 1 FROM conditions c, unnest($codes) AS wanted(code) "
            "WHERE (c.site, c.patient) = (s.site, s.patient) AND starts_with(upper(c.code), wanted.code))"
        )
        parameters["codes"] = [code.upper() for code in cohort.condition_codes]
    counted = []
    if cohort.cycles_from is not None:
        counted.append("count(*) >= $cycles_from")
        parameters["cycles_from"] = cohort.cycles_from
    if cohort.cycles_to is not None:
        counted.append("count(*) <= $cycles_to")
        parameters["cycles_to"] = cohort.cycles_to
    # Each patient gets a number for the joins that follow: one integer key joins far faster than two strings.
    people = "people AS MATERIALIZED (SELECT row_number() OVER () AS person, * FROM patients)"
    matching = f"""matching AS (
            SELECT s.*, p.person FROM sessions s JOIN people p USING (site, patient)
            WHERE {" AND ".join(where) or "true"})"""
    # Each series (a patient's treatment of one indication) gets a number too.
    series = f"""cohort_series AS MATERIALIZED (
            SELECT person, indication, row_number() OVER () AS series FROM (
                SELECT person, indication FROM matching GROUP BY person, indication
                HAVING {" AND ".join(counted) or "true"}))"""
    sessions = "cohort_sessions AS (SELECT m.* FROM matching m SEMI JOIN cohort_series USING (person, indication))"
    return f"{people}, {matching}, {series}, {sessions}", parameters


# Every session day of the cohort's series (not only the matching ones: cycles are counted as the chart counts
# them), numbered; and the cycles the cohort's sessions open.
_SERIES_DAYS = """series_days AS MATERIALIZED (
        SELECT series, person, indication, day, row_number() OVER (PARTITION BY series ORDER BY day) AS cycle
        FROM (SELECT DISTINCT c.series, c.person, c.indication, s.day FROM sessions s
            JOIN people p USING (site, patient) JOIN cohort_series c USING (person, indication))),
    cohort_cycles AS (
        SELECT DISTINCT d.series, d.cycle FROM series_days d
        SEMI JOIN cohort_sessions USING (person, indication, day))"""

# Diary windows, stored measurements, their cycles and the last per cycle, by series and ``measure`` (a number
# for each instrument of an indication). Rates are rounded half-even to 0.01 in integers: q = ⌊n / d⌋, plus one
# when the remainder is over half, or exactly half and q odd. The last per cycle is the latest; on one day a
# diary's period wins over a stored score, of two stored scores the one entered last, and of two diary periods
# dated on one day (a bladder diary's, by its last day kept) the one whose window ends later, as in the chart: one
# integer key orders them (day, source, then the entry or the window's end: below 2³²), faster than a tuple over
# millions of rows.
_MEASUREMENT_CYCLES = """measures AS MATERIALIZED (
        SELECT row_number() OVER () AS measure, indication, instrument, ordinal FROM k_instruments),
    diary_kinds AS MATERIALIZED (
        SELECT DISTINCT s.series, s.person, p.site, p.patient, p.follow_up_end, k.kind, k.length
        FROM cohort_series s JOIN people p USING (person) JOIN k_diaries k USING (indication)),
    latest AS MATERIALIZED (
        SELECT k.person, k.kind, least(max(d.day), any_value(k.follow_up_end)) AS last_end
        FROM diary_days d
        JOIN (SELECT DISTINCT person, site, patient, kind, follow_up_end FROM diary_kinds) k
            ON d.site = k.site AND d.patient = k.patient AND d.kind = k.kind
        GROUP BY k.person, k.kind),
    ends AS (
        SELECT DISTINCT k.series, k.site, k.patient, k.kind, e.end_day, e.end_day - (k.length - 1) AS start_day
        FROM diary_kinds k JOIN latest l USING (person, kind)
        JOIN (SELECT series, day AS end_day FROM series_days
            UNION SELECT k2.series, l2.last_end FROM diary_kinds k2 JOIN latest l2 USING (person, kind)) e
            USING (series)),
    windows AS (
        SELECT e.series, e.kind, e.end_day, e.start_day, count(*) AS days,
            min(d.day) AS first_kept, max(d.day) AS last_kept,
            count(*) FILTER (WHERE d.headache_day) AS headache_day,
            count(*) FILTER (WHERE d.migraine_day) AS migraine_day,
            count(*) FILTER (WHERE d.acute_medication_day) AS acute_medication_day,
            coalesce(sum(d.voids), 0) AS voids,
            coalesce(sum(d.incontinence_episodes), 0) AS incontinence_episodes
        FROM ends e JOIN diary_days d ON d.site = e.site AND d.patient = e.patient AND d.kind = e.kind
            AND d.day BETWEEN e.start_day AND e.end_day
        GROUP BY e.series, e.kind, e.end_day, e.start_day),
    diary_counts AS (
        SELECT w.series, m.measure, w.days, w.end_day,
            CASE WHEN k.by_days_kept THEN w.last_kept ELSE w.end_day END AS measured_on,
            CASE WHEN k.by_days_kept THEN w.first_kept ELSE w.start_day END AS period_start,
            CAST(CASE k.counted WHEN 'headache_day' THEN w.headache_day WHEN 'migraine_day' THEN w.migraine_day
                WHEN 'acute_medication_day' THEN w.acute_medication_day WHEN 'voids' THEN w.voids
                ELSE w.incontinence_episodes END AS BIGINT) * k.per_days * 100 AS numerator
        FROM windows w JOIN cohort_series s USING (series) JOIN k_diaries k USING (indication, kind)
        JOIN measures m USING (indication, instrument)
        WHERE w.days >= k.minimum),
    measured AS MATERIALIZED (
        SELECT c.series, k.measure, m.day AS measured_on, m.period_start,
            CAST(m.value * 1000000 AS BIGINT) AS value, 0 AS source, m.entry
        FROM measurements m JOIN people p USING (site, patient)
        JOIN cohort_series c USING (person, indication)
        JOIN measures k USING (indication, instrument)
        UNION ALL
        SELECT series, measure, measured_on, period_start,
            (numerator // days + CASE WHEN 2 * (numerator % days) > days
                OR (2 * (numerator % days) = days AND (numerator // days) % 2 = 1) THEN 1 ELSE 0 END) * 10000,
            1, end_day - DATE '1970-01-01'
        FROM diary_counts),
    assigned AS (
        SELECT m.*, CASE
                WHEN m.period_start > m.measured_on THEN NULL
                WHEN m.period_start IS NOT NULL AND d.day > m.period_start THEN NULL
                ELSE coalesce(d.cycle, 0) END AS cycle
        FROM measured m
        ASOF LEFT JOIN series_days d ON d.series = m.series AND d.day < m.measured_on),
    last_per_cycle AS MATERIALIZED (
        SELECT series, measure, cycle,
            arg_max(value, ((measured_on - DATE '1970-01-01') * 2 + source) * 4294967296 + entry) AS value
        FROM assigned WHERE cycle IS NOT NULL GROUP BY series, measure, cycle)"""

# One verdict per series, definition and cycle begun, for the instruments the series has any measurement of
# (``baselines`` has a row for each, its value None without one: the chart shows no judgement of an instrument
# never measured). ``judged``: the cycle has a follow-up.
_VERDICTS = f"""definitions AS (
        SELECT k.*, m.measure FROM k_definitions k JOIN measures m USING (indication, instrument)),
    baselines AS (
        SELECT h.series, h.measure, b.value
        FROM (SELECT DISTINCT series, measure FROM measured) h
        LEFT JOIN last_per_cycle b ON b.series = h.series AND b.measure = h.measure AND b.cycle = 0),
    verdicts AS (
        SELECT c.series, c.person, c.indication, k.instrument, k.definition_id, c.cycle,
            f.value IS NOT NULL AS judged,
            CASE
                WHEN f.value IS NULL THEN '{ResponderStatus.NOT_ASSESSABLE}'
                WHEN k.rule IN ('{ResponderRule.PERCENT_IMPROVEMENT}', '{ResponderRule.POINTS_IMPROVEMENT}',
                    '{ResponderRule.GRADES_IMPROVEMENT}') AND b.value IS NULL THEN '{ResponderStatus.NOT_ASSESSABLE}'
                WHEN k.rule = '{ResponderRule.PERCENT_IMPROVEMENT}' AND b.value <= 0
                    THEN '{ResponderStatus.NOT_ASSESSABLE}'
                WHEN CASE k.rule
                    WHEN '{ResponderRule.PERCENT_IMPROVEMENT}' THEN
                        CAST(CASE WHEN k.lower THEN b.value - f.value ELSE f.value - b.value END AS HUGEINT)
                            * 100 * {SCALE} >= CAST(k.threshold AS HUGEINT) * b.value
                    WHEN '{ResponderRule.AT_MOST}' THEN f.value <= k.threshold
                    WHEN '{ResponderRule.AT_LEAST}' THEN f.value >= k.threshold
                    WHEN '{ResponderRule.REACHES_GRADE}' THEN f.value = k.threshold
                    ELSE (CASE WHEN k.lower THEN b.value - f.value ELSE f.value - b.value END) >= k.threshold
                    END THEN '{ResponderStatus.RESPONDER}'
                ELSE '{ResponderStatus.NON_RESPONDER}'
            END AS status
        FROM series_days c
        JOIN definitions k USING (indication)
        JOIN baselines b ON b.series = c.series AND b.measure = k.measure
        LEFT JOIN last_per_cycle f ON f.series = c.series AND f.measure = k.measure AND f.cycle = c.cycle)"""


def _curve(indication: str, rows: Sequence[tuple[Any, ...]]) -> RetreatmentCurve:
    steps = tuple(
        RetreatmentStep(int(r[1]), int(r[2]), int(r[3]), int(r[4]), float(r[5]), float(r[6]), float(r[7])) for r in rows
    )
    patients = int(rows[0][8]) if rows else 0
    median = next((step.day for step in steps if step.survival <= 0.5), None)
    return RetreatmentCurve(
        indication,
        steps,
        median,
        patients,
        sum(step.events for step in steps),
        sum(step.censored for step in steps),
    )
