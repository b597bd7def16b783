"""bont from Python, for notebooks and benchmarks: ``bont.check(document)`` and ``bont.plan(**options)``
return exactly the JSON documents that ``bont check --json`` and ``bont plan --json`` print, from the same
parsing and the same one check. Bad input raises ``bont.InputError`` (a ``ValueError``) whose ``field``
names the field or option, as the command line does."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from bont.bootstrap import build_knowledge, clock
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import check as check_plan
from bont.interop.check_document import read_check
from bont.interop.plan_options import PlanOptions, plan_from_options
from bont.services import documents

Number = int | float | Decimal | str


@cache
def _knowledge() -> KnowledgeBase:
    return build_knowledge()


def _json_ready(document: Any) -> Any:
    """What ``--json`` prints, read back: the same types a caller gets from parsing the command's output."""
    return json.loads(json.dumps(document, ensure_ascii=False, default=str))


def _text(value: Number | date | None) -> str | None:
    return None if value is None else str(value)


def check(document: Mapping[str, Any]) -> dict[str, Any]:
    """The safety report of a check document (see ``examples/check-*.json``), as ``bont check --json``."""
    knowledge = _knowledge()
    try:
        text = json.dumps(document, default=str)
    except (TypeError, ValueError) as error:
        raise FieldError("(document)", "is not a JSON document") from error
    report = check_plan(knowledge, read_check(text, clock(), knowledge))
    result: dict[str, Any] = _json_ready(documents.safety_document(report))
    return result


def plan(
    *,
    indication: str,
    product: str,
    date: date | str | None = None,
    population: str | None = None,
    variant: str | None = None,
    age: Number | None = None,
    birth_date: date | str | None = None,
    weight_kg: Number | None = None,
    side: str | None = None,
    muscles: Iterable[str] = (),
    optional: Iterable[str] = (),
    deviation_reason: str | None = None,
    vial_units: Number | None = None,
    diluent_ml: Number | None = None,
    patient: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A plan (checked against ``patient``, a patient file's document, when given), as ``bont plan --json``.
    ``muscles`` and ``optional`` take the command line's ``MUSCLE:SIDE=UNITS/SITES``."""
    options = PlanOptions(
        indication=indication,
        product=product,
        on=_text(date),
        population=population,
        variant=variant,
        age=_text(age),
        birth_date=_text(birth_date),
        weight_kg=_text(weight_kg),
        side=side,
        muscles=tuple(muscles),
        optional=tuple(optional),
        deviation_reason=deviation_reason,
        vial_units=_text(vial_units),
        diluent_ml=_text(diluent_ml),
        patient=None if patient is None else json.dumps(patient, default=str),
    )
    knowledge = _knowledge()
    checked = plan_from_options(knowledge, clock(), options)
    result: dict[str, Any] = _json_ready(documents.plan_document(checked, knowledge))
    return result
