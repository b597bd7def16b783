"""Disclosure control against the attacks a reader of the published analyses can mount: subtracting shown cells
from a total another table states, reading per-day counts back from a Kaplan–Meier curve, differencing a cohort
against the whole clinic, and reading a zero beside a hidden count. Each test names the attack it blocks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bont.bootstrap import build_knowledge
from bont.domain.knowledge import KnowledgeBase
from bont.domain.research.analyses import (
    RETREATMENT_BIN_DAYS,
    AdverseEventRate,
    CohortSize,
    ContinuationRow,
    DoseByCycle,
    ResponderCycle,
    RetreatmentCurve,
    RetreatmentStep,
    ScaleChange,
)
from bont.domain.research.cohorts import CohortDefinition
from bont.domain.research.disclosure import (
    MinimumCell,
    publish_responders,
    publish_retreatment,
    publish_size,
)
from bont.services.registry_analytics import analyse, analyses_document, published_size, report_document

BLEPHAROSPASM, BOTOX, DYSPORT = "blepharospasm", "onabotulinumtoxinA", "abobotulinumtoxinA"
ELEVEN = MinimumCell()
ONE_INDICATION = CohortDefinition(indication=BLEPHAROSPASM)


@dataclass
class Engine:
    """Raw results of one cohort, and the whole clinic's size (the cohort's unless given)."""

    size_of_cohort: CohortSize
    whole: CohortSize | None = None
    dose_rows: tuple[DoseByCycle, ...] = ()
    curves: tuple[RetreatmentCurve, ...] = ()
    events: tuple[AdverseEventRate, ...] = ()
    changes: tuple[ScaleChange, ...] = ()
    analysed: list[str] = field(default_factory=list)

    def size(self, cohort: CohortDefinition) -> CohortSize:
        if cohort == CohortDefinition() and self.whole is not None:
            return self.whole
        return self.size_of_cohort

    def responders(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> Sequence[ResponderCycle]:
        self.analysed.append("responders")
        return ()

    def scale_changes(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> Sequence[ScaleChange]:
        self.analysed.append("scale_changes")
        return self.changes

    def doses(self, cohort: CohortDefinition) -> Sequence[DoseByCycle]:
        self.analysed.append("doses")
        return self.dose_rows

    def retreatment(self, cohort: CohortDefinition) -> Sequence[RetreatmentCurve]:
        self.analysed.append("retreatment")
        return self.curves

    def adverse_events(self, cohort: CohortDefinition) -> Sequence[AdverseEventRate]:
        self.analysed.append("adverse_events")
        return self.events

    def continuation(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> Sequence[ContinuationRow]:
        self.analysed.append("continuation")
        return ()


def _interval(n: int, mean: float, sd: float) -> tuple[float, float] | None:
    return None if n < 2 else (mean - sd, mean + sd)


def _published(engine: Engine, cohort: CohortDefinition = ONE_INDICATION) -> Any:
    return analyses_document(analyse(engine, build_knowledge(), cohort, 11, _interval))


def _rows(document: dict[str, Any], analysis: str) -> list[dict[str, Any]]:
    return next(a for a in document["analyses"] if a["analysis"] == analysis)["rows"]


def _sessions_a_reader_knows(document: dict[str, Any]) -> set[int]:
    """Every way the published tables state the cohort's sessions: the size, the adverse-event table's sessions
    and the dose table's cells added up (when none is hidden)."""
    known = {row["sessions"] for row in document["size"]["rows"] + _rows(document, "adverse_events")}
    doses = [row["sessions"] for row in _rows(document, "doses")]
    if doses and None not in doses:
        known.add(sum(doses))
    return known - {None}


def _one_indication(patients: int, sessions: int, second_cycle: int) -> Engine:
    curve = RetreatmentCurve(BLEPHAROSPASM, (), None, patients, sessions - patients, patients)
    return Engine(
        CohortSize(patients, sessions),
        dose_rows=(
            DoseByCycle(BOTOX, 1, patients, 30.0, 25.0, 35.0),
            DoseByCycle(BOTOX, 2, second_cycle, 30.0, 25.0, 35.0),
            DoseByCycle(BOTOX, 3, sessions - patients - second_cycle, 30.0, 25.0, 35.0),
        ),
        curves=(curve,),
        events=(AdverseEventRate("ptosis", False, 12, sessions),),
    )


