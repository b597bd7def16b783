"""The registry engine gives the chart's answers: every per-cycle responder verdict it computes in DuckDB equals
the domain's (``outcomes_of_patient``) on a demo-shaped clinic and on generated histories; and its other
analyses count what they say."""

from __future__ import annotations

import importlib.util
import math
import sys
import warnings
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import (
    Direction,
    GoalRating,
    Instrument,
    InstrumentKind,
    Score,
    TardieuAngles,
    classify_day,
)
from bont.domain.research.analyses import (
    DISCONTINUED_AFTER_DAYS,
    AdverseEventRate,
    CohortSize,
    ContinuationRow,
    ContinuationStatus,
    DiscontinuationReason,
)
from bont.domain.research.cohorts import CohortDefinition
from bont.domain.research.dataset import DATASET, ColumnType
from bont.interop.registry import DatasetError, RegistryEngine, mean_ci
from bont.services.outcome_ports import GivenSession, StoredOutcome
from bont.services.outcomes import (
    BLADDER,
    DIARY_INSTRUMENTS,
    HEADACHE,
    bladder_entry,
    headache_entry,
    outcomes_of_patient,
    record_outcome,
    save_diary_day,
)
from tests.fakes import FakeOutcomeClinic, FakeOutcomeRecords

TODAY = date(2026, 11, 29)
SITE = "TEST"
_ARROW = {
    ColumnType.STRING: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: pa.decimal128(18, 6),
    ColumnType.DATE: pa.date32(),
    ColumnType.BOOLEAN: pa.bool_(),
}

# -- the dataset of a fake clinic, as the extract builds it (an ordinal score's value is its rank)


def _arrow(name: str, rows: Iterable[dict[str, Any]]) -> pa.Table:
    table = next(t for t in DATASET if t.name == name)
    schema = pa.schema([(c.name, _ARROW[c.type]) for c in table.columns])
    return pa.Table.from_pylist(list(rows), schema=schema)


def dataset(
    clinic: FakeOutcomeClinic,
    knowledge: KnowledgeBase,
    follow_up_end: date = TODAY,
    adverse_events: Iterable[dict[str, Any]] = (),
    conditions: Iterable[dict[str, Any]] = (),
    read_on: date | None = None,
) -> dict[str, pa.Table]:
    """As read on ``read_on`` (the day a series' discontinuation is judged against; ``follow_up_end`` unless
    given, as in the clinic's own analyses)."""
    patients, sessions, series, measurements, diary_days = [], [], [], [], []
    rules = knowledge.headache_day_rules
    assert rules is not None
    for patient_id in clinic.patients:
        key = {"site": SITE, "patient": str(patient_id)}
        patients.append({**key, "sex": "unknown", "age_band": "40-49", "follow_up_end": follow_up_end})
        given = clinic.sessions.get(patient_id, [])
        for indication in sorted({s.indication for s in given}):
            last = max(s.on for s in given if s.indication == indication)
            discontinued = ((read_on or follow_up_end) - last).days > DISCONTINUED_AFTER_DAYS
            series.append({**key, "indication": indication, "discontinued": discontinued})
        for number, session in enumerate(given):
            days = sorted({s.on for s in given if s.indication == session.indication})
            sessions.append(
                {
                    **key,
                    "session": f"{patient_id}-{number}",
                    "day": session.on,
                    "indication": session.indication,
                    "product": session.product,
                    "population": None,
                    "units": session.total_units,
                    "cycle": days.index(session.on) + 1,
                }
            )
        for entry, outcome in enumerate(clinic.outcomes.get(patient_id, []), 1):  # in order of entry
            if outcome.withdrawn:
                continue
            score = outcome.score
            value = score.value if score.value is not None else Decimal(score.rank) if score.rank is not None else None
            measurements.append(
                {
                    **key,
                    "indication": outcome.indication,
                    "instrument": outcome.instrument,
                    "day": outcome.measured_on,
                    "period_start": outcome.period_start,
                    "value": value,
                    "entry": entry,
                }
            )
        for day, values in clinic.diaries.get((patient_id, HEADACHE), {}).items():
            kind = classify_day(headache_entry(values, day), rules)
            diary_days.append(
                {
                    **key,
                    "kind": HEADACHE,
                    "day": day,
                    "headache_day": kind.headache_day,
                    "migraine_day": kind.migraine_day,
                    "acute_medication_day": kind.acute_medication_day,
                }
            )
        for day, values in clinic.diaries.get((patient_id, BLADDER), {}).items():
            entry = bladder_entry(values, day)
            diary_days.append(
                {
                    **key,
                    "kind": BLADDER,
                    "day": day,
                    "voids": entry.voids,
                    "incontinence_episodes": entry.incontinence_episodes,
                }
            )
    return {
        "patients": _arrow("patients", patients),
        "conditions": _arrow("conditions", conditions),
        "sessions": _arrow("sessions", sessions),
        "series": _arrow("series", series),
        "measurements": _arrow("measurements", measurements),
        "diary_days": _arrow("diary_days", diary_days),
        "adverse_events": _arrow("adverse_events", adverse_events),
    }


