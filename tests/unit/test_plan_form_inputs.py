"""The plan builder's form refuses what cannot be a number, an age or a weight beside the field, instead of
failing the page: NaN and Infinity parse as decimals but cannot be compared or planned with."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils.datastructures import MultiValueDict

from bont.domain.knowledge import KnowledgeBase
from bont.web.plan_form import DEVIATION_REASON_LENGTH, PlanForm, read_plan_form

TODAY = date(2026, 11, 29)
MIGRAINE = {"indication": "chronic-migraine", "product": "onabotulinumtoxinA"}
SPASTICITY = {"indication": "upper-limb-spasticity", "product": "incobotulinumtoxinA"}


def planned(knowledge: KnowledgeBase, fields: dict[str, str]) -> PlanForm:
    posted = MultiValueDict({name: [value] for name, value in fields.items()})
    return read_plan_form(knowledge, posted, TODAY)  # type: ignore[arg-type]  # a QueryDict, without settings


@pytest.mark.parametrize("typed", ["NaN", "sNaN", "Infinity", "-Infinity", "1e999", "-1", "0", "131", "x" * 300])
def test_an_age_that_is_no_age_is_refused_beside_the_age_field(knowledge: KnowledgeBase, typed: str) -> None:
    form = planned(knowledge, {**MIGRAINE, "age": typed})
    assert form.plan is None
    assert set(form.errors) == {"age"}


@pytest.mark.parametrize(
    ("field", "typed"), [("weight_kg", "NaN"), ("weight_kg", "501"), ("vial_units", "NaN"), ("diluent_ml", "sNaN")]
)
def test_a_weight_vial_or_diluent_that_is_no_number_is_refused_beside_its_field(
    knowledge: KnowledgeBase, field: str, typed: str
) -> None:
    form = planned(knowledge, {**SPASTICITY, "age": "40", field: typed})
    assert field in form.errors


def test_an_over_long_deviation_reason_is_refused_not_cut(knowledge: KnowledgeBase) -> None:
    form = planned(knowledge, {**MIGRAINE, "deviation_reason": "x" * (DEVIATION_REASON_LENGTH + 1)})
    assert form.errors == {"deviation_reason": f"at most {DEVIATION_REASON_LENGTH} characters"}