def test_every_published_table_adds_up_to_the_size_and_none_gives_back_a_hidden_retreatment_count() -> None:
    # Sessions less patients of a one-indication cohort are its retreatments: 20 patients, 25 sessions gave
    # the 5 hidden retreatments (and the hidden second cycle's 5 doses) back by subtraction from the size.
    few = _published(_one_indication(patients=20, sessions=25, second_cycle=5))
    assert not _sessions_a_reader_knows(few)
    assert [row["sessions"] for row in _rows(few, "doses")] == [None, None, 0]
    assert _rows(few, "retreatment")[0]["events"] is None
    assert _rows(few, "adverse_events")[0]["per_100_sessions"] is None  # 12 events ÷ rate would be the sessions

    many = _published(_one_indication(patients=40, sessions=100, second_cycle=35))
    assert _sessions_a_reader_knows(many) == {100}  # every table states the same total
    assert _rows(many, "retreatment")[0]["events"] == 60


@settings(max_examples=40, deadline=None)
@given(st.integers(11, 60), st.integers(0, 40), st.integers(0, 40))
def test_no_sum_of_published_tables_against_the_size_gives_back_a_hidden_count(
    patients: int, repeats: int, second: int
) -> None:
    second = min(second, repeats)
    document = _published(_one_indication(patients, patients + repeats, second))
    known = _sessions_a_reader_knows(document)
    assert len(known) <= 1  # the tables never disagree about the total
    events = _rows(document, "retreatment")[0]["events"]
    if events is None:  # the size, less the patients, would be the hidden retreatments
        assert not known
    doses = [
        (raw.sessions, row["sessions"])
        for raw, row in zip(
            _one_indication(patients, patients + repeats, second).dose_rows, _rows(document, "doses"), strict=True
        )
    ]
    hidden = [count for count, shown in doses if shown is None]
    assert len(hidden) != 1
    assert not 0 < sum(hidden) < ELEVEN.value


def test_a_dose_table_never_hides_one_cell_alone_nor_a_few_sessions_in_all() -> None:
    # Differencing the sessions total with the shown cells: one hidden cell, or hidden cells adding up to a few.
    engine = Engine(
        CohortSize(40, 120),
        dose_rows=(
            DoseByCycle(BOTOX, 1, 30, 155.0, 155.0, 195.0),
            DoseByCycle(BOTOX, 2, 25, 155.0, 155.0, 195.0),
            DoseByCycle(DYSPORT, 1, 10, 500.0, 500.0, 500.0),
            DoseByCycle(BOTOX, 3, 55, 155.0, 155.0, 195.0),
        ),
    )
    document = _published(engine)
    doses = [row["sessions"] for row in _rows(document, "doses")]
    assert doses == [30, None, None, 55]  # Dysport's 10 with the next smallest, so 120 − 85 gives only 35
    assert [row["median_units"] for row in _rows(document, "doses")] == [155.0, None, None, 155.0]


def test_a_hidden_not_assessable_count_is_not_the_cycle_total_of_another_definition_less_the_shown() -> None:
    # OAB urinary incontinence, cycle 1: ui-50 20/15/hidden and ui-dry 12/26/0 gave hidden = 38 − 35 = 3.
    rows = [
        ResponderCycle("overactive-bladder", "ui-episodes", "ui-50", 1, 20, 15, 3),
        ResponderCycle("overactive-bladder", "ui-episodes", "ui-dry", 1, 12, 26, 0),
    ]
    published = publish_responders(rows, ELEVEN)
    total = 38  # the series that reached cycle 1, as any fully shown row (or the dose table) states it
    for raw, row in zip(rows, published.rows, strict=True):
        cells = zip(
            (raw.responders, raw.non_responders, raw.not_assessable),
            (row.responders, row.non_responders, row.not_assessable),
            strict=True,
        )
        hidden = [count for count, cell in cells if cell.suppressed]
        shown = sum(cell.count or 0 for cell in (row.responders, row.non_responders, row.not_assessable))
        assert len(hidden) != 1
        assert total - shown == sum(hidden)
        assert not 0 < sum(hidden) < ELEVEN.value
    ui_50, ui_dry = published.rows
    assert (ui_50.rate, ui_dry.rate) == (None, 12 / 38)


