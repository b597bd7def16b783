"""Responder status and continuation rules are right at their thresholds, on both sides of each."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bont.domain.outcomes import (
    ContinuationAdvice,
    Direction,
    Instrument,
    Measurement,
    ResponderDefinition,
    ResponderStatus,
    Score,
    assign_cycles,
    change_from_baseline,
    combined_advice,
    evaluate_continuation,
    meets_percent,
    percent_improvement,
    responder_status,
    score,
)
from tests.unit.outcome_builders import (
    ECKARDT,
    ECKARDT_AT_MOST_3,
    FISSURE,
    FISSURE_HEALED,
    GAS,
    GAS_AT_LEAST_50,
    HDSS,
    HDSS_2_GRADES,
    HEADACHE_DAYS,
    HEADACHE_DAYS_50,
    MAS,
    MAS_1_GRADE,
    NICE_EPISODIC,
    NICE_TWO_CYCLES,
    TWSTRS,
    TWSTRS_8,
    UI_50,
    UI_DRY,
    UI_PER_DAY,
)

FIRST = date(2026, 1, 10)
SECOND = FIRST + timedelta(weeks=12)
THIRD = SECOND + timedelta(weeks=12)


def at(on: date, instrument: Instrument, raw: object) -> Measurement:
    return Measurement(on, score(instrument, raw))


def cycle_one(
    definition: ResponderDefinition, instrument: Instrument, baseline: object, follow_up: object
) -> ResponderStatus:
    measurements = [
        at(FIRST - timedelta(days=1), instrument, baseline),
        at(FIRST + timedelta(weeks=8), instrument, follow_up),
    ]
    (verdict,) = responder_status(definition, instrument, [FIRST], measurements)
    return verdict.status


RESPONDER, NON_RESPONDER, NOT_ASSESSABLE = (
    ResponderStatus.RESPONDER,
    ResponderStatus.NON_RESPONDER,
    ResponderStatus.NOT_ASSESSABLE,
)

# -- cycles


def test_a_measurement_on_the_first_session_day_is_the_baseline() -> None:
    measurements = [
        at(FIRST - timedelta(days=30), HEADACHE_DAYS, "20"),
        at(FIRST, HEADACHE_DAYS, "19"),
        at(FIRST + timedelta(days=1), HEADACHE_DAYS, "15"),
        at(SECOND, HEADACHE_DAYS, "12"),
        at(SECOND + timedelta(days=1), HEADACHE_DAYS, "10"),
        at(THIRD + timedelta(days=400), HEADACHE_DAYS, "8"),
    ]
    cycles = [a.cycle for a in assign_cycles([SECOND, FIRST, THIRD], measurements)]
    assert cycles == [0, 0, 1, 1, 2, 3]


def test_a_diary_period_that_contains_a_session_belongs_to_no_cycle() -> None:
    straddling = Measurement(
        SECOND + timedelta(days=10), Score("headache-days", Decimal(12)), SECOND - timedelta(days=17)
    )
    ending_on_session = Measurement(SECOND, Score("headache-days", Decimal(12)), SECOND - timedelta(days=27))
    first, second = assign_cycles([FIRST, SECOND], [straddling, ending_on_session])
    assert first.cycle is None
    assert "contains a session" in (first.reason or "")
    assert second.cycle == 1


def test_each_cycle_is_judged_on_its_last_measurement_and_every_cycle_gets_a_verdict() -> None:
    measurements = [
        at(FIRST - timedelta(days=1), HEADACHE_DAYS, "20"),
        at(FIRST + timedelta(weeks=4), HEADACHE_DAYS, "8"),
        at(SECOND, HEADACHE_DAYS, "12"),  # end of cycle 1, before the second injection
        at(THIRD, HEADACHE_DAYS, "9"),
    ]
    verdicts = responder_status(HEADACHE_DAYS_50, HEADACHE_DAYS, [FIRST, SECOND, THIRD], measurements)
    assert [(v.cycle, v.status) for v in verdicts] == [(1, NON_RESPONDER), (2, RESPONDER), (3, NOT_ASSESSABLE)]
    assert verdicts[0].change == Decimal("40.0")
    assert "no HEADACHE-DAYS measurement in cycle 3" in verdicts[2].reason


# -- headache days: ≥50% reduction


def test_exactly_50_percent_fewer_headache_days_is_a_responder() -> None:
    assert cycle_one(HEADACHE_DAYS_50, HEADACHE_DAYS, "20", "10") is RESPONDER


def test_49_9_percent_fewer_headache_days_is_not_a_responder() -> None:
    assert cycle_one(HEADACHE_DAYS_50, HEADACHE_DAYS, "20", "10.02") is NON_RESPONDER
    # 49.95%: shown rounded down as 49.9%, never as a passing 50.0%.
    measurements = [at(FIRST, HEADACHE_DAYS, "20"), at(SECOND, HEADACHE_DAYS, "10.01")]
    (verdict,) = responder_status(HEADACHE_DAYS_50, HEADACHE_DAYS, [FIRST], measurements)
    assert verdict.status is NON_RESPONDER
    assert verdict.change == Decimal("49.9")


def test_a_verdict_carries_its_numbers_threshold_definition_and_citation() -> None:
    measurements = [at(FIRST, HEADACHE_DAYS, "18"), at(SECOND, HEADACHE_DAYS, "9")]
    (verdict,) = responder_status(HEADACHE_DAYS_50, HEADACHE_DAYS, [FIRST], measurements)
    assert verdict.baseline is not None
    assert verdict.baseline.score.value == Decimal(18)
    assert verdict.follow_up is not None
    assert verdict.follow_up.score.value == Decimal(9)
    assert verdict.change == Decimal("50.0")
    assert verdict.threshold == "≥ 50% better than baseline"
    assert verdict.definition is HEADACHE_DAYS_50
    assert verdict.citation.source.id == "test-source"
    assert verdict.verified
    assert "18 → 9: 50.0% better" in verdict.reason


def test_without_a_baseline_there_is_no_verdict_and_the_reason_says_so() -> None:
    measurements = [at(FIRST + timedelta(days=30), HEADACHE_DAYS, "5")]
    (verdict,) = responder_status(HEADACHE_DAYS_50, HEADACHE_DAYS, [FIRST], measurements)
    assert verdict.status is NOT_ASSESSABLE
    assert "baseline" in verdict.reason
    assert verdict.change is None


def test_a_baseline_of_zero_cannot_give_a_percent_reduction() -> None:
    assert cycle_one(HEADACHE_DAYS_50, HEADACHE_DAYS, "0", "0") is NOT_ASSESSABLE


def test_more_headache_days_than_at_baseline_is_reported_as_worse() -> None:
    measurements = [at(FIRST, HEADACHE_DAYS, "16"), at(SECOND, HEADACHE_DAYS, "20")]
    (verdict,) = responder_status(HEADACHE_DAYS_50, HEADACHE_DAYS, [FIRST], measurements)
    assert verdict.status is NON_RESPONDER
    assert verdict.change == Decimal("-25.0")
    assert "25.0% worse" in verdict.reason


# -- HDSS: ≥2-grade improvement


def test_a_one_grade_hdss_improvement_is_not_a_responder() -> None:
    assert cycle_one(HDSS_2_GRADES, HDSS, "4", "3") is NON_RESPONDER
    assert cycle_one(HDSS_2_GRADES, HDSS, "3", "2") is NON_RESPONDER


def test_a_two_grade_hdss_improvement_is_a_responder() -> None:
    assert cycle_one(HDSS_2_GRADES, HDSS, "4", "2") is RESPONDER
    assert cycle_one(HDSS_2_GRADES, HDSS, "3", "1") is RESPONDER
    assert cycle_one(HDSS_2_GRADES, HDSS, "4", "1") is RESPONDER


def test_a_worse_hdss_grade_is_not_a_responder() -> None:
    assert cycle_one(HDSS_2_GRADES, HDSS, "2", "4") is NON_RESPONDER


# -- Modified Ashworth: the ≥1-grade rule is unverified and says so


def test_modified_ashworth_2_to_1_plus_is_one_grade_better_and_flagged_unverified() -> None:
    measurements = [at(FIRST, MAS, "2"), at(SECOND, MAS, "1+")]
    (verdict,) = responder_status(MAS_1_GRADE, MAS, [FIRST], measurements)
    assert verdict.status is RESPONDER
    assert verdict.change == Decimal(1)
    assert not verdict.verified
    assert "unverified" in verdict.reason
    assert cycle_one(MAS_1_GRADE, MAS, "1+", "1+") is NON_RESPONDER


# -- incontinence episodes: ≥50% and 100% (dry)


def test_half_the_incontinence_episodes_per_day_is_a_responder() -> None:
    assert cycle_one(UI_50, UI_PER_DAY, "4.00", "2.00") is RESPONDER
    assert cycle_one(UI_50, UI_PER_DAY, "3", "1.5") is RESPONDER


def test_just_over_half_the_incontinence_episodes_per_day_is_not_a_responder() -> None:
    assert cycle_one(UI_50, UI_PER_DAY, "4.00", "2.01") is NON_RESPONDER


def test_only_no_incontinence_episodes_at_all_counts_as_dry() -> None:
    assert cycle_one(UI_DRY, UI_PER_DAY, "3.33", "0") is RESPONDER
    assert cycle_one(UI_DRY, UI_PER_DAY, "3.33", "0.33") is NON_RESPONDER


# -- points, levels and healing


def test_a_twstrs_drop_of_8_points_is_a_responder_and_of_7_is_not() -> None:
    assert cycle_one(TWSTRS_8, TWSTRS, "40", "32") is RESPONDER
    assert cycle_one(TWSTRS_8, TWSTRS, "40", "33") is NON_RESPONDER


def test_a_twstrs_verdict_is_flagged_because_its_total_range_is_unverified() -> None:
    measurements = [at(FIRST, TWSTRS, "40"), at(SECOND, TWSTRS, "30")]
    (verdict,) = responder_status(TWSTRS_8, TWSTRS, [FIRST], measurements)
    assert verdict.unverified
    assert "TWSTRS's scoring or range is unverified" in verdict.reason


def test_an_eckardt_score_of_3_is_success_and_4_is_failure_without_needing_a_baseline() -> None:
    success = [at(SECOND, ECKARDT, [1, 1, 1, 0])]
    failure = [at(SECOND, ECKARDT, [1, 1, 1, 1])]
    assert responder_status(ECKARDT_AT_MOST_3, ECKARDT, [FIRST], success)[0].status is RESPONDER
    assert responder_status(ECKARDT_AT_MOST_3, ECKARDT, [FIRST], failure)[0].status is NON_RESPONDER


def test_a_gas_t_score_of_50_meets_the_goals_and_below_does_not() -> None:
    met = [Measurement(SECOND, Score(GAS.id, Decimal("50.00")))]
    missed = [Measurement(SECOND, Score(GAS.id, Decimal("49.99")))]
    assert responder_status(GAS_AT_LEAST_50, GAS, [FIRST], met)[0].status is RESPONDER
    (verdict,) = responder_status(GAS_AT_LEAST_50, GAS, [FIRST], missed)
    assert verdict.status is NON_RESPONDER
    assert "scoring or range is unverified" in verdict.reason


def test_a_healed_fissure_is_a_responder_and_an_unhealed_one_is_not() -> None:
    healed = [at(FIRST + timedelta(weeks=8), FISSURE, True)]
    unhealed = [at(FIRST + timedelta(weeks=8), FISSURE, False)]
    assert responder_status(FISSURE_HEALED, FISSURE, [FIRST], healed)[0].status is RESPONDER
    assert responder_status(FISSURE_HEALED, FISSURE, [FIRST], unhealed)[0].status is NON_RESPONDER


# -- continuation: NICE TA260


def nice_history(after_two_cycles: str) -> list[Measurement]:
    return [
        at(FIRST - timedelta(days=1), HEADACHE_DAYS, "20"),
        at(SECOND, HEADACHE_DAYS, "18"),
        at(THIRD, HEADACHE_DAYS, after_two_cycles),
    ]


def test_nice_stops_treatment_after_two_cycles_with_29_percent_fewer_headache_days() -> None:
    decision = evaluate_continuation(NICE_TWO_CYCLES, HEADACHE_DAYS, [FIRST, SECOND, THIRD], nice_history("14.2"))
    assert decision.advice is ContinuationAdvice.STOP
    assert decision.change == Decimal("29.0")
    assert decision.cycle == 2
    assert "less than 30%" in decision.reason


def test_nice_continues_treatment_after_two_cycles_with_exactly_30_percent_fewer_headache_days() -> None:
    decision = evaluate_continuation(NICE_TWO_CYCLES, HEADACHE_DAYS, [FIRST, SECOND, THIRD], nice_history("14"))
    assert decision.advice is ContinuationAdvice.CONTINUE
    assert decision.change == Decimal("30.0")
    assert decision.verified


def test_nice_does_not_judge_before_the_second_cycle() -> None:
    decision = evaluate_continuation(NICE_TWO_CYCLES, HEADACHE_DAYS, [FIRST], nice_history("20")[:2])
    assert decision.advice is ContinuationAdvice.NOT_YET


def test_nice_cannot_judge_without_a_baseline_or_a_second_cycle_measurement() -> None:
    no_baseline = nice_history("10")[1:]
    decision = evaluate_continuation(NICE_TWO_CYCLES, HEADACHE_DAYS, [FIRST, SECOND, THIRD], no_baseline)
    assert decision.advice is ContinuationAdvice.NOT_ASSESSABLE
    assert "baseline" in decision.reason
    decision = evaluate_continuation(NICE_TWO_CYCLES, HEADACHE_DAYS, [FIRST, SECOND, THIRD], nice_history("10")[:2])
    assert decision.advice is ContinuationAdvice.NOT_ASSESSABLE
    assert "cycle 2" in decision.reason


def test_a_clinic_may_configure_a_stricter_rule() -> None:
    payer = replace(NICE_TWO_CYCLES, id="payer-50", threshold=Decimal(50))
    decision = evaluate_continuation(payer, HEADACHE_DAYS, [FIRST, SECOND, THIRD], nice_history("14"))
    assert decision.advice is ContinuationAdvice.STOP


def diary_periods(start: date, values: list[str]) -> list[Measurement]:
    periods = []
    for index, value in enumerate(values):
        first = start + timedelta(days=28 * index)
        periods.append(Measurement(first + timedelta(days=27), Score("headache-days", Decimal(value)), first))
    return periods


def test_nice_stops_once_headache_days_stay_below_15_for_three_consecutive_months() -> None:
    # Four back-to-back 28-day diaries below 15 cover 112 days: more than 3 calendar months.
    periods = diary_periods(FIRST + timedelta(days=1), ["16", "14", "12", "10", "9"])
    decision = evaluate_continuation(NICE_EPISODIC, HEADACHE_DAYS, [FIRST], periods)
    assert decision.advice is ContinuationAdvice.STOP
    assert not decision.verified  # bont's per-28-day reading of "per month" is flagged
    assert "unverified" in decision.reason


def test_nice_continues_when_three_28_day_diaries_fall_short_of_three_months() -> None:
    periods = diary_periods(FIRST + timedelta(days=1), ["16", "14", "12", "10"])
    decision = evaluate_continuation(NICE_EPISODIC, HEADACHE_DAYS, [FIRST], periods)
    assert decision.advice is ContinuationAdvice.CONTINUE
    assert "fewer than 3 consecutive months" in decision.reason


def test_a_gap_in_the_diary_breaks_a_run_of_episodic_months() -> None:
    periods = diary_periods(FIRST + timedelta(days=1), ["14", "14"]) + diary_periods(
        FIRST + timedelta(days=1 + 28 * 2 + 7), ["14", "14"]
    )
    decision = evaluate_continuation(NICE_EPISODIC, HEADACHE_DAYS, [FIRST], periods)
    assert decision.advice is ContinuationAdvice.CONTINUE


def test_a_latest_diary_at_15_or_more_headache_days_continues() -> None:
    periods = diary_periods(FIRST + timedelta(days=1), ["10", "10", "10", "10", "15"])
    decision = evaluate_continuation(NICE_EPISODIC, HEADACHE_DAYS, [FIRST], periods)
    assert decision.advice is ContinuationAdvice.CONTINUE


def diaries_before_each_session(sessions: list[date], values: list[str], latest: date) -> list[Measurement]:
    """As bont keeps them: a 28-day diary summarised before each session (the first is the baseline) and
    over the latest 28 days, so the periods of successive cycles are weeks apart, never back to back."""
    ends = [*sessions, latest]
    return [
        Measurement(end, Score("headache-days", Decimal(value)), end - timedelta(days=27))
        for end, value in zip(ends, values, strict=True)
    ]


def test_nice_stops_after_twenty_months_below_15_headache_days_measured_once_per_cycle() -> None:
    sessions = [FIRST + timedelta(days=91 * n) for n in range(7)]
    latest = sessions[-1] + timedelta(days=60)
    periods = diaries_before_each_session(sessions, ["19", "7", "7", "7", "7", "7", "7", "7"], latest)
    decision = evaluate_continuation(NICE_EPISODIC, HEADACHE_DAYS, sessions, periods)
    assert decision.advice is ContinuationAdvice.STOP
    assert f"from {sessions[1] - timedelta(days=27)} to {latest}" in decision.reason
    assert "cycles 1 to 7" in decision.reason


def test_a_diary_summarised_again_before_a_new_session_keeps_the_run_of_episodic_cycles() -> None:
    # The latest 28 days were summarised yesterday; today's session summarises the diary again over the 28 days
    # before it: two overlapping periods in the last cycle, which cover the time between them.
    sessions = [FIRST + timedelta(days=91 * n) for n in range(7)]
    yesterday = sessions[-1] + timedelta(days=90)
    periods = diaries_before_each_session(sessions, ["19", *["7"] * 7], yesterday)
    today = yesterday + timedelta(days=1)
    again = Measurement(today, Score("headache-days", Decimal("7.26")), today - timedelta(days=27))
    decision = evaluate_continuation(NICE_EPISODIC, HEADACHE_DAYS, [*sessions, today], [*periods, again])
    assert decision.advice is ContinuationAdvice.STOP
    assert "cycles 1 to 7" in decision.reason


def test_one_cycle_below_15_headache_days_is_not_yet_three_months() -> None:
    sessions = [FIRST + timedelta(days=91 * n) for n in range(3)]
    periods = diaries_before_each_session(sessions, ["19", "16", "12", "12"], sessions[-1] + timedelta(days=30))
    decision = evaluate_continuation(NICE_EPISODIC, HEADACHE_DAYS, sessions, periods)
    assert decision.advice is ContinuationAdvice.CONTINUE
    assert "fewer than 3 consecutive months" in decision.reason


def test_a_cycle_without_a_diary_breaks_a_run_of_episodic_cycles() -> None:
    sessions = [FIRST + timedelta(days=91 * n) for n in range(4)]
    latest = sessions[-1] + timedelta(days=30)
    periods = diaries_before_each_session(sessions, ["19", "10", "10", "10", "10"], latest)
    del periods[2]  # cycle 2 was never measured: nothing says it stayed episodic
    decision = evaluate_continuation(NICE_EPISODIC, HEADACHE_DAYS, sessions, periods)
    assert decision.advice is ContinuationAdvice.CONTINUE
    assert "cycles 3 to 4" in decision.reason


def test_either_nice_stopping_rule_is_enough_to_advise_stopping() -> None:
    sessions = [FIRST + timedelta(days=91 * n) for n in range(7)]
    periods = diaries_before_each_session(sessions, ["19", *["7"] * 7], sessions[-1] + timedelta(days=60))
    decisions = [
        evaluate_continuation(rule, HEADACHE_DAYS, sessions, periods) for rule in (NICE_TWO_CYCLES, NICE_EPISODIC)
    ]
    assert [d.advice for d in decisions] == [ContinuationAdvice.CONTINUE, ContinuationAdvice.STOP]
    assert combined_advice(decisions) is ContinuationAdvice.STOP
    assert combined_advice(decisions[:1]) is ContinuationAdvice.CONTINUE
    assert combined_advice([]) is None


def test_the_change_from_baseline_reads_as_measured_then_how_much_better() -> None:
    assert (
        change_from_baseline(
            HEADACHE_DAYS, Score("headache-days", Decimal("19.00")), Score("headache-days", Decimal("7.00"))
        )
        == "-12 (63.1% better)"
    )
    assert (
        change_from_baseline(HEADACHE_DAYS, Score("headache-days", Decimal(10)), Score("headache-days", Decimal(12)))
        == "+2 (20.0% worse)"
    )
    assert change_from_baseline(HDSS, score(HDSS, "4"), score(HDSS, "2")) == "2 grade(s) better"
    assert (
        change_from_baseline(HEADACHE_DAYS, Score("headache-days", Decimal(0)), Score("headache-days", Decimal(3)))
        == "+3"
    )


# -- properties

baselines = st.decimals(min_value=Decimal("0.01"), max_value=100, places=2)
values = st.decimals(min_value=0, max_value=100, places=2)
thresholds = st.decimals(min_value=0, max_value=100, places=1)


@given(baselines, values, values)
def test_fewer_days_never_gives_a_smaller_percent_reduction(baseline: Decimal, a: Decimal, b: Decimal) -> None:
    low, high = min(a, b), max(a, b)
    better = percent_improvement(Direction.LOWER_IS_BETTER, baseline, low)
    worse = percent_improvement(Direction.LOWER_IS_BETTER, baseline, high)
    assert better is not None
    assert worse is not None
    assert better >= worse


@given(baselines, values, thresholds)
def test_the_threshold_comparison_is_exact(baseline: Decimal, follow_up: Decimal, threshold: Decimal) -> None:
    exact = (Fraction(baseline) - Fraction(follow_up)) * 100 / Fraction(baseline)
    assert meets_percent(Direction.LOWER_IS_BETTER, baseline, follow_up, threshold) is (exact >= Fraction(threshold))


@given(baselines, values, thresholds)
def test_the_percentage_shown_never_passes_a_threshold_the_exact_value_misses(
    baseline: Decimal, follow_up: Decimal, threshold: Decimal
) -> None:
    shown = percent_improvement(Direction.LOWER_IS_BETTER, baseline, follow_up)
    assert shown is not None
    assert (shown >= threshold) is meets_percent(Direction.LOWER_IS_BETTER, baseline, follow_up, threshold)


@given(baselines, values)
def test_higher_is_better_mirrors_lower_is_better(baseline: Decimal, follow_up: Decimal) -> None:
    down = percent_improvement(Direction.LOWER_IS_BETTER, baseline, follow_up)
    up = percent_improvement(Direction.HIGHER_IS_BETTER, baseline, baseline + (baseline - follow_up))
    assert down == up


def test_a_definition_for_another_instrument_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="is for headache-days"):
        responder_status(HEADACHE_DAYS_50, UI_PER_DAY, [FIRST], [])
