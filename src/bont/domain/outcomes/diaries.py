"""Diaries: headache days, migraine days and acute-medication days; bladder diary episodes and voids.

Headache diary (one row per calendar day). A *headache day* has headache lasting at least
``min_headache_minutes`` (default 4 hours, the BOTOX label's chronic-migraine population; 30 minutes is
the alternative studied in the e-diary work). A *migraine day* follows the e-diary operationalisation of
the ICHD-3 migraine criteria: a headache day with at least two of the four pain features and nausea or
vomiting or both photophobia and phonophobia; or a day with visual aura of 5–60 minutes; or a headache
day treated with a migraine-specific acute medicine (triptan or ergot), whatever its effect. An
*acute-medication day* is any day an acute headache medicine was taken. Counts are normalised to 28 days
(the PREEMPT/COMPEL counting period) over the days actually recorded. Each threshold is a cited figure
in ``instruments.yaml`` (``headache_day_rules``), so a clinic can change it.

Bladder diary: involuntary leaks (urinary incontinence episodes) and voids per day, as the mean over the
diary's days (usually 3 consecutive days before the visit).

Rates are recorded rounded to 0.01, half-even; a full 28-day headache diary gives whole counts exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from bont.domain.errors import FieldError
from bont.domain.evidence import Cited
from bont.domain.outcomes.instruments import HUNDREDTH, Score
from bont.domain.outcomes.responders import Measurement

PERIOD_DAYS = 28


class PainFeature(StrEnum):
    UNILATERAL = "unilateral"
    PULSATING = "pulsating"
    MODERATE_OR_SEVERE = "moderate-or-severe"
    AGGRAVATED_BY_ACTIVITY = "aggravated-by-activity"


class AcuteMedication(StrEnum):
    NONE = "none"
    MIGRAINE_SPECIFIC = "migraine-specific"  # a triptan or an ergot
    OTHER = "other"  # a simple analgesic, NSAID or combination analgesic


@dataclass(frozen=True)
class HeadacheDiaryDay:
    """One calendar day of a headache diary (a day without headache is recorded too)."""

    day: date
    headache_minutes: int = 0
    features: frozenset[PainFeature] = frozenset()
    nausea_or_vomiting: bool = False
    photophobia: bool = False
    phonophobia: bool = False
    aura_minutes: int = 0  # visual aura
    acute_medication: AcuteMedication = AcuteMedication.NONE


@dataclass(frozen=True)
class HeadacheDayRules:
    """The cited thresholds that classify a diary day; a clinic may load its own."""

    min_headache_minutes: Cited[int]
    min_pain_features: Cited[int]
    min_aura_minutes: Cited[int]
    max_aura_minutes: Cited[int]
    migraine_specific_medication_makes_migraine_day: Cited[bool]


@dataclass(frozen=True)
class DayClass:
    headache_day: bool
    migraine_day: bool
    acute_medication_day: bool


def classify_day(entry: HeadacheDiaryDay, rules: HeadacheDayRules, field: str = "day") -> DayClass:
    """Whether one diary day is a headache day, a migraine day and an acute-medication day."""
    if entry.headache_minutes < 0 or entry.headache_minutes > 24 * 60:
        raise FieldError(f"{field}.headache_minutes", "must be 0–1440 minutes in one day")
    if entry.aura_minutes < 0 or entry.aura_minutes > 24 * 60:
        raise FieldError(f"{field}.aura_minutes", "must be 0–1440 minutes in one day")
    if entry.headache_minutes == 0 and entry.features:
        raise FieldError(f"{field}.features", "pain features are recorded only on a day with headache")
    headache = entry.headache_minutes >= rules.min_headache_minutes.value
    migrainous = (
        headache
        and len(entry.features) >= rules.min_pain_features.value
        and (entry.nausea_or_vomiting or (entry.photophobia and entry.phonophobia))
    )
    aura = rules.min_aura_minutes.value <= entry.aura_minutes <= rules.max_aura_minutes.value
    treated = (
        headache
        and rules.migraine_specific_medication_makes_migraine_day.value
        and entry.acute_medication is AcuteMedication.MIGRAINE_SPECIFIC
    )
    return DayClass(
        headache_day=headache,
        migraine_day=migrainous or aura or treated,
        acute_medication_day=entry.acute_medication is not AcuteMedication.NONE,
    )


def per_period(count: int, days_recorded: int, period: int = PERIOD_DAYS) -> Decimal:
    """A count over ``days_recorded`` days as a rate per ``period`` days, rounded to 0.01 half-even."""
    if days_recorded <= 0:
        raise ValueError("no days recorded")
    return (Decimal(count) * period / days_recorded).quantize(HUNDREDTH, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class HeadacheDiarySummary:
    """Headache, migraine and acute-medication days over one diary period, and their 28-day rates."""

    start: date
    end: date
    days_recorded: int
    headache_days: int
    migraine_days: int
    acute_medication_days: int

    @property
    def days_in_period(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def days_missing(self) -> int:
        return self.days_in_period - self.days_recorded

    @property
    def headache_days_per_28(self) -> Decimal:
        return per_period(self.headache_days, self.days_recorded)

    @property
    def migraine_days_per_28(self) -> Decimal:
        return per_period(self.migraine_days, self.days_recorded)

    @property
    def acute_medication_days_per_28(self) -> Decimal:
        return per_period(self.acute_medication_days, self.days_recorded)

    def scores(self) -> tuple[Score, Score, Score]:
        """The three diary counts as scores of ``headache-days``, ``migraine-days`` and ``acute-medication-days``."""
        return (
            Score("headache-days", value=self.headache_days_per_28),
            Score("migraine-days", value=self.migraine_days_per_28),
            Score("acute-medication-days", value=self.acute_medication_days_per_28),
        )

    def measurements(self) -> tuple[Measurement, ...]:
        """The three scores as measurements of the diary period, ready to be assigned to a cycle."""
        return tuple(Measurement(self.end, each, self.start) for each in self.scores())


def summarise_headache_diary(
    entries: Iterable[HeadacheDiaryDay],
    start: date,
    end: date,
    rules: HeadacheDayRules,
    field: str = "entries",
) -> HeadacheDiarySummary:
    """Count the diary's headache, migraine and acute-medication days from ``start`` to ``end`` inclusive.

    Days not recorded are reported as missing and left out of the 28-day rate; a day recorded twice or
    outside the period is an error.
    """
    if end < start:
        raise FieldError(f"{field}.end", "the diary period ends before it starts")
    seen: set[date] = set()
    headache = migraine = medication = 0
    for index, entry in enumerate(entries):
        where = f"{field}.{index}"
        if not start <= entry.day <= end:
            raise FieldError(f"{where}.day", "lies outside the diary period")
        if entry.day in seen:
            raise FieldError(f"{where}.day", "this day is already recorded")
        seen.add(entry.day)
        kind = classify_day(entry, rules, where)
        headache += kind.headache_day
        migraine += kind.migraine_day
        medication += kind.acute_medication_day
    if not seen:
        raise FieldError(field, "no diary day is recorded in the period")
    return HeadacheDiarySummary(start, end, len(seen), headache, migraine, medication)


@dataclass(frozen=True)
class BladderDiaryDay:
    day: date
    voids: int
    incontinence_episodes: int


@dataclass(frozen=True)
class BladderDiarySummary:
    start: date
    end: date
    days_recorded: int
    voids: int
    incontinence_episodes: int

    @property
    def consecutive(self) -> bool:
        """Whether the recorded days are consecutive (the bladder-diary endpoint uses consecutive days)."""
        return (self.end - self.start).days + 1 == self.days_recorded

    @property
    def incontinence_episodes_per_day(self) -> Decimal:
        return per_period(self.incontinence_episodes, self.days_recorded, period=1)

    @property
    def voids_per_day(self) -> Decimal:
        return per_period(self.voids, self.days_recorded, period=1)

    def scores(self) -> tuple[Score, Score]:
        """The diary as scores of ``ui-episodes-per-day`` and ``voids-per-day``."""
        return (
            Score("ui-episodes-per-day", value=self.incontinence_episodes_per_day),
            Score("voids-per-day", value=self.voids_per_day),
        )

    def measurements(self) -> tuple[Measurement, ...]:
        """The two scores as measurements of the diary period, ready to be assigned to a cycle."""
        return tuple(Measurement(self.end, each, self.start) for each in self.scores())


def summarise_bladder_diary(entries: Iterable[BladderDiaryDay], field: str = "entries") -> BladderDiarySummary:
    """Mean incontinence episodes and voids per day over the diary's days."""
    days: dict[date, BladderDiaryDay] = {}
    for index, entry in enumerate(entries):
        where = f"{field}.{index}"
        if entry.day in days:
            raise FieldError(f"{where}.day", "this day is already recorded")
        if entry.voids < 0:
            raise FieldError(f"{where}.voids", "cannot be negative")
        if entry.incontinence_episodes < 0:
            raise FieldError(f"{where}.incontinence_episodes", "cannot be negative")
        days[entry.day] = entry
    if not days:
        raise FieldError(field, "no diary day is recorded")
    return BladderDiarySummary(
        start=min(days),
        end=max(days),
        days_recorded=len(days),
        voids=sum(entry.voids for entry in days.values()),
        incontinence_episodes=sum(entry.incontinence_episodes for entry in days.values()),
    )
