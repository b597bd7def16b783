"""The planner's memo (``PlanMemo``): what plans of one knowledge base share is worked out once, and a plan made
from the memo is, to the last digit of every figure, the plan worked out afresh."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from bont.bootstrap import build_knowledge
from bont.domain import planning
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import MuscleChoice, PlanMemo, PlanRequest, SideChoice
from bont.services.documents import plan_document
from bont.services.planning import plan_session

ON = date(2026, 11, 21)
REQUESTS = {
    "chronic migraine": PlanRequest(product="BOTOX", indication="chronic-migraine", on=ON),
    "pediatric spasticity by weight": PlanRequest(
        product="BOTOX",
        indication="upper-limb-spasticity",
        on=ON,
        age_years=Decimal(8),
        weight_kg=Decimal(24),
        side=SideChoice.LEFT,
    ),
    "cervical dystonia, muscles chosen": PlanRequest(
        product="BOTOX",
        indication="cervical-dystonia",
        on=ON,
        side=SideChoice.BOTH,
        muscles=(MuscleChoice("splenius-capitis", units=Decimal(30), sites=2),),
    ),
    "a first session from the label's initial dose": PlanRequest(
        product="XEOMIN",
        indication="cervical-dystonia",
        on=ON,
        side=SideChoice.BOTH,
        diluent_ml=Decimal(2),
        first_session=True,
    ),
    "a deviation with its reason": PlanRequest(
        product="BOTOX",
        indication="chronic-migraine",
        on=ON,
        muscles=(MuscleChoice("frontalis", units=Decimal(30)),),
        deviation_reason="asked for by the patient",
    ),
    "a dilution written as 2 mL": PlanRequest(
        product="BOTOX", indication="chronic-migraine", on=ON, vial_units=Decimal(100), diluent_ml=Decimal("2")
    ),
    "the same dilution written as 2.0 mL": PlanRequest(
        product="BOTOX", indication="chronic-migraine", on=ON, vial_units=Decimal(100), diluent_ml=Decimal("2.0")
    ),
}


def _printed(knowledge: KnowledgeBase, request: PlanRequest) -> str:
    """The plan and its check as ``bont plan --json`` prints them."""
    return json.dumps(plan_document(plan_session(knowledge, request), knowledge), default=str, sort_keys=True)


def test_plans_made_from_the_memo_print_exactly_as_plans_worked_out_afresh(knowledge: KnowledgeBase) -> None:
    for request in REQUESTS.values():  # every request in turn fills the memo that the next ones read
        _printed(knowledge, request)
    for name, request in REQUESTS.items():
        fresh = build_knowledge.__wrapped__()  # read back from the cache: a knowledge base whose memo is empty
        assert _printed(knowledge, request) == _printed(fresh, request), name


def test_each_knowledge_base_keeps_its_own_memo(knowledge: KnowledgeBase) -> None:
    fresh = build_knowledge.__wrapped__()
    plan_session(knowledge, REQUESTS["chronic migraine"])
    assert knowledge.plan_memo.placed
    assert fresh.plan_memo is not knowledge.plan_memo
    assert not fresh.plan_memo.placed


def test_a_full_memo_table_starts_again_and_never_outgrows_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planning, "PLAN_MEMO_SIZE", 2)
    table: dict[int, str] = {}
    assert [PlanMemo.remember(table, key, str(key)) for key in range(5)] == ["0", "1", "2", "3", "4"]
    assert table == {4: "4"}
