"""Billing a session with the shipped knowledge (bont.domain.billing.bill): the procedure code once, one
guidance code, the drug in whole billing units with JW or JZ, the NDC and its quantity, the diagnosis codes,
and the cited rules of billing.yaml."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bont.domain.billing import BilledSite, BillingRules, LineKind, SessionBill, SessionToBill, VialUsed, bill
from bont.domain.evidence import Grade
from bont.domain.knowledge import KnowledgeBase


@pytest.fixture(scope="module")
def rules(knowledge: KnowledgeBase) -> BillingRules:
    assert knowledge.billing is not None
    return knowledge.billing


def lines(claim: SessionBill) -> list[tuple[str, str, int]]:
    return [(line.code, line.modifier, line.units) for line in claim.lines]


def test_dysport_bills_whole_units_of_five_and_never_a_fraction(knowledge: KnowledgeBase, rules: BillingRules) -> None:
    claim = bill(
        knowledge,
        rules,
        SessionToBill(
            "abobotulinumtoxinA",
            "cervical-dystonia",
            (BilledSite("sternocleidomastoid", "left"),),
            Decimal("37.5"),
            Decimal("262.5"),
            guidance=("emg",),
            vials=(VialUsed(Decimal(300), Decimal("37.5")),),
        ),
    )
    assert lines(claim) == [("64616", "", 1), ("95874", "", 1), ("J0586", "", 8), ("J0586", "JW", 52)]
    drug, discarded = claim.lines[2:]
    assert (drug.exact_units, drug.exact_billing_units) == (Decimal("37.5"), Decimal("7.5"))  # kept beside
    assert (discarded.exact_units, discarded.exact_billing_units) == (Decimal("262.5"), Decimal("52.5"))
    assert (drug.ndc, drug.ndc_unit, drug.ndc_quantity) == ("15054-0530-06", "UN", Decimal("0.133"))
    assert discarded.ndc_quantity == Decimal("0.867")  # 8 + 52 billing units are the whole 300 U vial
    assert claim.lines[0].kind is LineKind.PROCEDURE
    assert discarded.kind is LineKind.DISCARDED


def test_a_migraine_session_bills_64615_once_the_jw_line_without_cpt_and_the_patients_own_code(
    knowledge: KnowledgeBase, rules: BillingRules
) -> None:
    sites = tuple(BilledSite("frontalis", side) for side in ("left", "right")) * 10
    claim = bill(
        knowledge,
        rules,
        SessionToBill(
            "BOTOX",
            "chronic-migraine",
            sites,
            Decimal(155),
            Decimal(45),
            conditions=("I10", "g43719"),
            vials=(VialUsed(Decimal(200), Decimal(155)),),
        ),
    )
    assert lines(claim) == [("64615", "", 1), ("J0585", "", 155), ("J0585", "JW", 45)]
    assert claim.diagnoses == ("G43.719",)
    assert [(line.ndc, line.ndc_quantity) for line in claim.lines[1:]] == [
        ("00023-3921-02", Decimal("0.775")),  # 0023-3921-02 in its 11-digit form
        ("00023-3921-02", Decimal("0.225")),
    ]
    assert claim.notes == ()


def test_nothing_discarded_is_jz_on_the_administered_line(knowledge: KnowledgeBase, rules: BillingRules) -> None:
    claim = bill(
        knowledge,
        rules,
        SessionToBill(
            "BOTOX",
            "chronic-migraine",
            (BilledSite("frontalis", "left"),),
            Decimal(100),
            Decimal(0),
            vials=(VialUsed(Decimal(100), Decimal(100)),),
        ),
    )
    assert lines(claim)[1:] == [("J0585", "JZ", 100)]


def test_both_guidance_codes_recorded_bill_one_and_say_the_rule_is_unverified(
    knowledge: KnowledgeBase, rules: BillingRules
) -> None:
    claim = bill(
        knowledge,
        rules,
        SessionToBill(
            "BOTOX",
            "upper-limb-spasticity",
            (BilledSite("biceps-brachii", "left"),),
            Decimal(100),
            Decimal(0),
            guidance=("emg", "electrical-stimulation", "ultrasound"),
            conditions=("G81.14",),
        ),
    )
    codes = [line.code for line in claim.lines]
    assert codes.count("95874") == 1
    assert "95873" not in codes
    guidance_line = next(line for line in claim.lines if line.kind is LineKind.GUIDANCE)
    assert "unverified rule" in guidance_line.note
    assert claim.diagnoses == ("G81.14",)


def test_no_guidance_recorded_takes_the_protocols_first_and_says_so(
    knowledge: KnowledgeBase, rules: BillingRules
) -> None:
    limb = bill(
        knowledge,
        rules,
        SessionToBill(
            "BOTOX", "upper-limb-spasticity", (BilledSite("biceps-brachii", "left"),), Decimal(50), Decimal(50)
        ),
    )
    assert limb.guidance.assumed
    assert limb.guidance.code == "95874"  # the protocol lists needle EMG first
    assert any("no guidance was recorded" in note for note in limb.notes)
    neck = bill(
        knowledge,
        rules,
        SessionToBill("BOTOX", "cervical-dystonia", (BilledSite("splenius-capitis", "left"),), Decimal(50), Decimal(0)),
    )
    assert neck.guidance.code is None  # anatomical landmarks first: no guidance code, nothing to confirm
    assert not any("guidance" in note for note in neck.notes)


def test_limb_codes_count_muscles_per_extremity_and_add_ons_as_units(
    knowledge: KnowledgeBase, rules: BillingRules
) -> None:
    arm = ["biceps-brachii", "brachialis", "brachioradialis", "flexor-carpi-radialis", "flexor-carpi-ulnaris"]
    sites = (
        *(BilledSite(m, "left") for m in arm),
        BilledSite("gastrocnemius-medial", "left"),
        BilledSite("gastrocnemius-medial", "right"),
    )
    claim = bill(
        knowledge, rules, SessionToBill("BOTOX", "upper-limb-spasticity", sites, Decimal(350), Decimal(50), ("emg",))
    )
    assert lines(claim)[:2] == [("64644", "", 1), ("64643", "", 2)]  # 5 arm muscles: base; two legs: add-on x2


def test_myobloc_bills_per_100_units_in_millilitres(knowledge: KnowledgeBase, rules: BillingRules) -> None:
    claim = bill(
        knowledge,
        rules,
        SessionToBill(
            "MYOBLOC",
            "sialorrhea",
            (BilledSite("parotid-gland", "left"),),
            Decimal(2500),
            Decimal(0),
            vials=(VialUsed(Decimal(2500), Decimal(2500)),),
        ),
    )
    drug = claim.lines[-1]
    assert (drug.code, drug.modifier, drug.units) == ("J0587", "JZ", 25)
    assert (drug.ndc, drug.ndc_unit, drug.ndc_quantity) == ("10454-0710-10", "ML", Decimal("0.500"))


def test_the_ndc_falls_back_to_the_lot_and_says_when_it_is_unknown(
    knowledge: KnowledgeBase, rules: BillingRules
) -> None:
    def drug_line(vials: tuple[VialUsed, ...]) -> tuple[str | None, str]:
        claim = bill(
            knowledge,
            rules,
            SessionToBill(
                "XEOMIN",
                "cervical-dystonia",
                (BilledSite("splenius-capitis", "left"),),
                Decimal(100),
                Decimal(0),
                (),
                "",
                (),
                vials,
            ),
        )
        line = next(line for line in claim.lines if line.kind is LineKind.DRUG)
        return line.ndc, line.note

    assert drug_line((VialUsed(Decimal(100), Decimal(100), "0259-1610-01"),)) == ("00259-1610-01", "")  # fictional lot
    ndc, note = drug_line((VialUsed(Decimal(100), Decimal(100)),))
    assert ndc is None
    assert "no NDC is known for the 100 U vial" in note
    ndc, note = drug_line(())
    assert ndc is None
    assert "no vial was recorded" in note
    ndc, note = drug_line((VialUsed(Decimal(200), Decimal(60)), VialUsed(Decimal(100), Decimal(40))))
    assert ndc == "00259-1620-01"  # the 200 U vial gave most
    assert "a payer may want one line per NDC" in note


def test_without_a_code_under_the_indication_the_indications_first_code_is_billed_and_flagged(
    knowledge: KnowledgeBase, rules: BillingRules
) -> None:
    hemifacial = bill(
        knowledge,
        rules,
        SessionToBill(
            "BOTOX",
            "hemifacial-spasm",
            (BilledSite("orbicularis-oculi", "left"),),
            Decimal(10),
            Decimal(0),
            (),
            "",
            ("G51.31",),
        ),
    )
    assert hemifacial.diagnoses == ("G51.31",)  # the chart's specific code, under G51.3
    neck = bill(
        knowledge,
        rules,
        SessionToBill("BOTOX", "cervical-dystonia", (BilledSite("splenius-capitis", "left"),), Decimal(50), Decimal(0)),
    )
    assert neck.diagnoses == ("G24.3",)
    assert "confirm the patient's own code" in neck.lines[0].note


def test_the_billing_rules_are_cited_and_the_unverified_one_is_marked(knowledge: KnowledgeBase) -> None:
    figures = {f.path: f.figure.citation for f in knowledge.figures() if f.path.startswith("billing/")}
    assert figures["billing/administered_units"].source.id == "cgs-jw-jz-2023"
    assert figures["billing/jw_jz"].source.id == "cms-discarded-drugs"
    assert figures["billing/guidance"].grade is Grade.UNVERIFIED
    assert all(c.grade is Grade.REFERENCE for path, c in figures.items() if path != "billing/guidance")
    assert knowledge.billing is not None
    assert knowledge.billing.default_place_of_service == "11"
