"""Billing: HCPCS unit sizes, JW/JZ and CPT codes per session."""

from __future__ import annotations

from decimal import Decimal

from bont.domain.billing import BilledSite, bill
from bont.domain.knowledge import KnowledgeBase
from bont.domain.protocols import Guidance


def test_dysport_bills_per_5_units_with_jw_for_waste(knowledge: KnowledgeBase) -> None:
    summary = bill(
        knowledge,
        "abobotulinumtoxinA",
        knowledge.indication("cervical-dystonia"),
        [BilledSite("sternocleidomastoid", "left")],
        Decimal(400),
        Decimal(100),
        [Guidance.EMG],
    )
    assert (summary.hcpcs, summary.billing_units_administered, summary.billing_units_discarded) == ("J0586", 80, 20)
    assert summary.modifier == "JW"
    assert summary.cpt == ("64616", "95874")


def test_no_waste_is_jz_and_migraine_bills_64615_once(knowledge: KnowledgeBase) -> None:
    sites = [BilledSite("frontalis", side) for side in ("left", "right")] * 10
    summary = bill(knowledge, "BOTOX", knowledge.indication("chronic-migraine"), sites, Decimal(155), Decimal(0))
    assert summary.modifier == "JZ"
    assert summary.cpt == ("64615",)
    assert summary.billing_units_administered == 155


def test_limb_codes_count_muscles_per_extremity(knowledge: KnowledgeBase) -> None:
    arm = ["biceps-brachii", "brachialis", "brachioradialis", "flexor-carpi-radialis", "flexor-carpi-ulnaris"]
    sites = [BilledSite(m, "left") for m in arm] + [BilledSite("gastrocnemius-medial", "left")]
    summary = bill(knowledge, "BOTOX", knowledge.indication("upper-limb-spasticity"), sites, Decimal(350), Decimal(50))
    assert summary.cpt == ("64644", "64643")  # 5 arm muscles: base code; 1 leg muscle: add-on


def test_myobloc_bills_per_100_units(knowledge: KnowledgeBase) -> None:
    summary = bill(
        knowledge,
        "MYOBLOC",
        knowledge.indication("sialorrhea"),
        [BilledSite("parotid-gland", "left")],
        Decimal(2500),
        Decimal(0),
    )
    assert (summary.hcpcs, summary.billing_units_administered) == ("J0587", 25)