def chart_verdicts(clinic: FakeOutcomeClinic, knowledge: KnowledgeBase) -> list[tuple[Any, ...]]:
    """Every verdict the chart shows, through the domain service."""
    records = FakeOutcomeRecords(clinic, knowledge)
    rows = []
    for patient_id in clinic.patients:
        for outcomes in outcomes_of_patient(records, knowledge, patient_id, TODAY):
            for series in outcomes.series:
                for judgement in series.judgements:
                    for verdict in judgement.verdicts:
                        rows.append(
                            (
                                SITE,
                                str(patient_id),
                                outcomes.indication.id,
                                series.instrument.id,
                                judgement.definition.id,
                                verdict.cycle,
                                str(verdict.status),
                            )
                        )
    return sorted(rows)


def engine_verdicts(clinic: FakeOutcomeClinic, knowledge: KnowledgeBase) -> list[tuple[Any, ...]]:
    engine = RegistryEngine.from_tables(dataset(clinic, knowledge))
    return engine.cycle_verdicts(CohortDefinition(), knowledge)


# -- the demo clinic's shape: every indication with a responder definition, a responder and a non-responder,
# sessions every twelve weeks, a baseline and a review six weeks into each cycle, diaries as the demo keeps them


def _demo_raw(instrument: Instrument, cycle: int, responds: bool) -> object:
    """As ``bont.clinic.demo`` enters it: poor at baseline, better after treatment when the patient responds."""
    better = responds and cycle > 0
    lower_is_better = instrument.direction is Direction.LOWER_IS_BETTER
    if instrument.kind is InstrumentKind.GOALS:
        return None if cycle == 0 else [GoalRating(1 if better else -1), GoalRating(0 if better else -1)]
    if instrument.kind is InstrumentKind.BINARY:
        return better
    if instrument.kind is InstrumentKind.GRADE:
        worst = len(instrument.grades) - 1 if lower_is_better else 0
        step = (3 if len(instrument.grades) > 4 else 2) if better else 0
        return instrument.grades[worst - step if lower_is_better else worst + step]
    if instrument.kind is InstrumentKind.ANGLES:
        return TardieuAngles(Decimal(95 if better else 60), Decimal(125))
    if instrument.kind is InstrumentKind.ITEMS:
        fraction = Decimal("0.25") if better else Decimal("0.75")
        return {item.key: int(item.minimum + (item.maximum - item.minimum) * fraction) for item in instrument.items}
    low = instrument.minimum if instrument.minimum is not None else Decimal(0)
    high = instrument.maximum if instrument.maximum is not None else low + 200
    fraction = Decimal("0.3") if better else Decimal("0.75")
    if not lower_is_better:
        fraction = 1 - fraction
    value = low + (high - low) * fraction
    return value.quantize(Decimal(1)) if instrument.whole else value.quantize(Decimal("0.1"))


