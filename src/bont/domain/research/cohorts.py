"""A cohort: which patients' treatment series a registry analysis is about, defined by criteria on the dataset.

A cohort is the set of (site, patient, indication) series that have at least one session matching every
criterion given; its sessions are those matching sessions. Every criterion is optional: the empty definition is
the whole dataset. A definition is validated when it is read (:meth:`CohortDefinition.from_mapping`), each bad
value refused with a :class:`~bont.domain.errors.FieldError` naming its field, and saved as the JSON of
:meth:`CohortDefinition.to_mapping`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from bont.domain.errors import FieldError
from bont.domain.research.deidentification import AGE_BANDS, SEXES

_Bound = TypeVar("_Bound", int, date, Decimal)

# An ICD-10-CM code or the beginning of one (G43, G43.7, G43.709; a chapter block such as G4 too): the patient
# has a condition whose code starts with it. Written undotted (g43709) it is read as ICD-10-CM writes it.
_CONDITION_PREFIX = re.compile(r"[A-Z][0-9](?:[0-9A-Z](?:\.[0-9A-Z]{1,4})?)?")


@dataclass(frozen=True)
class CohortDefinition:
    """The criteria of a cohort; None (or no codes) leaves a criterion out.

    ``age_from``/``age_to`` are years compared with the lower bound of the patient's age band (the dataset
    holds bands, not ages), so ``age_from`` is a band's lower bound. ``first_day``/``last_day`` keep sessions on
    or between them. ``units_from``/``units_to`` keep sessions whose dose lies within, in the units of
    ``product``, which they need: units of different products are never compared. ``cycles_from``/``cycles_to``
    bound the number of sessions the patient had for the indication within the other criteria."""

    indication: str | None = None
    product: str | None = None
    population: str | None = None
    age_from: int | None = None
    age_to: int | None = None
    sex: str | None = None
    first_day: date | None = None
    last_day: date | None = None
    units_from: Decimal | None = None
    units_to: Decimal | None = None
    cycles_from: int | None = None
    cycles_to: int | None = None
    condition_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        lower_bounds = tuple(band.lower for band in AGE_BANDS)
        if self.age_from is not None and self.age_from not in lower_bounds:
            raise FieldError(
                "age_from",
                "the dataset holds age bands: give the lower bound of one ("
                + ", ".join(str(bound) for bound in lower_bounds)
                + ")",
            )
        _ordered("age_to", self.age_from, self.age_to)
        if self.sex is not None and self.sex not in SEXES:
            raise FieldError("sex", f"unknown sex; give one of {', '.join(SEXES)}")  # the value typed is not repeated
        _ordered("last_day", self.first_day, self.last_day)
        if (self.units_from is not None or self.units_to is not None) and self.product is None:
            field = "units_from" if self.units_from is not None else "units_to"
            raise FieldError(
                field,
                "a dose range needs a product: a unit of one botulinum toxin product is not a unit of another",
            )
        _ordered("units_to", self.units_from, self.units_to)
        _ordered("cycles_to", self.cycles_from, self.cycles_to)
        for index, code in enumerate(self.condition_codes):
            if not _CONDITION_PREFIX.fullmatch(code):
                raise FieldError(
                    f"condition_codes.{index}",
                    f"'{code}' is not written as an ICD-10-CM code or the beginning of one (G43, G43.7, G43.709)",
                )

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> CohortDefinition:
        """Read a definition from JSON or a form: every field optional, empty values left out, numbers and
        dates as numbers or text. Raises FieldError naming the first bad field."""
        known = {field.name for field in fields(cls)}
        for key in raw:
            if key not in known:
                raise FieldError(str(key), f"not a cohort criterion; give one of {', '.join(sorted(known))}")
        return cls(
            indication=_identifier(raw, "indication"),
            product=_identifier(raw, "product"),
            population=_identifier(raw, "population"),
            age_from=_whole(raw, "age_from", minimum=0),
            age_to=_whole(raw, "age_to", minimum=0),
            sex=_text(raw, "sex"),
            first_day=_day(raw, "first_day"),
            last_day=_day(raw, "last_day"),
            units_from=_units(raw, "units_from"),
            units_to=_units(raw, "units_to"),
            cycles_from=_whole(raw, "cycles_from", minimum=1),
            cycles_to=_whole(raw, "cycles_to", minimum=1),
            condition_codes=_codes(raw, "condition_codes"),
        )

    def to_mapping(self) -> dict[str, object]:
        """The definition as JSON values (dates ISO, units as text to keep them exact), criteria left out
        omitted; :meth:`from_mapping` reads it back to an equal definition."""
        mapping: dict[str, object] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None or value == ():
                continue
            if isinstance(value, date):
                mapping[field.name] = value.isoformat()
            elif isinstance(value, Decimal):
                mapping[field.name] = str(value)
            elif isinstance(value, tuple):
                mapping[field.name] = list(value)
            else:
                mapping[field.name] = value
        return mapping

    @property
    def age_bands(self) -> tuple[str, ...] | None:
        """The age bands the age criteria keep (a band is kept when its lower bound is within them); None when
        there is no age criterion."""
        if self.age_from is None and self.age_to is None:
            return None
        low = self.age_from if self.age_from is not None else 0
        return tuple(
            band.label for band in AGE_BANDS if band.lower >= low and (self.age_to is None or band.lower <= self.age_to)
        )


def _ordered(field: str, low: _Bound | None, high: _Bound | None) -> None:
    if low is not None and high is not None and high < low:
        start = field.replace("_to", "_from").replace("last_", "first_")
        order = "before" if isinstance(high, date) else "less than"
        raise FieldError(field, f"{high} is {order} {start} ({low}): the range would be empty")


def _present(raw: Mapping[str, object], field: str) -> object | None:
    value = raw.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else value


def _text(raw: Mapping[str, object], field: str) -> str | None:
    value = _present(raw, field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(field, "give text")
    return value


def _identifier(raw: Mapping[str, object], field: str) -> str | None:
    value = _text(raw, field)
    # Ids of the knowledge base; the shape check keeps quotes and other characters out of queries and logs.
    if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}", value):
        raise FieldError(field, "give an id of the knowledge base (letters, digits, dashes)")
    return value


def _whole(raw: Mapping[str, object], field: str, *, minimum: int) -> int | None:
    value = _present(raw, field)
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, "give a whole number")
    if value < minimum:
        why = "it cannot be negative" if value < 0 else "every patient of a cohort has at least one session"
        raise FieldError(field, f"{value} is below {minimum}: {why}")
    return value


def _units(raw: Mapping[str, object], field: str) -> Decimal | None:
    value = _present(raw, field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise FieldError(field, "give a number of units")
    try:
        # Through str so that a float reads as written (0.1, not its binary neighbour).
        units = Decimal(str(value))
    except InvalidOperation:
        raise FieldError(field, f"'{value}' is not a number of units") from None
    if not units.is_finite():
        raise FieldError(field, "give a finite number of units")
    if units < 0:
        raise FieldError(field, "a dose cannot be negative")  # the value typed is not repeated
    return units


def _day(raw: Mapping[str, object], field: str) -> date | None:
    value = _present(raw, field)
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise FieldError(field, "give a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(field, f"'{value}' is not a date written YYYY-MM-DD") from None


def _codes(raw: Mapping[str, object], field: str) -> tuple[str, ...]:
    value = _present(raw, field)
    if value is None:
        return ()
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise FieldError(field, "give a list of ICD-10-CM codes")
    codes: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise FieldError(f"{field}.{index}", "give an ICD-10-CM code as text")
        code = item.strip().upper()
        if re.fullmatch(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{1,4}", code):
            code = f"{code[:3]}.{code[3:]}"
        codes.append(code)
    # Order kept, duplicates dropped: the saved definition reads as the researcher wrote it.
    return tuple(dict.fromkeys(codes))
