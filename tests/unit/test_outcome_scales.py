"""Outcome scales validate what is entered and score it as published: a wrong grade is an error, not a score."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bont.domain.errors import FieldError
from bont.domain.outcomes import (
    AcuteMedication,
    BladderDiaryDay,
    GoalRating,
    HeadacheDiaryDay,
    PainFeature,
    TardieuAngles,
    classify_day,
    score,
    summarise_bladder_diary,
    summarise_headache_diary,
)
from tests.unit.outcome_builders import (
    ECKARDT,
    FISSURE,
    GAS,
    HDSS,
    HIT6,
    MAS,
    NRS,
    PHQ9,
    SWEAT,
    TARDIEU,
    headache_rules,
)

# -- ordinal grades


def test_a_modified_ashworth_grade_of_5_is_an_error_not_a_score() -> None:
    with pytest.raises(FieldError) as raised:
        score(MAS, "5")
    assert raised.value.field == "grade"
    assert "0, 1, 1+, 2, 3, 4" in raised.value.problem


def test_modified_ashworth_1_plus_is_a_grade_of_its_own_not_one_and_a_half() -> None:
    result = score(MAS, "1+")
    assert result.grade == "1+"
    assert result.value is None
    assert result.rank == 2  # between "1" (rank 1) and "2" (rank 3)
    for number in (Decimal("1.5"), "1.5", 1.5):
        with pytest.raises(FieldError):
            score(MAS, number)


def test_modified_ashworth_accepts_every_grade_as_text_or_whole_number() -> None:
    assert [score(MAS, grade).rank for grade in ("0", "1", "1+", "2", "3", "4")] == [0, 1, 2, 3, 4, 5]
    assert score(MAS, 3).grade == "3"
    assert score(MAS, " 1+ ").grade == "1+"
    with pytest.raises(FieldError):
        score(MAS, True)


def test_hdss_grades_run_from_1_to_4_and_nothing_else() -> None:
    assert [score(HDSS, grade).grade for grade in ("1", "2", "3", "4")] == ["1", "2", "3", "4"]
    for wrong in ("0", "5", 0, 5, "", "severe"):
        with pytest.raises(FieldError):
            score(HDSS, wrong)


def test_a_healed_fissure_is_recorded_from_yes_or_no() -> None:
    assert score(FISSURE, True).grade == "healed"
    assert score(FISSURE, "no").grade == "not-healed"
    assert score(FISSURE, "healed").grade == "healed"
    with pytest.raises(FieldError):
        score(FISSURE, "maybe")


# -- free instruments scored from their items


def test_a_phq9_item_scored_4_is_refused_and_the_item_is_named() -> None:
    with pytest.raises(FieldError) as raised:
        score(PHQ9, [0, 0, 0, 4, 0, 0, 0, 0, 0])
    assert raised.value.field == "items.item-4"
    assert "0–3" in raised.value.problem


@pytest.mark.parametrize(
    ("items", "total", "band"),
    [
        ([0] * 9, 0, "none or minimal"),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "none or minimal"),
        ([1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild"),
        ([1] * 9, 9, "mild"),
        ([2, 2, 2, 2, 2, 0, 0, 0, 0], 10, "moderate"),
        ([3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately severe"),
        ([3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "severe"),
        ([3] * 9, 27, "severe"),
    ],
)
def test_phq9_total_is_the_sum_of_nine_items_with_its_severity_band(items: list[int], total: int, band: str) -> None:
    result = score(PHQ9, items)
    assert result.value == Decimal(total)
    assert result.band == band
    assert len(result.items) == 9


def test_phq9_needs_all_nine_items() -> None:
    with pytest.raises(FieldError, match="9 items"):
        score(PHQ9, [1] * 8)
    answers = {f"item-{n}": 1 for n in range(1, 9)}
    with pytest.raises(FieldError) as raised:
        score(PHQ9, answers)
    assert raised.value.field == "items.item-9"


def test_phq9_items_may_be_given_by_key_and_an_unknown_key_is_refused() -> None:
    answers = {f"item-{n}": 2 for n in range(1, 10)}
    assert score(PHQ9, answers).value == Decimal(18)
    with pytest.raises(FieldError) as raised:
        score(PHQ9, {**answers, "item-10": 1})
    assert raised.value.field == "items.item-10"


def test_an_eckardt_score_sums_four_symptoms_to_a_total_of_at_most_12() -> None:
    result = score(ECKARDT, {"weight-loss": 1, "dysphagia": 2, "retrosternal-pain": 0, "regurgitation": 0})
    assert result.value == Decimal(3)
    assert result.band == "clinical success"
    assert score(ECKARDT, [3, 3, 3, 3]).band == "treatment failure"
    with pytest.raises(FieldError) as raised:
        score(ECKARDT, [0, 0, 0, -1])
    assert raised.value.field == "items.regurgitation"


# -- totals and measurements


def test_a_licensed_total_is_accepted_only_within_its_valid_range() -> None:
    assert score(HIT6, 36).value == Decimal(36)
    assert score(HIT6, "78").value == Decimal(78)
    for outside in (35, 79, "0"):
        with pytest.raises(FieldError) as raised:
            score(HIT6, outside)
        assert "36–78" in raised.value.problem


def test_a_whole_number_scale_refuses_a_fraction() -> None:
    with pytest.raises(FieldError, match="whole number"):
        score(HIT6, "50.5")
    with pytest.raises(FieldError, match="whole number"):
        score(NRS, Decimal("6.5"))


def test_binary_floats_are_refused_everywhere() -> None:
    for instrument in (NRS, HIT6, SWEAT):
        with pytest.raises(FieldError, match="float"):
            score(instrument, 5.0)


def test_a_pain_rating_runs_from_0_to_10() -> None:
    assert score(NRS, 0).value == Decimal(0)
    assert score(NRS, 10).value == Decimal(10)
    for outside in (-1, 11, "ten"):
        with pytest.raises(FieldError):
            score(NRS, outside)


def test_gravimetric_sweat_is_milligrams_per_five_minutes_and_cannot_be_negative() -> None:
    assert score(SWEAT, "152.5").value == Decimal("152.5")
    with pytest.raises(FieldError, match="0 or more mg per 5 min"):
        score(SWEAT, "-1")
    with pytest.raises(FieldError, match="finite"):
        score(SWEAT, "NaN")


def test_errors_name_the_field_and_never_repeat_the_value_entered() -> None:
    with pytest.raises(FieldError) as raised:
        score(HIT6, "9137", field="outcomes.3.value")
    assert raised.value.field == "outcomes.3.value"
    assert "9137" not in str(raised.value)


# -- Tardieu and Goal Attainment Scaling


def test_tardieu_scores_the_dynamic_component_r2_minus_r1() -> None:
    result = score(TARDIEU, TardieuAngles(Decimal(70), Decimal(110)))
    assert result.value == Decimal(40)
    assert dict(result.parts) == {"r1": Decimal(70), "r2": Decimal(110)}
    assert score(TARDIEU, {"r1": "90", "r2": "90"}).value == Decimal(0)


def test_a_tardieu_catch_beyond_the_full_range_is_refused() -> None:
    with pytest.raises(FieldError) as raised:
        score(TARDIEU, {"r1": 120, "r2": 100})
    assert raised.value.field == "angles.r1"
    with pytest.raises(FieldError) as raised:
        score(TARDIEU, {"r1": 10, "r2": 181})
    assert raised.value.field == "angles.r2"


def test_gas_t_score_is_50_when_every_goal_is_met_as_expected() -> None:
    assert score(GAS, [0, 0, 0]).value == Decimal("50.00")
    assert score(GAS, [1, -1]).value == Decimal("50.00")


def test_gas_t_score_follows_the_kiresuk_sherman_formula() -> None:
    # One goal at −2: 50 + 10·(−2)/√(0.7 + 0.3) = 30.
    assert score(GAS, [-2]).value == Decimal("30.00")
    # Two goals at +1: 50 + 10·2/√(0.7·2 + 0.3·4) = 50 + 20/√2.6 = 62.403…
    assert score(GAS, [1, 1]).value == Decimal("62.40")
    # Weights: +2 weighted 2 and −1 weighted 1: Σwx = 3, √(0.7·5 + 0.3·9) = √6.2, T = 62.048…
    assert score(GAS, [GoalRating(2, Decimal(2)), GoalRating(-1)]).value == Decimal("62.05")


def test_a_gas_attainment_outside_minus_2_to_plus_2_is_refused() -> None:
    with pytest.raises(FieldError) as raised:
        score(GAS, [0, 3])
    assert raised.value.field == "goals.1.attainment"
    with pytest.raises(FieldError):
        score(GAS, [])
    with pytest.raises(FieldError) as raised:
        score(GAS, [GoalRating(1, Decimal(0))])
    assert raised.value.field == "goals.0.weight"


# -- headache diary


def migraine_attack(day: date, minutes: int = 300) -> HeadacheDiaryDay:
    return HeadacheDiaryDay(
        day,
        headache_minutes=minutes,
        features=frozenset({PainFeature.UNILATERAL, PainFeature.PULSATING}),
        nausea_or_vomiting=True,
    )


def test_a_four_hour_headache_with_two_features_and_nausea_is_a_migraine_day() -> None:
    kind = classify_day(migraine_attack(date(2026, 1, 5), minutes=240), headache_rules())
    assert kind.headache_day
    assert kind.migraine_day
    assert not kind.acute_medication_day


def test_a_headache_one_minute_short_of_the_duration_rule_is_not_a_headache_day() -> None:
    short = migraine_attack(date(2026, 1, 5), minutes=239)
    assert not classify_day(short, headache_rules()).headache_day
    assert not classify_day(short, headache_rules()).migraine_day
    # The 30-minute rule of the e-diary study, configured instead, counts it.
    assert classify_day(short, headache_rules(min_headache_minutes=30)).migraine_day


def test_photophobia_alone_does_not_make_a_migraine_day_but_with_phonophobia_it_does() -> None:
    base = HeadacheDiaryDay(
        date(2026, 1, 5), 300, frozenset({PainFeature.MODERATE_OR_SEVERE, PainFeature.AGGRAVATED_BY_ACTIVITY})
    )
    with_light = HeadacheDiaryDay(base.day, base.headache_minutes, base.features, photophobia=True)
    with_both = HeadacheDiaryDay(base.day, base.headache_minutes, base.features, photophobia=True, phonophobia=True)
    assert not classify_day(with_light, headache_rules()).migraine_day
    assert classify_day(with_both, headache_rules()).migraine_day


def test_one_pain_feature_is_not_enough_for_a_migraine_day() -> None:
    day = HeadacheDiaryDay(date(2026, 1, 5), 300, frozenset({PainFeature.PULSATING}), nausea_or_vomiting=True)
    kind = classify_day(day, headache_rules())
    assert kind.headache_day
    assert not kind.migraine_day


def test_a_headache_day_treated_with_a_triptan_is_a_migraine_day_and_an_acute_medication_day() -> None:
    day = HeadacheDiaryDay(date(2026, 1, 5), 300, acute_medication=AcuteMedication.MIGRAINE_SPECIFIC)
    kind = classify_day(day, headache_rules())
    assert kind.migraine_day
    assert kind.acute_medication_day
    simple = HeadacheDiaryDay(date(2026, 1, 5), 300, acute_medication=AcuteMedication.OTHER)
    assert not classify_day(simple, headache_rules()).migraine_day
    assert classify_day(simple, headache_rules()).acute_medication_day


def test_visual_aura_of_5_to_60_minutes_makes_a_migraine_day_without_a_headache_day() -> None:
    for minutes, migraine in ((4, False), (5, True), (60, True), (61, False)):
        kind = classify_day(HeadacheDiaryDay(date(2026, 1, 5), aura_minutes=minutes), headache_rules())
        assert kind.migraine_day is migraine, minutes
        assert not kind.headache_day


def test_a_28_day_diary_counts_headache_migraine_and_medication_days() -> None:
    start = date(2026, 1, 1)
    entries = [HeadacheDiaryDay(start + timedelta(days=n)) for n in range(28)]
    for n in range(0, 20):
        entries[n] = migraine_attack(start + timedelta(days=n))
    for n in range(20, 24):
        entries[n] = HeadacheDiaryDay(start + timedelta(days=n), 300, acute_medication=AcuteMedication.OTHER)
    summary = summarise_headache_diary(entries, start, start + timedelta(days=27), headache_rules())
    assert (summary.headache_days, summary.migraine_days, summary.acute_medication_days) == (24, 20, 4)
    assert summary.headache_days_per_28 == Decimal(24)
    assert [s.value for s in summary.scores()] == [Decimal(24), Decimal(20), Decimal(4)]
    assert summary.days_missing == 0


def test_a_diary_with_missing_days_is_normalised_to_28_days_over_the_days_recorded() -> None:
    start = date(2026, 1, 1)
    entries = [
        migraine_attack(start + timedelta(days=n)) if n < 10 else HeadacheDiaryDay(start + timedelta(days=n))
        for n in range(21)
    ]
    summary = summarise_headache_diary(entries, start, start + timedelta(days=27), headache_rules())
    assert summary.days_missing == 7
    assert summary.headache_days_per_28 == Decimal("13.33")  # 10 × 28 / 21, half-even to 0.01


def test_a_diary_day_recorded_twice_or_outside_the_period_is_an_error() -> None:
    start = date(2026, 1, 1)
    with pytest.raises(FieldError) as raised:
        summarise_headache_diary([HeadacheDiaryDay(start), HeadacheDiaryDay(start)], start, start, headache_rules())
    assert raised.value.field == "entries.1.day"
    with pytest.raises(FieldError) as raised:
        summarise_headache_diary([HeadacheDiaryDay(date(2026, 2, 1))], start, start, headache_rules())
    assert raised.value.field == "entries.0.day"


# -- bladder diary


def test_a_three_day_bladder_diary_gives_incontinence_episodes_and_voids_per_day() -> None:
    days = [
        BladderDiaryDay(date(2026, 3, 1), voids=12, incontinence_episodes=3),
        BladderDiaryDay(date(2026, 3, 2), voids=10, incontinence_episodes=2),
        BladderDiaryDay(date(2026, 3, 3), voids=11, incontinence_episodes=2),
    ]
    summary = summarise_bladder_diary(days)
    assert summary.incontinence_episodes_per_day == Decimal("2.33")
    assert summary.voids_per_day == Decimal("11.00")
    assert summary.consecutive
    assert [s.instrument for s in summary.scores()] == ["ui-episodes-per-day", "voids-per-day"]


def test_a_bladder_diary_refuses_negative_counts_and_repeated_days() -> None:
    with pytest.raises(FieldError) as raised:
        summarise_bladder_diary([BladderDiaryDay(date(2026, 3, 1), voids=-1, incontinence_episodes=0)])
    assert raised.value.field == "entries.0.voids"
    same = BladderDiaryDay(date(2026, 3, 1), voids=8, incontinence_episodes=1)
    with pytest.raises(FieldError):
        summarise_bladder_diary([same, same])


def test_a_diary_becomes_measurements_of_its_period() -> None:
    start = date(2026, 1, 1)
    entries = [HeadacheDiaryDay(start + timedelta(days=n), 300) for n in range(28)]
    summary = summarise_headache_diary(entries, start, start + timedelta(days=27), headache_rules())
    measurements = summary.measurements()
    assert [m.score.instrument for m in measurements] == ["headache-days", "migraine-days", "acute-medication-days"]
    assert {(m.period_start, m.on) for m in measurements} == {(start, start + timedelta(days=27))}
