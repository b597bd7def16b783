"""Small outcome instruments and definitions for the unit tests, built in code (no knowledge files).

They mirror the shipped instruments.yaml in the figures that matter to each test; the integration test
tests/integration/test_instruments_knowledge.py checks the shipped data itself.
"""

from __future__ import annotations

from decimal import Decimal

from bont.domain.evidence import Citation, Cited, Grade, Source, SourceKind
from bont.domain.outcomes import (
    Band,
    ContinuationKind,
    ContinuationRule,
    Direction,
    HeadacheDayRules,
    Instrument,
    InstrumentKind,
    Item,
    Licence,
    LicenceStatus,
    ResponderDefinition,
    ResponderRule,
)

SOURCE = Source("test-source", SourceKind.STUDY, "A test source")
STUDY = Citation(SOURCE, Grade.STUDY)
UNVERIFIED = Citation(SOURCE, Grade.UNVERIFIED)
FREE = Licence(LicenceStatus.FREE, "free to use", STUDY)
LICENSED = Licence(LicenceStatus.LICENSED, "licence needed: total only", STUDY)
UNCONFIRMED = Licence(LicenceStatus.UNCONFIRMED, "licence not confirmed: grade only", UNVERIFIED)


def instrument(
    id: str,
    kind: InstrumentKind,
    direction: Direction = Direction.LOWER_IS_BETTER,
    licence: Licence = FREE,
    citation: Citation = STUDY,
    **details: object,
) -> Instrument:
    return Instrument(
        id=id,
        name=id.upper(),
        indications=("test-indication",),
        kind=kind,
        direction=direction,
        licence=licence,
        citation=citation,
        **details,  # type: ignore[arg-type]
    )


MAS = instrument("modified-ashworth", InstrumentKind.GRADE, licence=UNCONFIRMED, grades=("0", "1", "1+", "2", "3", "4"))
HDSS = instrument("hdss", InstrumentKind.GRADE, licence=UNCONFIRMED, grades=("1", "2", "3", "4"))
PHQ9 = instrument(
    "phq-9",
    InstrumentKind.ITEMS,
    minimum=Decimal(0),
    maximum=Decimal(27),
    whole=True,
    items=tuple(Item(f"item-{n}", 0, 3) for n in range(1, 10)),
    bands=(
        Band("none or minimal", Decimal(0), Decimal(4)),
        Band("mild", Decimal(5), Decimal(9)),
        Band("moderate", Decimal(10), Decimal(14)),
        Band("moderately severe", Decimal(15), Decimal(19)),
        Band("severe", Decimal(20), Decimal(27)),
    ),
)
ECKARDT = instrument(
    "eckardt",
    InstrumentKind.ITEMS,
    minimum=Decimal(0),
    maximum=Decimal(12),
    whole=True,
    items=tuple(Item(key, 0, 3) for key in ("weight-loss", "dysphagia", "retrosternal-pain", "regurgitation")),
    bands=(Band("clinical success", Decimal(0), Decimal(3)), Band("treatment failure", Decimal(4), Decimal(12))),
)
HIT6 = instrument("hit-6", InstrumentKind.TOTAL, licence=LICENSED, minimum=Decimal(36), maximum=Decimal(78), whole=True)
TWSTRS = instrument(
    "twstrs", InstrumentKind.TOTAL, licence=UNCONFIRMED, citation=UNVERIFIED, minimum=Decimal(0), maximum=Decimal(87)
)
NRS = instrument("pain-nrs", InstrumentKind.TOTAL, minimum=Decimal(0), maximum=Decimal(10), whole=True)
SWEAT = instrument("gravimetric-sweat", InstrumentKind.MEASUREMENT, unit="mg per 5 min", minimum=Decimal(0))
MOUTH = instrument(
    "mouth-opening", InstrumentKind.MEASUREMENT, Direction.HIGHER_IS_BETTER, unit="mm", minimum=Decimal(0)
)
TARDIEU = instrument(
    "modified-tardieu", InstrumentKind.ANGLES, unit="degrees", minimum=Decimal(0), maximum=Decimal(180)
)
FISSURE = instrument(
    "fissure-healing", InstrumentKind.BINARY, Direction.HIGHER_IS_BETTER, grades=("not-healed", "healed")
)
GAS = instrument(
    "goal-attainment-scaling", InstrumentKind.GOALS, Direction.HIGHER_IS_BETTER, citation=UNVERIFIED, rho=Decimal("0.3")
)
HEADACHE_DAYS = instrument(
    "headache-days", InstrumentKind.COUNT, unit="days per 28 days", minimum=Decimal(0), maximum=Decimal(28)
)
UI_PER_DAY = instrument("ui-episodes-per-day", InstrumentKind.COUNT, unit="episodes per day", minimum=Decimal(0))


def definition(
    instrument: Instrument,
    rule: ResponderRule,
    threshold: str | None = None,
    target_grade: str | None = None,
    citation: Citation = STUDY,
) -> ResponderDefinition:
    return ResponderDefinition(
        id=f"test-{instrument.id}-{rule}",
        indication="test-indication",
        instrument=instrument.id,
        rule=rule,
        description="a test definition",
        citation=citation,
        threshold=Decimal(threshold) if threshold is not None else None,
        target_grade=target_grade,
    )


HEADACHE_DAYS_50 = definition(HEADACHE_DAYS, ResponderRule.PERCENT_IMPROVEMENT, "50")
HDSS_2_GRADES = definition(HDSS, ResponderRule.GRADES_IMPROVEMENT, "2")
UI_50 = definition(UI_PER_DAY, ResponderRule.PERCENT_IMPROVEMENT, "50")
UI_DRY = definition(UI_PER_DAY, ResponderRule.PERCENT_IMPROVEMENT, "100")
MAS_1_GRADE = definition(MAS, ResponderRule.GRADES_IMPROVEMENT, "1", citation=UNVERIFIED)
TWSTRS_8 = definition(TWSTRS, ResponderRule.POINTS_IMPROVEMENT, "8")
ECKARDT_AT_MOST_3 = definition(ECKARDT, ResponderRule.AT_MOST, "3")
GAS_AT_LEAST_50 = definition(GAS, ResponderRule.AT_LEAST, "50")
FISSURE_HEALED = definition(FISSURE, ResponderRule.REACHES_GRADE, target_grade="healed")

NICE_TWO_CYCLES = ContinuationRule(
    id="nice-ta260-two-cycles",
    indication="test-indication",
    instrument="headache-days",
    kind=ContinuationKind.MINIMUM_IMPROVEMENT,
    threshold=Decimal(30),
    description="stop if headache days fell by less than 30% after 2 cycles",
    citation=STUDY,
    cycles=2,
)
NICE_EPISODIC = ContinuationRule(
    id="nice-ta260-episodic",
    indication="test-indication",
    instrument="headache-days",
    kind=ContinuationKind.SUSTAINED_BELOW,
    threshold=Decimal(15),
    description="stop once below 15 headache days for 3 consecutive months",
    citation=UNVERIFIED,
    months=3,
)


def headache_rules(min_headache_minutes: int = 240) -> HeadacheDayRules:
    return HeadacheDayRules(
        min_headache_minutes=Cited(min_headache_minutes, STUDY),
        min_pain_features=Cited(2, STUDY),
        min_aura_minutes=Cited(5, STUDY),
        max_aura_minutes=Cited(60, STUDY),
        migraine_specific_medication_makes_migraine_day=Cited(True, STUDY),
    )