def demo_shaped_clinic(knowledge: KnowledgeBase) -> FakeOutcomeClinic:
    clinic = FakeOutcomeClinic()
    records = FakeOutcomeRecords(clinic, knowledge)
    indications = sorted({d.indication for d in knowledge.responder_definitions})
    for number, (indication, responds) in enumerate(((i, r) for i in indications for r in (True, False)), 1):
        mrn = f"FICT-{number:04d}"
        patient_id = clinic.add_patient(mrn, date(1970, 1, 1))
        sessions = [TODAY - timedelta(days=700 - 84 * n - number % 7) for n in range(9)]
        for day in sessions:
            clinic.add_session(patient_id, GivenSession(day, indication, "onabotulinumtoxinA", Decimal(100), "ok"))
        instruments = knowledge.instruments_for(indication)
        ids = {i.id for i in instruments}
        if ids & set(DIARY_INSTRUMENTS[HEADACHE]):
            for end in [*sessions, TODAY - timedelta(days=1)]:
                for offset in range(28):
                    day = end - timedelta(days=offset)
                    ordinal = day.toordinal()
                    treated = ordinal % 4 == 0 if responds else ordinal % 2 == 0
                    headache = ordinal % 3 != 0 if day <= sessions[0] else treated
                    values = {
                        "headache_minutes": 360 if headache else 0,
                        "features": ["pulsating", "moderate-or-severe"] if headache else [],
                        "nausea_or_vomiting": headache and ordinal % 2 == 1,
                        "acute_medication": ("migraine-specific" if ordinal % 3 else "other") if headache else "none",
                    }
                    save_diary_day(records, patient_id, HEADACHE, day, values, TODAY)
        if ids & set(DIARY_INSTRUMENTS[BLADDER]):
            for end in [*sessions, TODAY - timedelta(days=1)]:
                for offset in range(3):
                    treated = end > sessions[0]
                    leaks = ((1 if responds else 3) if treated else 4) + offset % 2
                    values = {"voids": 9 if treated and responds else 13, "incontinence_episodes": leaks}
                    save_diary_day(records, patient_id, BLADDER, end - timedelta(days=offset), values, TODAY)
        reviews = [(sessions[0], 0)] + [(day + timedelta(days=42), cycle) for cycle, day in enumerate(sessions, 1)]
        for instrument in instruments:
            if instrument.kind is InstrumentKind.COUNT:
                continue  # the diaries give these
            for day, cycle in reviews:
                raw = _demo_raw(instrument, cycle, responds)
                if raw is not None and day < TODAY:
                    record_outcome(records, knowledge, mrn, indication, instrument.id, day, raw, None, TODAY)
    return clinic


@pytest.fixture(scope="module")
def demo_clinic(knowledge: KnowledgeBase) -> FakeOutcomeClinic:
    return demo_shaped_clinic(knowledge)


def test_the_engine_judges_every_cycle_of_the_demo_clinic_as_the_chart_does(
    knowledge: KnowledgeBase, demo_clinic: FakeOutcomeClinic
) -> None:
    clinic = demo_clinic
    chart = chart_verdicts(clinic, knowledge)
    assert {row[6] for row in chart} == {"responder", "non-responder", "not-assessable"}
    assert len({row[2] for row in chart}) >= 15  # most indications are judged
    assert engine_verdicts(clinic, knowledge) == chart


def test_of_two_scores_of_one_day_the_engine_takes_the_one_entered_last_as_the_chart_does(
    knowledge: KnowledgeBase,
) -> None:
    clinic = FakeOutcomeClinic()
    for number, entered in enumerate(((70, 50), (50, 70)), 1):  # two HIT-6 of one review day, in order of entry
        patient_id = clinic.add_patient(f"FICT-{number}", date(1970, 1, 1))
        given = GivenSession(date(2024, 1, 1), "chronic-migraine", "onabotulinumtoxinA", Decimal(155), "ok")
        clinic.add_session(patient_id, given)
        clinic.outcomes[patient_id] = [
            StoredOutcome("chronic-migraine", "hit-6", day, None, Score("hit-6", value=Decimal(value)))
            for day, value in ((date(2023, 12, 20), 70), *((date(2024, 2, 15), value) for value in entered))
        ]
    chart = chart_verdicts(clinic, knowledge)
    assert [(row[1], row[5], row[6]) for row in chart] == [("1", 1, "responder"), ("2", 1, "non-responder")]
    assert engine_verdicts(clinic, knowledge) == chart


