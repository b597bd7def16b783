"""Outcome instruments and their scoring: what may be entered, what is valid, and what a score means.

Each instrument is data (``knowledge/data/instruments.yaml``): its kind, valid range or grade set, the
direction in which it improves, its licence and its source. ``score`` validates one raw entry against
the instrument and returns a ``Score``; anything invalid raises ``FieldError`` naming the field and never
repeating the value entered.

Licensing decides how much of an instrument bont holds. A free instrument is scored from its items
(PHQ-9, Eckardt) or its measurement; a licensed or unconfirmed one is recorded as the total (or grade)
the clinician entered from their own licensed form, checked against its valid range, and its item wording
is never reproduced. ``Licence.why`` says which applies and why.

All arithmetic is ``Decimal``; floats are refused. Rounding is explicit where it happens (the GAS
T-score to 0.01, half-even).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from enum import StrEnum

from bont.domain.errors import FieldError
from bont.domain.evidence import Citation, Grade

HUNDREDTH = Decimal("0.01")


class InstrumentKind(StrEnum):
    """How an instrument is entered and scored."""

    COUNT = "count"  # a diary-derived count or rate: headache days per 28 days, incontinence episodes per day
    TOTAL = "total"  # a total entered as one number within the instrument's range (licensed: total only)
    ITEMS = "items"  # item responses summed to a total (PHQ-9, Eckardt)
    GRADE = "grade"  # one grade from an ordinal set (Modified Ashworth "0" … "4" with "1+"; HDSS 1–4)
    MEASUREMENT = "measurement"  # a measurement in a unit (mg of sweat per 5 min, mm of mouth opening)
    ANGLES = "angles"  # Modified Tardieu: R1 and R2 in degrees; the score is R2 − R1
    BINARY = "binary"  # an endpoint reached or not (anal fissure healed)
    GOALS = "goals"  # Goal Attainment Scaling: goals rated −2 … +2, combined into a T-score


class Direction(StrEnum):
    LOWER_IS_BETTER = "lower-is-better"
    HIGHER_IS_BETTER = "higher-is-better"


class LicenceStatus(StrEnum):
    """Whether bont may reproduce an instrument's items.

    ``free``: free to reproduce and score, items bundled. ``licensed``: a licence or permission is needed,
    so only the total from the clinic's own licensed form is recorded. ``unconfirmed``: no licence
    statement was found; treated like ``licensed`` until a free licence is confirmed.
    """

    FREE = "free"
    LICENSED = "licensed"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class Licence:
    status: LicenceStatus
    why: str  # what was found, and therefore what bont holds of the instrument
    citation: Citation

    @property
    def items_bundled(self) -> bool:
        """Whether bont may hold the instrument's items (only when the licence is confirmed free)."""
        return self.status is LicenceStatus.FREE


@dataclass(frozen=True)
class Item:
    """One scored item of a free instrument: a key (never the item's wording) and its whole-number range."""

    key: str
    minimum: int
    maximum: int


@dataclass(frozen=True)
class Band:
    """A labelled band of totals, ``minimum`` to ``maximum`` inclusive (``maximum`` None: open above)."""

    label: str
    minimum: Decimal
    maximum: Decimal | None = None

    def holds(self, value: Decimal) -> bool:
        return value >= self.minimum and (self.maximum is None or value <= self.maximum)


@dataclass(frozen=True)
class Instrument:
    """A standard outcome measure: how it is entered, its valid values, its direction and its source.

    ``citation`` covers the scoring, range and direction; ``licence`` says why items are or are not held.
    ``grades`` lists an ordinal scale's grades in the scale's order (first = lowest grade).
    """

    id: str
    name: str
    indications: tuple[str, ...]
    kind: InstrumentKind
    direction: Direction
    licence: Licence
    citation: Citation
    unit: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    whole: bool = False  # whole numbers only
    grades: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    bands: tuple[Band, ...] = ()
    rho: Decimal | None = None  # GAS: the assumed correlation between goals
    loinc: str | None = None
    note: str | None = None

    @property
    def verified(self) -> bool:
        """False when the scoring or range rests on an unverified figure (shown with every verdict)."""
        return self.citation.grade is not Grade.UNVERIFIED

    def rank(self, grade: str) -> int:
        """The position of a grade on the scale (0 = the first grade); "1+" sits between "1" and "2"."""
        return self.grades.index(grade)

    def band_of(self, value: Decimal) -> str | None:
        return next((band.label for band in self.bands if band.holds(value)), None)

    def range_text(self) -> str:
        if self.grades:
            return ", ".join(self.grades)
        if self.minimum is None and self.maximum is None:
            return "any value"
        if self.maximum is None:
            return f"{_plain(self.minimum or Decimal(0))} or more"
        if self.minimum is None:
            return f"at most {_plain(self.maximum)}"
        return f"{_plain(self.minimum)}–{_plain(self.maximum)}"


