"""A plan asked for in words and numbers as text, the way ``bont plan`` and ``bont.plan()`` take it: every
option parsed and validated in one place, each error naming the option and never repeating its value (it
may be a patient's weight, age or birth date)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from bont.domain.errors import FieldError, PlanningError, UnknownIdError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import MuscleChoice, PlanRequest, SideChoice
from bont.domain.populations import Population
from bont.domain.safety import SessionPlan
from bont.services.clock import Clock
from bont.services.planning import CheckedPlan, plan_session

MAXIMUM_NUMBER = Decimal(1_000_000)
OPTION_NAMES = {"age_years": "--age", "units_per_0_1_ml": "--units-per-0.1-ml"}
MUSCLE_SPEC = re.compile(
    r"^(?P<muscle>[^:=/]+?)(?::(?P<side>left|right|both))?(?:=(?P<units>[^/]+))?(?:/(?P<sites>[^/]+))?$"
)


class OptionError(FieldError):
    """An option that cannot be used; ``field`` is the option as the command line spells it (``--weight-kg``)."""


def option_name(field: str) -> str:
    """The command-line option of a plan request's field (``weight_kg`` → ``--weight-kg``)."""
    return OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


def parse_decimal(option: str, text: str | None, *, positive: bool = True) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise OptionError(option, "is not a number") from None
    if not value.is_finite() or value > MAXIMUM_NUMBER or value < 0 or (positive and value <= 0):
        raise OptionError(option, "must be a number more than 0 and at most 1000000")
    return value


def parse_date(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise OptionError(option, "is not a date (YYYY-MM-DD)") from None


def parse_muscles(option: str, specs: list[str]) -> tuple[MuscleChoice, ...]:
    """``MUSCLE[:left|right|both][=UNITS][/SITES]`` choices, each validated."""
    choices = []
    for spec in specs:
        match = MUSCLE_SPEC.match(spec.strip())
        if match is None:
            raise OptionError(option, f"'{spec}' is not MUSCLE:SIDE=UNITS/SITES (e.g. biceps-brachii:left=100/4)")
        sites_text = match["sites"]
        if sites_text is not None and not sites_text.isdigit():
            raise OptionError(option, f"sites must be a whole number, got '{sites_text}'")
        sites = int(sites_text) if sites_text is not None else None
        if sites == 0:
            raise OptionError(option, f"{match['muscle']} needs at least 1 site")
        choices.append(
            MuscleChoice(
                muscle=match["muscle"].strip(),
                side=SideChoice(match["side"]) if match["side"] else None,
                units=parse_decimal(option, match["units"]),
                sites=sites,
            )
        )
    return tuple(choices)


def _age(age: str | None, birth_date: date | None, on: date) -> Decimal | None:
    if age is not None and birth_date is not None:
        raise OptionError("--age", "give either --age or --birth-date, not both")
    if birth_date is not None:
        if birth_date > on:
            raise OptionError("--birth-date", "is after the session date")
        years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
        return Decimal(years)
    return parse_decimal("--age", age, positive=False)


@dataclass(frozen=True)
class PlanOptions:
    """The options of ``bont plan``, as text; ``patient`` is the text of a patient file (JSON)."""

    indication: str
    product: str
    on: str | None = None
    population: str | None = None
    variant: str | None = None
    age: str | None = None
    birth_date: str | None = None
    weight_kg: str | None = None
    side: str | None = None
    muscles: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    deviation_reason: str | None = None
    vial_units: str | None = None
    diluent_ml: str | None = None
    patient: str | None = None


Choice = TypeVar("Choice", Population, SideChoice)


def _choice(option: str, kind: type[Choice], text: str | None) -> Choice | None:
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise OptionError(option, f"must be one of {', '.join(kind)}") from None


def plan_from_options(knowledge: KnowledgeBase, clock: Clock, options: PlanOptions) -> CheckedPlan:
    """Plan (and, with a patient file, check) as ``bont plan`` does; raises ``OptionError`` naming the option."""
    session_date = parse_date("--date", options.on) or clock.today()
    born = parse_date("--birth-date", options.birth_date)
    age, weight_kg = options.age, options.weight_kg
    patient_file = None
    if options.patient is not None:
        # The patient file's reader (pydantic models) is imported only for a plan that has one.
        from bont.interop.check_document import InputError, read_patient_file

        try:
            patient_file = read_patient_file(options.patient, knowledge)
        except InputError as error:
            raise OptionError("--patient", f"{error.field}: {error.problem}") from error
        recorded = patient_file.patient
        # The plan and its check must be about the same patient: the file's values are used, and the options
        # may only repeat them.
        if recorded.birth_date is not None:
            if born is not None and born != recorded.birth_date:
                raise OptionError("--birth-date", "differs from the birth date in the patient file")
            if age is not None and parse_decimal("--age", age, positive=False) != recorded.age_years_on(session_date):
                raise OptionError("--age", "differs from the age given by the patient file's birth date")
            born, age = recorded.birth_date, None
        if recorded.weight_kg is not None:
            if weight_kg is not None and parse_decimal("--weight-kg", weight_kg) != recorded.weight_kg:
                raise OptionError("--weight-kg", "differs from the weight in the patient file")
            weight_kg = str(recorded.weight_kg)
    request = PlanRequest(
        indication=options.indication,
        product=options.product,
        on=session_date,
        population=_choice("--population", Population, options.population),
        variant=options.variant,
        age_years=_age(age, born, session_date),
        weight_kg=parse_decimal("--weight-kg", weight_kg),
        side=_choice("--side", SideChoice, options.side),
        muscles=parse_muscles("--muscle", list(options.muscles)),
        optional=tuple(
            MuscleChoice(c.muscle, c.side, c.units, c.sites, optional=True)
            for c in parse_muscles("--optional", list(options.optional))
        ),
        deviation_reason=options.deviation_reason,
        vial_units=parse_decimal("--vial-units", options.vial_units),
        diluent_ml=parse_decimal("--diluent-ml", options.diluent_ml),
    )
    try:
        if patient_file is None:
            return plan_session(knowledge, request)
        # The file's patient, history, vials and adverse events; the plan's age and weight are the file's.
        stored = patient_file.request_for(session_date, SessionPlan(request.product, request.indication), clock)
        return plan_session(
            knowledge,
            request,
            replace(stored.patient, weight_kg=request.weight_kg, age_years=request.age_years),
            stored.history,
            stored.vials,
            stored.at,
            stored.adverse_events,
        )
    except UnknownIdError as error:
        raise OptionError(f"--{error.kind}", str(error)) from error
    except PlanningError as error:
        field = error.field
        if "." in field:
            raise OptionError("--patient", f"{field}: {error.problem}") from error
        raise OptionError(option_name(field), error.problem) from error