def test_a_bladder_diary_is_dated_and_assigned_by_the_days_kept_as_the_chart_does(knowledge: KnowledgeBase) -> None:
    """A bladder diary's summary covers the days kept, not its week's window: kept on the three days up to a
    session four days after another, it judges the cycle that other session opened (the window would contain it);
    and of two summaries dated on one day, the one of the window that ends later counts."""
    clinic = FakeOutcomeClinic()
    records = FakeOutcomeRecords(clinic, knowledge)

    def patient(sessions: tuple[date, ...], diary: dict[date, tuple[int, int]]) -> None:
        patient_id = clinic.add_patient(f"FICT-{len(clinic.patients) + 1}", date(1970, 1, 1))
        for day in sessions:
            clinic.add_session(
                patient_id, GivenSession(day, "overactive-bladder", "onabotulinumtoxinA", Decimal(100), "ok")
            )
        for day, (voids, leaks) in diary.items():
            values = {"voids": voids, "incontinence_episodes": leaks}
            save_diary_day(records, patient_id, BLADDER, day, values, TODAY)

    first = date(2026, 1, 10)
    baseline = {first - timedelta(days=n): (13, 4) for n in range(3)}
    close = date(2026, 4, 5)  # four days after the session of 1 April
    patient((first, date(2026, 4, 1), close), {**baseline, **{close - timedelta(days=n): (9, 1) for n in range(3)}})
    last = date(2026, 5, 1)  # the diary ends the day before; a day a week before it joins only the later window
    kept = {last - timedelta(days=n): (9, 1) for n in (1, 2, 3)}
    patient((first, date(2026, 3, 1), last), {**baseline, last - timedelta(days=7): (9, 9), **kept})

    chart = chart_verdicts(clinic, knowledge)
    judged = {(row[1], row[4], row[5]): row[6] for row in chart if row[3] == "ui-episodes-per-day"}
    assert judged[("1", "overactive-bladder-ui-50", 2)] == "responder"  # 4 a day, then 1: 75 % fewer
    assert judged[("2", "overactive-bladder-ui-50", 2)] == "responder"  # the window ending on the session: 1 a day
    assert engine_verdicts(clinic, knowledge) == chart


# -- generated histories: sessions on any days (some on one day, some close together), scale measurements on
# distinct days (some over a period), diaries kept in runs of days that may or may not reach the minimum

START = TODAY - timedelta(days=720)
GENERATED = {
    "chronic-migraine": ("hit-6",),
    "overactive-bladder": ("oab-q-hrql",),
    "axillary-hyperhidrosis": ("hdss", "gravimetric-sweat"),
    "cervical-dystonia": ("twstrs",),
    "chronic-anal-fissure": ("fissure-healing",),
    "achalasia": ("eckardt",),
    "myofascial-pain": ("pain-nrs",),
}


@st.composite
def history(draw: st.DrawFn) -> dict[str, Any]:
    """One patient's history; measurements and diary runs are placed around a session (or the end of follow-up)
    so that most cycles have something to judge."""
    indication = draw(st.sampled_from(sorted(GENERATED)))
    sessions = draw(st.lists(st.integers(0, 700), max_size=5))
    # Some a few days after another, so that a diary's window may hold a session.
    gaps = draw(st.lists(st.integers(1, 9), max_size=2))
    sessions = sorted(sessions + [min(day + gap, 700) for day, gap in zip(sessions, gaps, strict=False)])
    anchors = [*sessions, 716]

    def around(index: int, shift: int) -> int:
        return min(max(anchors[index % len(anchors)] + shift, 0), 716)

    measured = {
        instrument: [
            (around(index, shift), value, period)
            for index, shift, value, period in draw(
                st.lists(
                    st.tuples(
                        st.integers(0, 6),
                        st.integers(-20, 60),
                        st.integers(0, 10**6),
                        st.sampled_from((None, None, None, 0, 6, 27, 60)),
                    ),
                    max_size=7,
                )
            )
        ]
        for instrument in GENERATED[indication]
    }
    runs = [
        (around(index, shift), length, pattern)
        for index, shift, length, pattern in draw(
            st.lists(
                st.tuples(st.integers(0, 6), st.integers(-4, 4), st.integers(1, 32), st.integers(0, 11)), max_size=6
            )
        )
    ]
    return {"indication": indication, "sessions": sessions, "measured": measured, "runs": runs}


def _score(instrument: Instrument, draw: int) -> Score:
    if instrument.grades:
        rank = draw % len(instrument.grades)
        return Score(instrument.id, grade=instrument.grades[rank], rank=rank)
    low = instrument.minimum if instrument.minimum is not None else Decimal(0)
    high = instrument.maximum if instrument.maximum is not None else low + 200
    value = low + (high - low) * Decimal(draw) / 10**6
    return Score(instrument.id, value=value.quantize(Decimal(1) if instrument.whole else Decimal("0.1")))