@dataclass(frozen=True)
class GoalRating:
    """One goal of a Goal Attainment Scaling follow-up: attainment −2 … +2 and its weight (default 1)."""

    attainment: int
    weight: Decimal = Decimal(1)


@dataclass(frozen=True)
class TardieuAngles:
    """Modified Tardieu angles in degrees: R1 (catch at fast velocity), R2 (passive range at slow)."""

    r1: Decimal
    r2: Decimal


@dataclass(frozen=True)
class Score:
    """One validated result of an instrument.

    ``value`` holds a total, count, rate, measurement, Tardieu R2 − R1 or GAS T-score; it is None for an
    ordinal or binary result, which keeps its ``grade`` as written ("1+", never 1.5) and its ``rank`` on
    the scale. ``items`` and ``parts`` keep what the score was computed from.
    """

    instrument: str
    value: Decimal | None = None
    grade: str | None = None
    rank: int | None = None
    band: str | None = None
    items: tuple[tuple[str, int], ...] = ()
    parts: tuple[tuple[str, Decimal], ...] = ()

    def __str__(self) -> str:
        shown = self.grade if self.grade is not None else _plain(self.value) if self.value is not None else "—"
        return f"{shown} ({self.band})" if self.band else shown


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- parsing raw input: Decimal, int or text; never float or bool


def parse_decimal(raw: object, field: str) -> Decimal:
    """A number from an int, a Decimal or its text; floats and booleans are refused."""
    if isinstance(raw, bool) or raw is None:
        raise FieldError(field, "a number is required")
    if isinstance(raw, float):
        raise FieldError(field, "enter a decimal number as text or Decimal, never a binary float")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise FieldError(field, "is not a number") from None
    else:
        raise FieldError(field, "a number is required")
    if not value.is_finite():
        raise FieldError(field, "is not a finite number")
    return value


def _whole(value: Decimal, field: str) -> None:
    if value != value.to_integral_value():
        raise FieldError(field, "must be a whole number")


def _in_range(instrument: Instrument, value: Decimal, field: str) -> None:
    low, high = instrument.minimum, instrument.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        unit = f" {instrument.unit}" if instrument.unit else ""
        raise FieldError(field, f"{instrument.name} must be {instrument.range_text()}{unit}")


