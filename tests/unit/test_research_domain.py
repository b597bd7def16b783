"""The pure research domain: the dataset's dictionary, cohort definitions, disclosure control and
de-identification."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bont.domain.errors import FieldError
from bont.domain.research.analyses import (
    METHODS,
    RESPONDERS,
    RETREATMENT,
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
from bont.domain.research.dataset import DATASET, ColumnType, table
from bont.domain.research.deidentification import (
    SAFE_HARBOR,
    age_band,
    date_offset,
    export_horizon,
    pseudonym,
    site_code,
)
from bont.domain.research.disclosure import (
    ExportRefused,
    MinimumCell,
    MinimumK,
    check_k,
    k_anonymity,
    publish_adverse_events,
    publish_continuation,
    publish_doses,
    publish_responders,
    publish_retreatment,
    publish_scale_changes,
    publish_size,
    wilson_interval,
)

SECRET = bytes(range(32))
ELEVEN = MinimumCell()
counts = st.integers(min_value=0, max_value=60)


# -- the data dictionary


def test_every_table_starts_with_site_and_patient_and_every_column_is_described() -> None:
    assert [t.name for t in DATASET] == [
        "patients",
        "conditions",
        "sessions",
        "series",
        "measurements",
        "diary_days",
        "adverse_events",
    ]
    for each in DATASET:
        assert each.column_names[:2] == ("site", "patient")
        assert all(column.description.endswith(".") for column in each.columns)
    assert table("sessions").column_names == (
        "site",
        "patient",
        "session",
        "day",
        "indication",
        "product",
        "population",
        "units",
        "cycle",
    )


def test_every_date_column_says_it_is_shifted_in_an_export() -> None:
    dates = [column for each in DATASET for column in each.columns if column.type is ColumnType.DATE]
    assert len(dates) == 6
    assert all("shifted" in column.description for column in dates)


# -- cohorts


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"sex": "f"}, "sex"),
        ({"age_from": 30, "age_to": 20}, "age_to"),
        ({"age_from": 35}, "age_from"),
        ({"age_from": -1}, "age_from"),
        ({"first_day": "2025-03-01", "last_day": "2025-02-01"}, "last_day"),
        ({"first_day": "1 March"}, "first_day"),
        ({"units_from": 100}, "units_from"),
        ({"units_to": "200"}, "units_to"),
        ({"product": "onabotulinumtoxinA", "units_from": -5}, "units_from"),
        ({"product": "onabotulinumtoxinA", "units_from": 200, "units_to": 100}, "units_to"),
        ({"product": "onabotulinumtoxinA", "units_from": "lots"}, "units_from"),
        ({"cycles_from": -2}, "cycles_from"),
        ({"cycles_from": 3, "cycles_to": 2}, "cycles_to"),
        ({"cycles_to": True}, "cycles_to"),
        ({"condition_codes": ["G43.709", "migraine"]}, "condition_codes.1"),
        ({"indication": "chronic migraine'; drop"}, "indication"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_cohort_criterion_is_refused_naming_its_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(FieldError) as refused:
        CohortDefinition.from_mapping(raw)
    assert refused.value.field == field


def test_a_cohort_definition_reads_form_values_and_gives_them_back_as_json() -> None:
    cohort = CohortDefinition.from_mapping(
        {
            "indication": "chronic-migraine",
            "product": "onabotulinumtoxinA",
            "population": "",
            "age_from": "30",
            "age_to": 59,
            "sex": "female",
            "first_day": "2024-01-01",
            "last_day": date(2024, 12, 31),
            "units_from": "155",
            "units_to": 195.5,
            "cycles_from": 2,
            "condition_codes": "g43709, G43 g43709",
        }
    )
    assert cohort.units_to == Decimal("195.5")
    assert cohort.condition_codes == ("G43.709", "G43")
    assert cohort.age_bands == ("30-39", "40-49", "50-59")
    assert cohort.to_mapping()["last_day"] == "2024-12-31"
    assert CohortDefinition.from_mapping(cohort.to_mapping()) == cohort
    assert CohortDefinition.from_mapping({}).to_mapping() == {}


# -- disclosure control


@pytest.mark.parametrize(
    ("successes", "n", "places", "low", "high"),
    [  # Newcombe RG, Stat Med 1998;17:857-872, table I (score method without continuity correction)
        (8, 10, 3, 0.490, 0.943),
        (81, 263, 4, 0.2553, 0.3662),
        (15, 148, 4, 0.0624, 0.1605),
        (0, 20, 4, 0.0, 0.1611),
        (1, 29, 4, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(successes: int, n: int, places: int, low: float, high: float) -> None:
    assert [round(bound, places) for bound in wilson_interval(successes, n)] == [low, high]


@given(st.integers(min_value=1, max_value=10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_lies_within_zero_and_one_and_contains_the_observed_rate(case: tuple[int, int]) -> None:
    successes, n = case
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_wilson_interval_needs_someone_judged() -> None:
    with pytest.raises(ValueError, match="n >= 1"):
        wilson_interval(0, 0)


@settings(max_examples=60)
@given(st.lists(st.tuples(counts, counts, counts), max_size=6), st.integers(min_value=1, max_value=20))
def test_no_responder_count_under_the_minimum_is_shown_nor_a_rate_that_gives_one_back(
    cells: list[tuple[int, int, int]], minimum: int
) -> None:
    rows = [ResponderCycle("chronic-migraine", "headache-days", "50pct", 1, *cell) for cell in cells]
    published = publish_responders(rows, MinimumCell(minimum))
    for raw, row in zip(rows, published.rows, strict=True):
        cells = (row.responders, row.non_responders, row.not_assessable)
        for cell in cells:
            assert cell.count is None or cell.count == 0 or cell.count >= minimum
        # The row's total (the series that reached the cycle) is known from other rows and tables: its hidden
        # cells are none, all, or two or more holding together at least the minimum.
        hidden = [
            count
            for count, cell in zip((raw.responders, raw.non_responders, raw.not_assessable), cells, strict=True)
            if cell.suppressed
        ]
        assert len(hidden) in (0, 3) or (len(hidden) == 2 and sum(hidden) >= minimum)
        assert row.responders.suppressed == row.non_responders.suppressed
        if row.responders.suppressed:
            assert (row.rate, row.ci_low, row.ci_high) == (None, None, None)
    hidden = sum(
        cell.suppressed for row in published.rows for cell in (row.responders, row.non_responders, row.not_assessable)
    )
    assert published.suppressed >= hidden


def test_a_responder_rate_of_enough_patients_is_shown_with_its_wilson_interval() -> None:
    published = publish_responders([ResponderCycle("chronic-migraine", "headache-days", "50pct", 2, 24, 16, 0)])
    (row,) = published.rows
    assert (row.responders.count, row.not_assessable.count) == (24, 0)
    assert row.rate == 0.6
    assert (row.ci_low, row.ci_high) == wilson_interval(24, 40)
    assert published.method is RESPONDERS
    assert published.suppressed == 0
    assert published.note == "No figure suppressed (minimum cell size 11)."


@settings(max_examples=60)
@given(st.lists(counts, min_size=1, max_size=5))
def test_continuation_never_leaves_a_single_hidden_cell_that_the_total_would_give_back(patients: list[int]) -> None:
    statuses = [ContinuationStatus.CONTINUING] + [ContinuationStatus.DISCONTINUED] * 4
    reasons = [None, *DiscontinuationReason, DiscontinuationReason.NONE_RECORDED]
    rows = [ContinuationRow(statuses[i], reasons[i], count) for i, count in enumerate(patients)]
    published = publish_continuation(rows)
    shown = [row.patients.count for row in published.rows]
    assert all(count is None or count == 0 or count >= 11 for count in shown)
    assert shown.count(None) != 1 or len(shown) == 1


def test_the_cell_hidden_beside_a_single_small_one_is_not_a_zero() -> None:
    rows = [
        ContinuationRow(ContinuationStatus.CONTINUING, None, 50),
        ContinuationRow(ContinuationStatus.DISCONTINUED, DiscontinuationReason.NO_RESPONSE, 3),
        ContinuationRow(ContinuationStatus.DISCONTINUED, DiscontinuationReason.ADVERSE_EVENT, 0),
    ]
    published = publish_continuation(rows)
    assert [row.patients.count for row in published.rows] == [None, None, 0]
    assert published.suppressed == 2


def test_a_small_cohort_shows_neither_its_patients_nor_its_sessions() -> None:
    small = publish_size(CohortSize(patients=4, sessions=30))
    assert (small.patients.count, small.sessions.count) == (None, None)
    assert str(small.patients) == "suppressed"
    large = publish_size(CohortSize(patients=40, sessions=130))
    assert (large.patients.count, large.sessions.count, large.minimum) == (40, 130, 11)


def test_a_mean_change_median_dose_or_event_rate_of_too_few_is_withheld_with_its_count() -> None:
    changes = publish_scale_changes(
        [
            ScaleChange("cervical-dystonia", "twstrs", 1, 5, -8.0, 4.0),
            ScaleChange("cervical-dystonia", "twstrs", 2, 30, -9.5, 5.0),
        ],
        mean_ci=lambda n, mean, sd: (mean - 2 * sd / n**0.5, mean + 2 * sd / n**0.5),
    )
    few, many = changes.rows
    assert (few.n.count, few.mean_change, few.sd, few.ci_low) == (None, None, None, None)
    assert (many.ci_low, many.ci_high) == (-9.5 - 2 * 5.0 / 30**0.5, -9.5 + 2 * 5.0 / 30**0.5)
    doses = publish_doses([DoseByCycle("onabotulinumtoxinA", 3, 7, 155.0, 155.0, 195.0)])
    assert (doses.rows[0].median, doses.suppressed) == (None, 4)
    assert changes.rows[1].n.count == 30
    events = publish_adverse_events(
        [AdverseEventRate("ptosis", False, 3, 200), AdverseEventRate("neck-weakness", False, 14, 200)]
    )
    assert [row.per_100_sessions for row in events.rows] == [None, 7.0]
    assert (events.rows[0].events.count, events.rows[0].sessions.count) == (None, 200)


def _curve(intervals: int, days: list[tuple[int, int, int]]) -> RetreatmentCurve:
    """A Kaplan–Meier curve of ``intervals`` from its (day, events, censored) steps, one series per censored."""
    steps, survival, at_risk = [], 1.0, intervals
    for day, events, censored in days:
        survival *= 1 - events / at_risk
        steps.append(RetreatmentStep(day, at_risk, events, censored, survival, survival - 0.05, survival + 0.05))
        at_risk -= events + censored
    median = next((step.day for step in steps if step.survival <= 0.5), None)
    censored = sum(step.censored for step in steps)
    return RetreatmentCurve("blepharospasm", tuple(steps), median, censored, intervals - censored, censored)


def test_a_retreatment_curve_stops_where_too_few_remain_at_risk_and_small_curves_are_withheld() -> None:
    # 100 intervals: a retreatment a day for 30 days, 50 censored on day 30, then a retreatment a day from 20 at
    # risk down to 11 on day 40, two on day 45 with 10 at risk, and the last 8 censored on day 100.
    days = [(day, 1, 50 if day == 30 else 0) for day in range(1, 41)] + [(45, 2, 0), (100, 0, 8)]
    published = publish_retreatment([_curve(100, days)], ELEVEN)
    [shown] = published.rows
    assert [step.day for step in shown.steps] == [30]  # the second month ends with 10 at risk: the curve stops
    assert shown.median_days is None  # day 36 lies beyond the shown part
    assert (shown.patients.count, shown.events.count, shown.censored.count) == (58, 42, 58)
    [withheld] = publish_retreatment([_curve(20, [(day, 1, 0) for day in range(1, 15)] + [(90, 0, 6)])]).rows
    assert (withheld.steps, withheld.median_days, withheld.events.count, withheld.censored.count) == (
        (),
        None,
        None,
        None,
    )
    assert published.method is RETREATMENT


def test_the_minimum_cell_size_and_k_are_at_least_one() -> None:
    assert (MinimumCell().value, MinimumK().value) == (11, 5)
    with pytest.raises(FieldError):
        MinimumCell(0)
    with pytest.raises(FieldError):
        MinimumK(0)


def test_an_export_with_a_class_of_four_is_refused_at_k_five_naming_the_numbers_not_the_patients() -> None:
    rows = [("40-49", "female", "chronic-migraine")] * 12 + [("90+", "male", "sialorrhea")] * 4
    report = k_anonymity(rows)
    assert (report.records, report.classes, report.smallest) == (16, 2, 4)
    with pytest.raises(ExportRefused) as refused:
        check_k(report, MinimumK(5))
    assert "fewer than k = 5 records (the smallest by 4)" in refused.value.reason
    assert not {"90+", "male", "sialorrhea"} & set(re.split(r"[ ,;()]+", refused.value.reason))
    check_k(report, MinimumK(4))
    assert report.to_mapping(MinimumK(5))["classes_under_k"] == 1
    check_k(k_anonymity([]))


# -- de-identification


@given(st.binary(min_size=16, max_size=64), st.text(max_size=12))
def test_a_date_offset_is_one_to_52_whole_weeks_back_and_the_same_for_the_same_secret_and_patient(
    secret: bytes, key: str
) -> None:
    offset = date_offset(secret, key)
    assert -364 <= offset <= -7
    assert offset % 7 == 0  # a moved date keeps its weekday
    assert date_offset(secret, key) == offset


@given(st.binary(min_size=16, max_size=64), st.text(max_size=12), st.dates(date(2000, 1, 1), date(2100, 1, 1)))
def test_the_horizon_moved_back_by_a_patients_offset_is_a_day_of_the_year_before_the_export(
    secret: bytes, key: str, today: date
) -> None:
    last_day = export_horizon(today) - timedelta(days=date_offset(secret, key))
    assert today - timedelta(days=358) <= last_day <= today - timedelta(days=1)


def test_two_exports_shift_most_patients_differently() -> None:
    other = bytes(range(1, 33))
    keys = [str(key) for key in range(300)]
    differing = sum(date_offset(SECRET, key) != date_offset(other, key) for key in keys)
    assert differing >= 285  # the same offset by chance once in 52: about 294 of 300 differ
    assert len({date_offset(SECRET, key) for key in keys}) >= 50  # nearly every one of the 52 weeks drawn


def test_a_pseudonym_is_the_site_code_and_16_hex_characters_drawn_from_the_export_secret() -> None:
    first = pseudonym(SECRET, "BERLIN-1", "42")
    assert re.fullmatch(r"BERLIN-1-[0-9a-f]{16}", first)
    assert pseudonym(SECRET, "BERLIN-1", "42") == first
    assert pseudonym(bytes(range(1, 33)), "BERLIN-1", "42") != first
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pseudonym(b"short", "BERLIN-1", "42")


@pytest.mark.parametrize(
    ("born", "on", "band"),
    [
        (date(2010, 6, 1), date(2028, 5, 31), "0-17"),
        (date(2010, 6, 1), date(2028, 6, 1), "18-29"),
        (date(1985, 1, 1), date(2025, 1, 1), "40-49"),
        (date(1935, 3, 2), date(2025, 3, 1), "80-89"),
        (date(1935, 3, 1), date(2025, 3, 1), "90+"),
        (date(1920, 1, 1), date(2025, 1, 1), "90+"),
        (date(2004, 2, 29), date(2022, 2, 28), "0-17"),
        (date(2004, 2, 29), date(2022, 3, 1), "18-29"),
    ],
)
def test_age_band_on_a_day_groups_every_age_over_89(born: date, on: date, band: str) -> None:
    assert age_band(born, on) == band


@pytest.mark.parametrize("raw", ["A", "-AB", "AB-", "AB CD", "ÄB", "X" * 21, ""])
def test_a_site_code_is_two_to_twenty_letters_digits_or_dashes(raw: str) -> None:
    with pytest.raises(FieldError) as refused:
        site_code(raw)
    assert refused.value.field == "site"


def test_site_codes_are_read_in_upper_case() -> None:
    assert site_code(" berlin-1 ") == "BERLIN-1"
    assert site_code("X" * 20) == "X" * 20


def test_each_of_safe_harbors_18_identifiers_says_how_bont_treats_it() -> None:
    assert [identifier.paragraph for identifier in SAFE_HARBOR] == list("ABCDEFGHIJKLMNOPQR")
    assert all(identifier.treatment for identifier in SAFE_HARBOR)


def test_each_analysis_method_defines_its_terms_and_cites_its_statistics() -> None:
    assert [bool(method.definitions) for method in METHODS] == [True] * 7
    assert "J Am Stat Assoc 1927;22:209–212" in RESPONDERS.citations[0]
    assert any("1958;53:457–481" in citation for citation in RETREATMENT.citations)
    assert any("Greenwood" in citation for citation in RETREATMENT.citations)
    assert ResponderCycle("a", "b", "c", 1, 3, 2, 9).judged == 5
    assert AdverseEventRate("ptosis", False, 0, 0).per_100_sessions is None