def generated_clinic(knowledge: KnowledgeBase, histories: list[dict[str, Any]]) -> FakeOutcomeClinic:
    """The histories as a clinic; an instrument may be measured twice on one day (the chart takes the one entered
    last)."""
    clinic = FakeOutcomeClinic()
    records = FakeOutcomeRecords(clinic, knowledge)
    for number, drawn in enumerate(histories, 1):
        patient_id = clinic.add_patient(f"FICT-{number}", date(1970, 1, 1))
        indication = drawn["indication"]
        for offset in drawn["sessions"]:
            given = GivenSession(START + timedelta(days=offset), indication, "onabotulinumtoxinA", Decimal(50), "ok")
            clinic.add_session(patient_id, given)
        for instrument_id, measurements in drawn["measured"].items():
            instrument = knowledge.instrument(instrument_id)
            for offset, value, period in measurements:
                on = START + timedelta(days=offset)
                start = None if period is None else on - timedelta(days=period)
                stored = StoredOutcome(indication, instrument_id, on, start, _score(instrument, value))
                clinic.outcomes.setdefault(patient_id, []).append(stored)
        for end, length, pattern in drawn["runs"]:
            for offset in range(max(end - length + 1, 0), end + 1):
                day = START + timedelta(days=offset)
                mark = (day.toordinal() * 7 + pattern) % 11
                if indication == "chronic-migraine":
                    values: dict[str, Any] = {
                        "headache_minutes": 300 if mark < pattern else 0,
                        "features": ["pulsating", "unilateral"] if mark < pattern - 2 else [],
                        "photophobia": mark % 2 == 0,
                        "phonophobia": mark < 3,
                        "aura_minutes": 20 if mark == 9 else 0,
                        "acute_medication": ["none", "other", "migraine-specific"][mark % 3],
                    }
                    save_diary_day(records, patient_id, HEADACHE, day, values, TODAY)
                if indication == "overactive-bladder":
                    values = {"voids": 5 + mark, "incontinence_episodes": pattern // 2 + mark % 2}
                    save_diary_day(records, patient_id, BLADDER, day, values, TODAY)
    return clinic


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories=st.lists(history(), min_size=1, max_size=8))
def test_the_engine_judges_generated_histories_as_the_chart_does(
    knowledge: KnowledgeBase, histories: list[dict[str, Any]]
) -> None:
    clinic = generated_clinic(knowledge, histories)
    chart = chart_verdicts(clinic, knowledge)
    engine = RegistryEngine.from_tables(dataset(clinic, knowledge))
    assert engine.cycle_verdicts(CohortDefinition(), knowledge) == chart
    tally = Counter((row[2], row[3], row[4], row[5], row[6]) for row in chart)
    assert {
        (r.indication, r.instrument, r.definition_id, r.cycle): (r.responders, r.non_responders, r.not_assessable)
        for r in engine.responders(CohortDefinition(), knowledge)
    } == {
        key[:4]: (
            tally[(*key[:4], "responder")],
            tally[(*key[:4], "non-responder")],
            tally[(*key[:4], "not-assessable")],
        )
        for key in tally
    }


# -- the other analyses


def _two_patients(knowledge: KnowledgeBase) -> FakeOutcomeClinic:
    clinic = FakeOutcomeClinic()
    first, second = clinic.add_patient("FICT-1", date(1970, 1, 1)), clinic.add_patient("FICT-2", date(1980, 1, 1))
    for day, units in ((date(2024, 1, 1), 155), (date(2024, 4, 1), 195)):
        clinic.add_session(first, GivenSession(day, "chronic-migraine", "onabotulinumtoxinA", Decimal(units), "ok"))
    clinic.add_session(
        second, GivenSession(date(2024, 2, 1), "cervical-dystonia", "abobotulinumtoxinA", Decimal(500), "ok")
    )
    clinic.add_session(
        second, GivenSession(date(2024, 2, 1), "cervical-dystonia", "onabotulinumtoxinA", Decimal(100), "ok")
    )
    return clinic