def _item_value(raw: object, item: Item, field: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        value = parse_decimal(raw, field)
        _whole(value, field)
        number = int(value)
    else:
        number = raw
    if not item.minimum <= number <= item.maximum:
        raise FieldError(field, f"an item is scored {item.minimum}–{item.maximum}")
    return number


# -- scoring by kind


def score_number(instrument: Instrument, raw: object, field: str = "value") -> Score:
    """A total, count or measurement entered as one number, checked against the instrument's range."""
    value = parse_decimal(raw, field)
    if instrument.whole:
        _whole(value, field)
    _in_range(instrument, value, field)
    return Score(instrument.id, value=value, band=instrument.band_of(value))


def score_items(instrument: Instrument, raw: object, field: str = "items") -> Score:
    """The total of a free instrument's items: a sequence in item order, or a mapping of item keys.

    Every item is required; an item outside its range (a PHQ-9 item of 4) is an error, never clipped.
    """
    keys = [item.key for item in instrument.items]
    responses: list[tuple[str, int]] = []
    if isinstance(raw, Mapping):
        unknown = sorted(str(key) for key in raw if key not in keys)
        if unknown:
            raise FieldError(f"{field}.{unknown[0]}", f"is not an item of {instrument.name}")
        for item in instrument.items:
            if item.key not in raw:
                raise FieldError(f"{field}.{item.key}", "is required")
            responses.append((item.key, _item_value(raw[item.key], item, f"{field}.{item.key}")))
    elif isinstance(raw, Sequence) and not isinstance(raw, str):
        if len(raw) != len(instrument.items):
            raise FieldError(field, f"{instrument.name} has {len(instrument.items)} items, not {len(raw)}")
        for item, value in zip(instrument.items, raw, strict=True):
            responses.append((item.key, _item_value(value, item, f"{field}.{item.key}")))
    else:
        raise FieldError(field, f"{instrument.name} is entered as its {len(instrument.items)} item scores")
    total = Decimal(sum(value for _, value in responses))
    _in_range(instrument, total, field)
    return Score(instrument.id, value=total, band=instrument.band_of(total), items=tuple(responses))


def score_grade(instrument: Instrument, raw: object, field: str = "grade") -> Score:
    """One grade of an ordinal scale, as written: "1+" is a grade of its own, never 1.5."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise FieldError(field, f"a {instrument.name} grade is one of {instrument.range_text()}")
    text = raw.strip() if isinstance(raw, str) else str(raw)
    if text not in instrument.grades:
        raise FieldError(field, f"a {instrument.name} grade is one of {instrument.range_text()}")
    return Score(instrument.id, grade=text, rank=instrument.rank(text))


def score_binary(instrument: Instrument, raw: object, field: str = "value") -> Score:
    """An endpoint reached (True, "yes" or the last grade) or not (False, "no" or the first grade)."""
    if len(instrument.grades) != 2:
        raise FieldError(field, f"{instrument.name} is not a yes/no endpoint")
    no, yes = instrument.grades
    if isinstance(raw, bool):
        grade = yes if raw else no
    elif isinstance(raw, str) and raw.strip().casefold() in {"yes", yes}:
        grade = yes
    elif isinstance(raw, str) and raw.strip().casefold() in {"no", no}:
        grade = no
    else:
        raise FieldError(field, f"{instrument.name} is {yes} or {no}")
    return Score(instrument.id, grade=grade, rank=instrument.rank(grade))


def score_angles(instrument: Instrument, raw: object, field: str = "angles") -> Score:
    """Modified Tardieu: R1 and R2 in degrees within the instrument's range; the score is R2 − R1."""
    if isinstance(raw, TardieuAngles):
        r1_raw: object = raw.r1
        r2_raw: object = raw.r2
    elif isinstance(raw, Mapping) and set(raw) == {"r1", "r2"}:
        r1_raw, r2_raw = raw["r1"], raw["r2"]
    else:
        raise FieldError(field, "Tardieu angles are entered as r1 and r2 in degrees")
    r1 = parse_decimal(r1_raw, f"{field}.r1")
    r2 = parse_decimal(r2_raw, f"{field}.r2")
    _in_range(instrument, r1, f"{field}.r1")
    _in_range(instrument, r2, f"{field}.r2")
    if r1 > r2:
        raise FieldError(f"{field}.r1", "the catch angle R1 cannot lie beyond the full passive range R2")
    return Score(instrument.id, value=r2 - r1, parts=(("r1", r1), ("r2", r2)))


def score_goals(instrument: Instrument, raw: object, field: str = "goals") -> Score:
    """Goal Attainment Scaling T-score (Kiresuk & Sherman): 50 when every goal is met as expected.

    T = 50 + 10·Σ(wᵢxᵢ) / √[(1 − ρ)·Σwᵢ² + ρ·(Σwᵢ)²], xᵢ the attainment −2 … +2, wᵢ the weight and ρ the
    instrument's assumed correlation between goals; rounded to 0.01, half-even.
    """
    if instrument.rho is None:
        raise FieldError(field, f"{instrument.name} has no goal correlation (rho) in the knowledge base")
    if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
        raise FieldError(field, "at least one goal with its attainment (−2 … +2) is required")
    ratings: list[GoalRating] = []
    for index, entry in enumerate(raw):
        where = f"{field}.{index}"
        if isinstance(entry, GoalRating):
            attainment: object = entry.attainment
            weight = parse_decimal(entry.weight, f"{where}.weight")
        else:
            attainment, weight = entry, Decimal(1)
        if isinstance(attainment, bool) or not isinstance(attainment, int) or not -2 <= attainment <= 2:
            raise FieldError(f"{where}.attainment", "a goal's attainment is −2, −1, 0, +1 or +2")
        if weight <= 0:
            raise FieldError(f"{where}.weight", "a goal's weight must be greater than 0")
        ratings.append(GoalRating(attainment, weight))
    rho = instrument.rho
    with localcontext() as context:
        context.prec = 28
        weighted = sum((r.weight * r.attainment for r in ratings), Decimal(0))
        squares = sum((r.weight * r.weight for r in ratings), Decimal(0))
        total_weight = sum((r.weight for r in ratings), Decimal(0))
        spread = ((1 - rho) * squares + rho * total_weight * total_weight).sqrt()
        t_score = (50 + 10 * weighted / spread).quantize(HUNDREDTH, rounding=ROUND_HALF_EVEN)
    return Score(
        instrument.id,
        value=t_score,
        band=instrument.band_of(t_score),
        items=tuple((f"goal-{index + 1}", r.attainment) for index, r in enumerate(ratings)),
        parts=tuple((f"weight-{index + 1}", r.weight) for index, r in enumerate(ratings)),
    )


def score(instrument: Instrument, raw: object, field: str | None = None) -> Score:
    """Validate one raw entry for ``instrument`` and score it; raises ``FieldError`` naming ``field``.

    What ``raw`` is depends on the kind: a number (total, count, measurement), item scores (a sequence
    in order or a mapping by item key), a grade ("1+"), yes/no, Tardieu angles, or GAS goal ratings.
    """
    kind = instrument.kind
    if kind in (InstrumentKind.COUNT, InstrumentKind.TOTAL, InstrumentKind.MEASUREMENT):
        return score_number(instrument, raw, field or "value")
    if kind is InstrumentKind.ITEMS:
        return score_items(instrument, raw, field or "items")
    if kind is InstrumentKind.GRADE:
        return score_grade(instrument, raw, field or "grade")
    if kind is InstrumentKind.BINARY:
        return score_binary(instrument, raw, field or "value")
    if kind is InstrumentKind.ANGLES:
        return score_angles(instrument, raw, field or "angles")
    return score_goals(instrument, raw, field or "goals")
