"""The web plan builder's choices, read from the knowledge base: the products offered for an indication, why a
pair cannot be planned, and the vial and diluent fields of a product that is reconstituted."""

from __future__ import annotations

from bont.domain.knowledge import KnowledgeBase
from bont.web.plan_form import dilution_fields, no_protocol_prompt, product_choices


def test_blepharospasm_offers_the_approved_products_first_and_marks_dysport_off_label(
    knowledge: KnowledgeBase,
) -> None:
    offered = [(choice.brand, choice.approved) for choice in product_choices(knowledge, "blepharospasm")]
    assert offered == [("XEOMIN", True), ("BOTOX", True), ("DYSPORT", False)]


def test_chronic_migraine_offers_only_botox(knowledge: KnowledgeBase) -> None:
    assert [choice.brand for choice in product_choices(knowledge, "chronic-migraine")] == ["BOTOX"]


def test_every_offered_pair_has_a_protocol_and_every_other_pair_says_why(knowledge: KnowledgeBase) -> None:
    for indication in knowledge.indications:
        offered = {choice.id for choice in product_choices(knowledge, indication)}
        for product in knowledge.products:
            why = no_protocol_prompt(knowledge, indication, product)
            assert (why is None) == (product in offered), (indication, product)
            if why is not None:
                assert "no plan can be made" in why
                # words, not field paths or command syntax
                assert "=" not in why
                assert "_" not in why


def test_a_powder_has_vial_and_diluent_fields_and_a_ready_to_use_solution_has_none(knowledge: KnowledgeBase) -> None:
    xeomin = dilution_fields(knowledge, "incobotulinumtoxinA")
    assert xeomin is not None
    assert "100" in xeomin.vial_sizes
    assert dilution_fields(knowledge, "rimabotulinumtoxinB") is None
