"""The plan builder's form refuses what cannot be a number, an age or a weight beside the field, instead of
failing the page: NaN and Infinity parse as decimals but cannot be compared or planned with."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils.datastructures import MultiValueDict

from bont.domain.knowledge import KnowledgeBase
from bont.web.plan_form import DEVIATION_REASON_LENGTH, PlanForm, protocol_rows, read_plan_form

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


def test_a_site_count_the_clinician_typed_stays_through_every_later_refresh(knowledge: KnowledgeBase) -> None:
    """The page posts its rows back on each change; a typed count that the plan then gives must not read as
    "left as computed" on the next post, or the protocol's count would silently come back."""
    choices = {**SPASTICITY, "product": "onabotulinumtoxinA", "age": "10", "weight_kg": "30", "side": "right"}

    def page_after(fields: dict[str, str]) -> tuple[PlanForm, dict[str, str]]:
        """The plan of the posted fields, and the fields the page then holds (the swapped rows)."""
        form = planned(knowledge, fields)
        assert form.plan is not None, form.errors
        assert form.protocol is not None
        held = {**choices, "rows_for": form.protocol.id, "rows_weight": "30"}
        for row in protocol_rows(knowledge, form, MultiValueDict({k: [v] for k, v in fields.items()})):  # type: ignore[arg-type]
            held |= {f"give:{row.index}": "on"} if row.given else {}
            held |= {f"units:{row.index}": row.units, f"auto:{row.index}": row.auto_units}
            held |= {f"sites:{row.index}": row.sites, f"auto_sites:{row.index}": row.auto_sites}
        return form, held

    def brachialis_sites(form: PlanForm) -> int:
        assert form.plan is not None
        return sum(len(m.sites) for m in form.plan.plan.muscles if m.muscle == "brachialis")

    first, held = page_after(choices)
    assert first.protocol is not None
    index = next(i for i, row in enumerate(first.protocol.muscles) if row.muscle == "brachialis")
    assert (held[f"sites:{index}"], held[f"auto_sites:{index}"]) == ("2", "2")
    reason = {"deviation_reason": "small muscle belly"}
    second, held = page_after(held | {f"sites:{index}": "1"} | reason)
    assert brachialis_sites(second) == 1
    third, held = page_after(held | reason)  # any later refresh, e.g. another row edited
    assert brachialis_sites(third) == 1
    assert held[f"sites:{index}"] == "1"


def test_the_canvas_positions_are_read_with_the_plan_and_a_forged_one_is_refused_naming_them(
    knowledge: KnowledgeBase,
) -> None:
    form = planned(knowledge, {**MIGRAINE, "placed": "frontalis:left:0=head:62,24"})
    assert form.plan is not None
    assert form.placed["frontalis:left:0"].x == 62
    refused = planned(knowledge, {**MIGRAINE, "placed": "frontalis:left:0=head:38,24"})
    assert refused.plan is None
    assert refused.errors == {"placed": "Frontalis site 1 (left): the position is on the patient's other side"}