def test_a_cohort_counts_patients_and_sessions_and_a_dose_range_keeps_one_products_units(
    knowledge: KnowledgeBase,
) -> None:
    conditions = [{"site": SITE, "patient": "2", "code": "G24.3"}]
    engine = RegistryEngine.from_tables(dataset(_two_patients(knowledge), knowledge, conditions=conditions))
    assert engine.size(CohortDefinition()) == CohortSize(patients=2, sessions=4)
    assert engine.size(CohortDefinition(condition_codes=("G24",))) == CohortSize(patients=1, sessions=2)
    assert engine.patients(CohortDefinition(condition_codes=("G24",))) == {"2"}
    assert engine.size(CohortDefinition(age_from=40, age_to=40, sex="unknown")) == CohortSize(patients=2, sessions=4)
    assert engine.size(CohortDefinition(age_from=50)) == CohortSize(patients=0, sessions=0)
    botox = CohortDefinition(product="onabotulinumtoxinA", units_from=Decimal(150))
    assert engine.size(botox) == CohortSize(patients=1, sessions=2)
    assert engine.size(CohortDefinition(cycles_from=2)) == CohortSize(patients=2, sessions=4)
    assert engine.size(CohortDefinition(indication="cervical-dystonia", cycles_to=1)) == CohortSize(0, 0)
    doses = {(d.product, d.cycle): d for d in engine.doses(CohortDefinition())}
    assert set(doses) == {("onabotulinumtoxinA", 1), ("onabotulinumtoxinA", 2), ("abobotulinumtoxinA", 1)}
    both = doses[("onabotulinumtoxinA", 1)]  # 155 U of one patient and 100 U of the other, never the 500 U of Dysport
    assert (both.sessions, both.median, both.q1, both.q3) == (2, 127.5, 113.75, 141.25)