def _daily_curve() -> RetreatmentCurve:
    """100 intervals: one retreatment a day for 80 days, the 20 left censored on day 200 (a real day of one
    patient's last session, as today less follow-up)."""
    steps, survival = [], 1.0
    for day in range(1, 81):
        at_risk = 101 - day
        survival *= 1 - 1 / at_risk
        steps.append(RetreatmentStep(day, at_risk, 1, 0, survival, survival * 0.9, min(1.0, survival * 1.1)))
    steps.append(RetreatmentStep(200, 20, 0, 20, survival, survival * 0.9, survival * 1.1))
    return RetreatmentCurve(BLEPHAROSPASM, tuple(steps), 50, 20, 80, 20)


def test_no_per_day_retreatment_or_number_at_risk_can_be_read_back_from_a_kaplan_meier_curve() -> None:
    # Per-day steps gave each day back: 1 − S(d) / S(d − 1) = events ÷ at risk ("1 of 100, 1 of 99, …").
    raw = _daily_curve()
    [curve] = publish_retreatment([raw], ELEVEN).rows
    days = [step.day for step in curve.steps]
    assert days == [30, 60, 90]  # no step for day 200's censoring: that day is no one's to show
    before, survival_before = 0, 1.0
    for step in curve.steps:
        assert step.day - before >= RETREATMENT_BIN_DAYS
        events = sum(s.events for s in raw.steps if before < s.day <= step.day)
        assert events >= ELEVEN.value
        # The step's ratio of survivals gives at most the events over the number at risk of a whole bin.
        assert events / (1 - step.survival / survival_before) >= ELEVEN.value
        assert min(s.at_risk for s in raw.steps if s.day <= step.day) >= ELEVEN.value
        before, survival_before = step.day, step.survival
    assert curve.median_days == 50


def test_a_cohort_a_few_patients_short_of_the_whole_clinic_is_withheld_with_every_analysis() -> None:
    # {} 27/162 and {age_from: 18} 24/143 gave the clinic's 3 children and their 19 sessions.
    engine = Engine(CohortSize(24, 143), whole=CohortSize(27, 162), dose_rows=(DoseByCycle(BOTOX, 1, 24, 1, 1, 1),))
    adults = CohortDefinition(age_from=18)
    size = report_document(published_size(engine, adults, 11))
    assert size["rows"] == [{"patients": None, "sessions": None}]
    assert "whole clinic less this cohort is fewer than 11" in size["suppression"]
    document = _published(engine, adults)
    assert all(analysis["rows"] == [] for analysis in document["analyses"])
    assert all(analysis["suppression"].startswith("Withheld") for analysis in document["analyses"])
    assert engine.analysed == []  # nothing of it was even computed
    # Eleven patients short of the whole clinic is a difference that may be shown, so is the whole clinic.
    assert publish_size(CohortSize(24, 143), ELEVEN, CohortSize(35, 200)).patients.count == 24
    assert publish_size(CohortSize(27, 162), ELEVEN, CohortSize(27, 162)).sessions.count == 162
    assert publish_size(CohortSize(24, 143), ELEVEN, CohortSize(35, 150)).near_whole  # 7 sessions apart


def test_the_interval_of_a_single_patients_change_is_not_published_as_mean_to_mean() -> None:
    engine = Engine(CohortSize(40, 160), changes=(ScaleChange(BLEPHAROSPASM, "jrs", 1, 1, -2.0, 0.0),))
    found = analyse(engine, build_knowledge(), CohortDefinition(), 1, _interval)
    [row] = next(report for report in found.reports if report.key == "scale_changes").rows
    assert [cell.text for cell in row[3:]] == ["1", "-2.00", "0.00", "—", "—"]


def test_a_curve_of_few_patients_is_withheld_whole_its_retreatments_too() -> None:
    # The demo clinic's whole cohort: each curve of 2 to 4 patients, asked for alone, hides its retreatments.
    curves = [
        RetreatmentCurve("chronic-migraine", (), None, patients=40, events=60, censored=40),
        *(
            RetreatmentCurve(indication, (), None, patients=patients, events=events, censored=patients)
            for indication, patients, events in (
                ("cervical-dystonia", 4, 26), ("lower-limb-spasticity", 2, 14), ("sialorrhea", 2, 12),
                ("upper-limb-spasticity", 2, 13),
            )
        ),
    ]  # fmt: skip
    published = publish_retreatment(curves).rows
    assert [curve.events.suppressed for curve in published] == [False, True, True, True, True]
    assert all(curve.patients.suppressed and curve.steps == () for curve in published[1:])
