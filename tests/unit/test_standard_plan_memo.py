"""What a plan of a protocol's standard rows shares with the next one (``PlanMemo.standard``, ``standard_placed``,
``vials``) and what a check reads of the knowledge base once (the limits, approvals and protocols asked for, a
citation's hash): a plan or a check answered from them is, to the last digit and note, the one worked out afresh."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from bont.bootstrap import build_knowledge
from bont.domain.evidence import Citation
from bont.domain.knowledge import KnowledgeBase
from bont.domain.planning import PlanRequest, SideChoice
from bont.domain.populations import Population
from bont.services.documents import plan_document
from bont.services.planning import plan_session

ON = date(2026, 11, 21)
CHILD = Decimal(8)  # years
REQUESTS = {
    "a child of 24 kg, left arm": PlanRequest(
        product="BOTOX",
        indication="upper-limb-spasticity",
        weight_kg=Decimal(24),
        side=SideChoice.LEFT,
        on=ON,
        age_years=CHILD,
    ),
    "the same weight written 24.0 kg": PlanRequest(
        product="BOTOX",
        indication="upper-limb-spasticity",
        weight_kg=Decimal("24.0"),
        side=SideChoice.LEFT,
        on=ON,
        age_years=CHILD,
    ),
    "a child of 40 kg, doses scaled to the session cap": PlanRequest(
        product="BOTOX",
        indication="upper-limb-spasticity",
        weight_kg=Decimal(40),
        side=SideChoice.BOTH,
        on=ON,
        age_years=CHILD,
    ),
    "a first session from the initial dose": PlanRequest(
        product="XEOMIN",
        indication="cervical-dystonia",
        on=ON,
        side=SideChoice.BOTH,
        diluent_ml=Decimal(2),
        first_session=True,
    ),
    "no session on record": PlanRequest(
        product="XEOMIN", indication="cervical-dystonia", on=ON, side=SideChoice.BOTH, diluent_ml=Decimal(2)
    ),
    "a later session of chronic migraine": PlanRequest(
        product="BOTOX",
        indication="chronic-migraine",
        on=ON,
        side=SideChoice.BOTH,
        diluent_ml=Decimal(2),
        first_session=False,
    ),
    "an off-label dilution, its notes before the rounding's": PlanRequest(
        product="XEOMIN",
        indication="sialorrhea",
        population=Population.PEDIATRIC,
        weight_kg=Decimal(30),
        side=SideChoice.BOTH,
        diluent_ml=Decimal(2),
        on=ON,
        age_years=CHILD,
    ),
    "chronic migraine from a 200 U vial": PlanRequest(
        product="BOTOX", indication="chronic-migraine", on=ON, vial_units=Decimal(200)
    ),
}


def _printed(knowledge: KnowledgeBase, request: PlanRequest) -> str:
    """The plan and its check as ``bont plan --json`` prints them."""
    return json.dumps(plan_document(plan_session(knowledge, request), knowledge), default=str, sort_keys=True)


def test_standard_plans_from_the_memo_print_exactly_as_plans_worked_out_afresh(knowledge: KnowledgeBase) -> None:
    for request in REQUESTS.values():  # every request in turn fills the memo that the next ones read
        _printed(knowledge, request)
    memo = knowledge.plan_memo
    assert memo.standard
    assert memo.standard_placed
    assert memo.vials
    fresh = build_knowledge.__wrapped__()
    for name, request in REQUESTS.items():
        fresh.__dict__.pop("plan_memo", None)  # an empty memo for each request: worked out afresh
        assert _printed(knowledge, request) == _printed(fresh, request), name


# Requests that share a memo key with a request of REQUESTS (protocol, side, weight as written, first session) but
# differ in what the key leaves out: each must print as if worked out afresh, not as its neighbour did.
NEIGHBOURS = {
    "another day, vial and diluent": replace(
        REQUESTS["a child of 24 kg, left arm"], on=date(2027, 3, 1), vial_units=Decimal(200), diluent_ml=Decimal(4)
    ),
    "another age in the same population": replace(REQUESTS["a child of 24 kg, left arm"], age_years=Decimal(12)),
    "a deviation reason written, none needed": replace(
        REQUESTS["a later session of chronic migraine"], deviation_reason="fictional reason"
    ),
    "the first session's neighbour with another diluent": replace(
        REQUESTS["a first session from the initial dose"], diluent_ml=Decimal(4)
    ),
}


def test_a_request_that_shares_a_memo_key_prints_as_worked_out_afresh(knowledge: KnowledgeBase) -> None:
    for request in REQUESTS.values():
        _printed(knowledge, request)
    fresh = build_knowledge.__wrapped__()
    for name, request in NEIGHBOURS.items():
        fresh.__dict__.pop("plan_memo", None)
        assert _printed(knowledge, request) == _printed(fresh, request), name


def test_the_limits_approvals_and_protocols_a_check_reads_are_the_knowledge_bases(knowledge: KnowledgeBase) -> None:
    for product in knowledge.products.values():
        for indication in knowledge.indications.values():
            assert product.approvals_for(indication.id) == tuple(
                a for a in product.approvals if a.value.indication == indication.id
            )
            for population in (*Population, None):
                assert indication.protocols_for(product.id, population) == tuple(
                    p
                    for p in indication.protocols
                    if p.product == product.id and (population is None or p.population is population)
                )
                if population is not None:
                    assert product.limits_for(indication.id, population) == tuple(
                        limit for limit in product.limits if limit.value.applies_to(indication.id, population)
                    )


def test_names_outside_the_knowledge_base_never_grow_an_indications_answers_without_end(
    knowledge: KnowledgeBase,
) -> None:
    indication = knowledge.indications["chronic-migraine"]
    for number in range(300):
        assert indication.protocols_for(f"not-a-product-{number}") == ()
    assert len(indication.__dict__["_protocols_for"]) <= 256


def _pickled(citation: Citation) -> Citation:
    copied: Citation = pickle.loads(pickle.dumps(citation))
    return copied


@pytest.mark.parametrize("copy", [replace, _pickled])
def test_a_citation_hashes_as_its_fields_do_in_any_copy(
    knowledge: KnowledgeBase, copy: Callable[[Citation], Citation]
) -> None:
    citation = knowledge.protocols_for("chronic-migraine", "BOTOX")[0].citation
    fields = (citation.source, citation.grade, citation.locator, citation.note, citation.kind, citation.wording)
    assert hash(citation) == hash(fields)
    copied = copy(citation)
    assert "_hash" not in copied.__dict__  # a hash is of one process: never carried into a pickle
    assert copied == citation
    assert hash(copied) == hash(citation)
    assert {citation: "found"}[copied] == "found"