def test_time_to_retreatment_is_the_kaplan_meier_curve_with_greenwoods_log_log_band(knowledge: KnowledgeBase) -> None:
    clinic = FakeOutcomeClinic()
    start = date(2024, 1, 1)
    gaps = [(80, 90, 90), (85, 200), (90,), (70, 100, 120, 95), ()]
    for gap_list in gaps:
        patient_id = clinic.add_patient(f"FICT-{len(clinic.patients)}", date(1970, 1, 1))
        day = start + timedelta(days=patient_id)
        clinic.add_session(patient_id, GivenSession(day, "cervical-dystonia", "onabotulinumtoxinA", Decimal(100), "ok"))
        for gap in gap_list:
            day += timedelta(days=gap)
            given = GivenSession(day, "cervical-dystonia", "onabotulinumtoxinA", Decimal(100), "ok")
            clinic.add_session(patient_id, given)
    follow_up_end = date(2025, 3, 1)
    engine = RegistryEngine.from_tables(dataset(clinic, knowledge, follow_up_end))
    (curve,) = engine.retreatment(CohortDefinition())
    events = [gap for gaps_of in gaps for gap in gaps_of]
    censored = []
    for patient_id, gap_list in enumerate(gaps, 1):
        last = start + timedelta(days=patient_id + sum(gap_list))
        censored.append((follow_up_end - last).days)
    assert (curve.events, curve.censored, curve.patients) == (len(events), len(censored), len(gaps))
    expected = stats.ecdf(stats.CensoredData(uncensored=events, right=censored)).sf
    with warnings.catch_warnings():  # undefined where the estimate is 1: the engine gives 1 to 1 there
        warnings.simplefilter("ignore", RuntimeWarning)
        band = expected.confidence_interval(0.95, method="log-log")
    for step in curve.steps:
        assert step.survival == pytest.approx(float(expected.evaluate(step.day)))
        low, high = float(band.low.evaluate(step.day)), float(band.high.evaluate(step.day))
        if not math.isnan(low):
            assert (step.ci_low, step.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert curve.median_days == next(s.day for s in curve.steps if s.survival <= 0.5)


def test_adverse_events_count_per_term_and_seriousness_and_serious_ones_explain_a_discontinuation(
    knowledge: KnowledgeBase,
) -> None:
    clinic = _two_patients(knowledge)
    events = [
        {"site": SITE, "patient": "1", "session": "1-0", "day": date(2024, 1, 7), "term": "ptosis",
         "severity": "mild", "serious": False},
        {"site": SITE, "patient": "2", "session": None, "day": date(2024, 2, 20), "term": "dysphagia",
         "severity": "severe", "serious": True},
    ]  # fmt: skip
    # Discontinued is the series' verdict on the day the records were read, not a gap to follow_up_end (in an
    # export the patient's last contact, here within a year of the last session).
    engine = RegistryEngine.from_tables(dataset(clinic, knowledge, date(2024, 4, 1), events, read_on=date(2025, 6, 1)))
    assert set(engine.adverse_events(CohortDefinition())) == {
        AdverseEventRate("ptosis", False, 1, 4),
        AdverseEventRate("dysphagia", True, 1, 4),
    }
    assert engine.continuation(CohortDefinition(), knowledge) == (
        ContinuationRow(ContinuationStatus.DISCONTINUED, DiscontinuationReason.ADVERSE_EVENT, 1),
        ContinuationRow(ContinuationStatus.DISCONTINUED, DiscontinuationReason.NONE_RECORDED, 1),
    )
    soon = RegistryEngine.from_tables(dataset(clinic, knowledge, date(2024, 6, 1), events))
    assert soon.continuation(CohortDefinition(), knowledge) == (
        ContinuationRow(ContinuationStatus.CONTINUING, None, 2),
    )


def test_the_demo_clinics_scale_changes_and_responder_counts_add_up(
    knowledge: KnowledgeBase, demo_clinic: FakeOutcomeClinic
) -> None:
    clinic = demo_clinic
    engine = RegistryEngine.from_tables(dataset(clinic, knowledge))
    cohort = CohortDefinition(indication="cervical-dystonia")
    (first, *_) = engine.responders(cohort, knowledge)
    assert (first.cycle, first.responders, first.non_responders, first.not_assessable) == (1, 1, 1, 0)
    changes = {c.cycle: c for c in engine.scale_changes(cohort, knowledge)}
    assert changes[1].n == 2
    assert changes[1].mean_change < 0  # TWSTRS falls in the responder, stays in the non-responder
    assert all(c.instrument == "twstrs" for c in changes.values())
    ci = mean_ci(changes[1].n, changes[1].mean_change, changes[1].sd)
    assert ci is not None
    assert ci[0] < changes[1].mean_change < ci[1]
    assert mean_ci(1, 2.0, 0.0) is None


def test_an_export_folder_is_read_from_parquet_and_csv_of_two_sites(knowledge: KnowledgeBase, tmp_path: Path) -> None:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    tables = dataset(_two_patients(knowledge), knowledge)
    for folder, write in (("one", "parquet"), ("two", "csv")):
        (tmp_path / folder).mkdir()
        for name, table in tables.items():
            if folder == "two":  # another clinic: its own site code
                table = table.set_column(0, "site", pa.array(["TWO"] * table.num_rows, pa.string()))
            if write == "parquet":
                pq.write_table(table, tmp_path / folder / f"{name}.parquet")
            else:
                pa_csv.write_csv(table, tmp_path / folder / f"{name}.csv")
    engine = RegistryEngine.from_folders([tmp_path / "one", tmp_path / "two"])
    assert engine.size(CohortDefinition()) == CohortSize(patients=4, sessions=8)
    # A value that does not read as its column's type is named by folder, table and column, never by its row.
    sessions = tmp_path / "two" / "sessions.csv"
    sessions.write_text(sessions.read_text(encoding="utf-8").replace("155", "abc", 1), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"two: the sessions table's units column holds 1 value\(s\)") as error:
        RegistryEngine.from_folders([tmp_path / "one", tmp_path / "two"])
    assert "abc" not in str(error.value)
    (tmp_path / "two" / "sessions.csv").unlink()
    with pytest.raises(DatasetError, match="has no sessions"):
        RegistryEngine.from_folders([tmp_path / "one", tmp_path / "two"])


def _bench() -> Any:
    path = Path(__file__).parents[2] / "bench" / "registry_analytics.py"
    spec = importlib.util.spec_from_file_location("registry_analytics_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmarks_engine_and_pandas_versions_agree_on_a_small_generated_registry(
    knowledge: KnowledgeBase, tmp_path: Path
) -> None:
    bench = _bench()
    bench.generate(tmp_path, sessions=2_000, diary_days=20_000, seed=7)
    by_engine = bench.with_engine(tmp_path, knowledge)
    assert by_engine == bench.with_pandas(tmp_path, knowledge)
    assert sum(row.responders for row in by_engine) > 0
    assert sum(row.non_responders for row in by_engine) > 0
