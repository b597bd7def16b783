"""Benchmark: the registry's responder analysis in DuckDB against a straightforward pandas version of it.

Generates a fictional registry (default 1,000,000 sessions and 10,000,000 headache-diary days of chronic migraine,
with HIT-6 reviews; seeded) as Parquet in a temporary folder, then runs the responder analysis on it twice in the
same run: with the engine (``RegistryEngine.from_folders(...).responders``, SQL in DuckDB) and with pandas
(read the Parquet, build the diary windows day by day, assign cycles with ``merge_asof``, judge with numpy).
Both read the same knowledge tables (``knowledge_tables``) and must give identical results; prints both wall
times and their ratio (issue 18's target: the engine at least 5× faster).

    .venv/bin/python bench/registry_analytics.py [--sessions N] [--diary-days N] [--seed N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bont.bootstrap import build_knowledge
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import ResponderRule, ResponderStatus
from bont.domain.research.analyses import DISCONTINUED_AFTER_DAYS, ResponderCycle
from bont.domain.research.cohorts import CohortDefinition
from bont.domain.research.dataset import DATASET
from bont.interop.registry.engine import SCALE, RegistryEngine, knowledge_tables

TARGET_RATIO = 5.0
SESSIONS_PER_PATIENT = 10
FIRST_DAY = date(2020, 1, 1)
INDICATION = "chronic-migraine"


# -- the generated registry


def _strings(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def _constant(text: str, rows: int) -> pa.Array:
    return pa.nulls(rows, pa.string()).fill_null(text)


def _days(offsets: np.ndarray) -> pa.Array:
    return pa.array((offsets + np.datetime64(FIRST_DAY, "D").astype(np.int64)).astype(np.int32), pa.date32())


def generate(folder: Path, sessions: int, diary_days: int, seed: int) -> None:
    """A fictional chronic-migraine registry: every patient has ten sessions 12 to 16 weeks apart; a HIT-6 at
    baseline and six weeks into each cycle; headache diaries kept over the weeks before some of the sessions and
    before the end of follow-up; responders (about 60 %) have fewer headache days."""
    random = np.random.default_rng(seed)
    patients = max(1, sessions // SESSIONS_PER_PATIENT)
    patient = np.repeat(np.arange(patients), SESSIONS_PER_PATIENT)
    gaps = random.integers(84, 113, size=(patients, SESSIONS_PER_PATIENT))
    gaps[:, 0] = random.integers(28, 400, size=patients)
    day = np.cumsum(gaps, axis=1)  # days after FIRST_DAY
    follow_up_end = int(day.max()) + 30
    responds = random.random(patients) < 0.6
    rows = patients * SESSIONS_PER_PATIENT
    tables: dict[str, pa.Table] = {
        "patients": pa.table(
            {
                "site": _constant("BENCH", patients),
                "patient": _strings(pa.array(np.arange(patients))),
                "sex": _constant("female", patients),
                "age_band": _constant("40-49", patients),
                "follow_up_end": _days(np.full(patients, follow_up_end)),
            }
        ),
        "conditions": pa.table({"site": [], "patient": [], "code": []}, schema=_schema("conditions")),
        "sessions": pa.table(
            {
                "site": _constant("BENCH", rows),
                "patient": _strings(pa.array(patient)),
                "session": _strings(pa.array(np.arange(rows))),
                "day": _days(day.ravel()),
                "indication": _constant(INDICATION, rows),
                "product": _constant("onabotulinumtoxinA", rows),
                "population": pa.nulls(rows, pa.string()),
                "units": pa.array(
                    [Decimal(155), Decimal(195)] * (rows // 2) + [Decimal(155)] * (rows % 2), pa.decimal128(18, 2)
                ),
                "cycle": pa.array(np.tile(np.arange(1, SESSIONS_PER_PATIENT + 1), patients)),
            }
        ),
        "series": pa.table(
            {
                "site": _constant("BENCH", patients),
                "patient": _strings(pa.array(np.arange(patients))),
                "indication": _constant(INDICATION, patients),
                "discontinued": pa.array(day[:, -1] < follow_up_end - DISCONTINUED_AFTER_DAYS),
            }
        ),
        "adverse_events": pa.table(
            {name: [] for name in _schema("adverse_events").names}, schema=_schema("adverse_events")
        ),
    }
    # HIT-6 (36–78, lower is better): at the first session, then six weeks into each cycle.
    reviews = np.concatenate([day[:, :1], day + 42], axis=1)
    better = np.where(
        responds[:, None], random.integers(6, 16, size=reviews.shape), random.integers(-3, 6, size=reviews.shape)
    )
    better[:, 0] = 0
    hit6 = np.clip(random.integers(60, 72, size=(patients, 1)) - better, 36, 78)
    kept = reviews < follow_up_end
    count = int(kept.sum())
    tables["measurements"] = pa.table(
        {
            "site": _constant("BENCH", count),
            "patient": _strings(pa.array(np.repeat(np.arange(patients), SESSIONS_PER_PATIENT + 1)[kept.ravel()])),
            "indication": _constant(INDICATION, count),
            "instrument": _constant("hit-6", count),
            "day": _days(reviews[kept]),
            "period_start": pa.nulls(count, pa.date32()),
            "value": pa.array([Decimal(int(v)) for v in hit6[kept]], pa.decimal128(18, 2)),
            "entry": pa.array(np.tile(np.arange(1, SESSIONS_PER_PATIENT + 2), patients)[kept.ravel()]),
        }
    )
    # Diaries: a few windows of up to 28 days, before the first session (the baseline), before some of the others
    # and before the end of follow-up, as many as the diary days asked for need.
    windows = max(1, min(SESSIONS_PER_PATIENT + 1, -(-diary_days // (patients * 28))))
    shortest = max(1, round(2 * diary_days / (patients * windows)) - 28)
    ends = np.concatenate([day, np.full((patients, 1), follow_up_end - 1)], axis=1)
    chosen = np.sort(random.permuted(np.tile(np.arange(SESSIONS_PER_PATIENT + 1), (patients, 1)), axis=1)[:, :windows])
    chosen[:, 0] = 0  # every patient keeps a baseline diary
    chosen.sort(axis=1)
    length = random.integers(shortest, 29, size=(patients, windows))
    end = np.take_along_axis(ends, chosen, axis=1).ravel()
    length = length.ravel()
    owner = np.repeat(np.arange(patients), windows)
    total = int(length.sum())
    starts = np.repeat(np.cumsum(length) - length, length)
    back = np.arange(total) - starts  # 0 … length − 1 within each window
    diary_day = np.repeat(end, length) - back
    diary_owner = np.repeat(owner, length)
    treated = np.repeat(np.take_along_axis(ends, chosen, axis=1).ravel() > day[owner, 0], length)
    rate = np.where(~treated, 0.6, np.where(responds[diary_owner], 0.2, 0.5))
    unique = pd.DataFrame({"patient": diary_owner, "day": diary_day}).duplicated().to_numpy()
    draws = random.random((3, total))
    headache = draws[0] < rate
    keep = ~unique
    rows = int(keep.sum())
    tables["diary_days"] = pa.table(
        {
            "site": _constant("BENCH", rows),
            "patient": _strings(pa.array(diary_owner[keep])),
            "kind": _constant("headache", rows),
            "day": _days(diary_day[keep]),
            "headache_day": pa.array(headache[keep]),
            "migraine_day": pa.array((headache & (draws[1] < 0.6))[keep]),
            "acute_medication_day": pa.array((headache & (draws[2] < 0.7))[keep]),
            "voids": pa.nulls(rows, pa.int64()),
            "incontinence_episodes": pa.nulls(rows, pa.int64()),
        }
    )
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")


def _schema(name: str) -> pa.Schema:
    kinds = {"string": pa.string(), "integer": pa.int64(), "decimal": pa.decimal128(18, 2)}
    kinds.update({"date": pa.date32(), "boolean": pa.bool_()})
    table = next(t for t in DATASET if t.name == name)
    return pa.schema([(c.name, kinds[str(c.type)]) for c in table.columns])


# -- the two versions of the analysis


def with_engine(folder: Path, knowledge: KnowledgeBase) -> tuple[ResponderCycle, ...]:
    return RegistryEngine.from_folders([folder]).responders(CohortDefinition(), knowledge)


def with_pandas(folder: Path, knowledge: KnowledgeBase) -> tuple[ResponderCycle, ...]:
    """The same analysis as the engine's, written the way a pandas user would: every figure from the same
    knowledge tables."""
    k = {name: table.to_pandas() for name, table in knowledge_tables(knowledge, judged_only=True).items()}
    keys = ["site", "patient", "indication"]
    sessions = pd.read_parquet(folder / "sessions.parquet", columns=[*keys, "day"])
    patients = pd.read_parquet(folder / "patients.parquet", columns=["site", "patient", "follow_up_end"])
    measurements = pd.read_parquet(folder / "measurements.parquet")
    diary = pd.read_parquet(folder / "diary_days.parquet")
    for frame, columns in ((sessions, ["day"]), (patients, ["follow_up_end"]), (diary, ["day"])):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column])
    measurements["day"] = pd.to_datetime(measurements["day"])
    measurements["period_start"] = pd.to_datetime(measurements["period_start"])

    days = sessions.drop_duplicates().sort_values([*keys, "day"])
    days["cycle"] = days.groupby(keys).cumcount() + 1
    series = days[keys].drop_duplicates()

    # Diary windows: on each session day and on the latest diary day (at most the end of follow-up).
    kinds = series.merge(k["k_diaries"][["indication", "kind", "length"]].drop_duplicates(), on="indication")
    latest = diary.groupby(["site", "patient", "kind"], as_index=False)["day"].max()
    latest = latest.merge(patients, on=["site", "patient"])
    latest["day"] = latest[["day", "follow_up_end"]].min(axis=1)
    on_sessions = kinds.merge(latest[["site", "patient", "kind"]], on=["site", "patient", "kind"]).merge(
        days[[*keys, "day"]], on=keys
    )
    on_latest = kinds.merge(latest[["site", "patient", "kind", "day"]], on=["site", "patient", "kind"])
    ends = pd.concat([on_sessions, on_latest]).drop_duplicates().rename(columns={"day": "end"}).reset_index(drop=True)
    spread = ends.loc[ends.index.repeat(ends["length"])].copy()
    spread["day"] = spread["end"] - pd.to_timedelta(spread.groupby(level=0).cumcount(), unit="D")
    counted = ["headache_day", "migraine_day", "acute_medication_day", "voids", "incontinence_episodes"]
    in_window = spread.merge(diary, on=["site", "patient", "kind", "day"])
    for column in counted:
        in_window[column] = in_window[column].fillna(0).astype("int64")
    windows = in_window.groupby([*keys, "kind", "end", "length"], as_index=False).agg(
        days=("day", "size"), **{column: (column, "sum") for column in counted}
    )
    windows = windows.merge(k["k_diaries"], on=["indication", "kind", "length"])
    windows = windows[windows["days"] >= windows["minimum"]]
    numerator = (
        np.select([windows["counted"] == column for column in counted], [windows[column] for column in counted]).astype(
            "int64"
        )
        * windows["per_days"].to_numpy()
        * 100
    )
    quotient, remainder = np.divmod(numerator, windows["days"].to_numpy())
    twice = 2 * remainder
    rounded = quotient + ((twice > windows["days"]) | ((twice == windows["days"]) & (quotient % 2 == 1)))
    from_diaries = pd.DataFrame(
        {
            **{key: windows[key] for key in keys},
            "instrument": windows["instrument"],
            "day": windows["end"],
            "period_start": windows["end"] - pd.to_timedelta(windows["length"] - 1, unit="D"),
            "value": rounded * 10_000,
            "source": 1,
            "entry": 0,
        }
    )
    stored = measurements.merge(series, on=keys).merge(k["k_instruments"][["indication", "instrument"]])
    stored["value"] = [int(value * SCALE) for value in stored["value"]]
    stored["source"] = 0
    measured = pd.concat([stored[from_diaries.columns], from_diaries], ignore_index=True)

    # Cycles: the last session day before the measurement; none when that day lies inside its period.
    assigned = pd.merge_asof(
        measured.sort_values("day"),
        days.rename(columns={"day": "session_day"}).sort_values("session_day"),
        left_on="day",
        right_on="session_day",
        by=keys,
        allow_exact_matches=False,
    )
    straddles = (assigned["period_start"] > assigned["day"]) | (
        assigned["period_start"].notna() & (assigned["session_day"] > assigned["period_start"])
    )
    assigned = assigned[~straddles].copy()
    assigned["cycle"] = assigned["cycle"].fillna(0).astype("int64")
    # The latest; on one day a diary's window after the stored scores, and those in their order of entry.
    last = assigned.sort_values([*keys, "instrument", "cycle", "day", "source", "entry"]).drop_duplicates(
        [*keys, "instrument", "cycle"], keep="last"
    )[[*keys, "instrument", "cycle", "value"]]

    # Verdicts: every cycle begun, for the instruments measured at all.
    measured_any = measured[[*keys, "instrument"]].drop_duplicates()
    verdicts = days[[*keys, "cycle"]].merge(k["k_definitions"], on="indication").merge(measured_any)
    baseline = last[last["cycle"] == 0].drop(columns="cycle").rename(columns={"value": "baseline"})
    verdicts = verdicts.merge(baseline, how="left").merge(last.rename(columns={"value": "follow_up"}), how="left")
    before, after = verdicts["baseline"].to_numpy(dtype="float64"), verdicts["follow_up"].to_numpy(dtype="float64")
    threshold, rule = verdicts["threshold"].to_numpy(), verdicts["rule"].to_numpy()
    better = np.where(verdicts["lower"], before - after, after - before)
    with np.errstate(invalid="ignore"):
        met = np.select(
            [
                rule == ResponderRule.PERCENT_IMPROVEMENT,
                rule == ResponderRule.AT_MOST,
                rule == ResponderRule.AT_LEAST,
                rule == ResponderRule.REACHES_GRADE,
            ],
            [better * 100 * SCALE >= threshold * before, after <= threshold, after >= threshold, after == threshold],
            better >= threshold,
        )
    needs_baseline = np.isin(
        rule,
        [ResponderRule.PERCENT_IMPROVEMENT, ResponderRule.POINTS_IMPROVEMENT, ResponderRule.GRADES_IMPROVEMENT],
    )
    unassessable = (
        np.isnan(after)
        | (needs_baseline & np.isnan(before))
        | ((rule == ResponderRule.PERCENT_IMPROVEMENT) & (before <= 0))
    )
    verdicts["status"] = np.where(
        unassessable,
        ResponderStatus.NOT_ASSESSABLE,
        np.where(met, ResponderStatus.RESPONDER, ResponderStatus.NON_RESPONDER),
    )
    counts = (
        verdicts.groupby(["indication", "instrument", "definition_id", "cycle", "status"]).size().unstack(fill_value=0)
    )
    return tuple(
        ResponderCycle(
            str(indication),
            str(instrument),
            str(definition),
            int(cycle),
            int(row.get(ResponderStatus.RESPONDER, 0)),
            int(row.get(ResponderStatus.NON_RESPONDER, 0)),
            int(row.get(ResponderStatus.NOT_ASSESSABLE, 0)),
        )
        for (indication, instrument, definition, cycle), row in counts.sort_index().iterrows()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--diary-days", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--keep", type=Path, help="write the registry here and keep it")
    options = parser.parse_args()
    knowledge = build_knowledge()
    with tempfile.TemporaryDirectory() as temporary:
        folder = options.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        generate(folder, options.sessions, options.diary_days, options.seed)
        sizes = {
            name: pq.read_metadata(folder / f"{name}.parquet").num_rows
            for name in ("sessions", "diary_days", "measurements")
        }
        print(
            f"generated {sizes['sessions']:,} sessions, {sizes['diary_days']:,} diary days and "
            f"{sizes['measurements']:,} measurements in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        by_engine = with_engine(folder, knowledge)
        engine_seconds = time.perf_counter() - started
        started = time.perf_counter()
        by_pandas = with_pandas(folder, knowledge)
        pandas_seconds = time.perf_counter() - started
    assert by_engine == by_pandas, "the engine and pandas disagree"
    judged = sum(row.responders + row.non_responders for row in by_engine)
    print(f"{len(by_engine)} result rows, {judged:,} cycles judged: identical in both")
    print(f"DuckDB engine: {engine_seconds:.2f} s; pandas: {pandas_seconds:.2f} s")
    print(f"pandas / engine: {pandas_seconds / engine_seconds:.1f}x (target ≥ {TARGET_RATIO}x)")


if __name__ == "__main__":
    main()
