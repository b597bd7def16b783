"""The real knowledge files: they load, every figure is cited, references resolve, and the label
figures match ../shared/reference/ (each expected value below names the section it was checked against)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bont.domain.doses import Units, WeightCappedDose
from bont.domain.evidence import Grade, cited_figures
from bont.domain.knowledge import KnowledgeBase
from bont.domain.populations import Population
from bont.domain.protocols import LabelStatus, Laterality, Protocol
from bont.domain.windows import Window

INDICATIONS = [
    "chronic-migraine",
    "axillary-hyperhidrosis",
    "palmar-hyperhidrosis",
    "plantar-hyperhidrosis",
    "cervical-dystonia",
    "blepharospasm",
    "hemifacial-spasm",
    "upper-limb-spasticity",
    "lower-limb-spasticity",
    "overactive-bladder",
    "neurogenic-detrusor-overactivity",
    "temporomandibular-disorder",
    "bruxism",
    "achalasia",
    "chronic-anal-fissure",
    "gastroparesis",
    "myofascial-pain",
    "chronic-low-back-pain",
    "depression",
    "trigeminal-neuralgia",
    "postherpetic-neuralgia",
    "painful-diabetic-neuropathy",
    "sialorrhea",
    "strabismus",
]
PRODUCTS = [
    "onabotulinumtoxinA",
    "abobotulinumtoxinA",
    "incobotulinumtoxinA",
    "rimabotulinumtoxinB",
    "daxibotulinumtoxinA",
]
MUSCLES = [
    "frontalis",
    "corrugator",
    "procerus",
    "temporalis",
    "occipitalis",
    "cervical-paraspinal",
    "trapezius",
    "sternocleidomastoid",
    "splenius-capitis",
    "levator-scapulae",
    "biceps-brachii",
    "flexor-carpi-radialis",
    "gastrocnemius-medial",
    "soleus",
    "tibialis-posterior",
    "detrusor",
    "orbicularis-oculi",
    "masseter",
    "lower-esophageal-sphincter",
    "internal-anal-sphincter",
    "parotid-gland",
    "submandibular-gland",
    "axilla",
    "palm",
    "sole",
]


def protocol(knowledge: KnowledgeBase, indication: str, product: str, population: Population) -> Protocol:
    (found,) = knowledge.protocols_for(indication, product, population)
    return found


def test_every_indication_and_product_of_the_brief_exists(knowledge: KnowledgeBase) -> None:
    assert sorted(knowledge.indications) == sorted(INDICATIONS)
    assert sorted(knowledge.products) == sorted(PRODUCTS)


def test_every_named_muscle_is_in_the_catalogue_with_a_region_and_a_diagram_point(knowledge: KnowledgeBase) -> None:
    for muscle in MUSCLES:
        target = knowledge.targets[muscle]
        assert target.region
        assert target.diagram


def test_every_figure_has_a_known_source_and_a_grade(knowledge: KnowledgeBase) -> None:
    figures = list(knowledge.figures())
    assert len(figures) > 500
    for item in figures:
        citation = item.figure.citation
        assert knowledge.sources[citation.source.id] is citation.source, item.path
        assert isinstance(citation.grade, Grade), item.path


def test_every_protocol_row_with_a_dose_is_cited(knowledge: KnowledgeBase) -> None:
    for each in knowledge.protocols():
        for row in each.muscles:
            assert all(f is None or f.citation.source.id for f in (row.units, row.units_per_kg, row.sites))
        assert [path for path, _ in cited_figures(each)], each.id


def test_every_indication_gives_every_product_a_status_with_a_source(knowledge: KnowledgeBase) -> None:
    for indication in knowledge.indications:
        for product in knowledge.products:
            status = knowledge.status(indication, product)
            assert status.citations, (indication, product)
            if status.status is LabelStatus.APPROVED:
                assert knowledge.protocols_for(indication, product), (indication, product)


def test_every_approved_product_has_an_approved_protocol_per_population(knowledge: KnowledgeBase) -> None:
    for product in knowledge.products.values():
        for approval in product.approvals:
            protocols = knowledge.protocols_for(approval.value.indication, product.id, approval.value.population)
            assert any(p.status is LabelStatus.APPROVED for p in protocols), approval.value.key


def test_off_label_protocols_cite_a_study_or_say_they_are_unverified(knowledge: KnowledgeBase) -> None:
    for each in knowledge.protocols():
        if each.status is LabelStatus.OFF_LABEL:
            assert each.citation.grade in (Grade.STUDY, Grade.UNVERIFIED), each.id


def test_fixed_dosing_tables_add_up_to_the_protocol_total(knowledge: KnowledgeBase) -> None:
    checked = 0
    for each in knowledge.protocols():
        rows = [row for row in each.muscles if not row.optional]
        if each.total_units is None or not each.total_units.value.is_fixed:
            continue
        if not rows or any(row.units is None or not row.units.value.is_fixed for row in rows):
            continue
        assert sum(row.units.value.minimum for row in rows if row.units) == each.total_units.value.minimum, each.id
        if each.sites is not None and all(row.sites is not None for row in rows):
            assert sum(row.sites.value.minimum for row in rows if row.sites) == each.sites.value.minimum, each.id
        checked += 1
    assert checked >= 10


def test_unverified_figures_can_never_drive_a_block() -> None:
    assert not Grade.UNVERIFIED.may_block
    assert not Grade.STUDY.may_block
    assert Grade.LABEL.may_block


# -- spot checks against ../shared/reference/labels.md


def test_chronic_migraine_is_155_units_in_31_sites_across_seven_areas(knowledge: KnowledgeBase) -> None:
    """labels.md §1.7."""
    cm = protocol(knowledge, "chronic-migraine", "onabotulinumtoxinA", Population.ADULT)
    fixed = {row.muscle: (row.units, row.sites) for row in cm.muscles if not row.optional}
    expected = {
        "corrugator": (10, 2),
        "procerus": (5, 1),
        "frontalis": (20, 4),
        "temporalis": (40, 8),
        "occipitalis": (30, 6),
        "cervical-paraspinal": (20, 4),
        "trapezius": (30, 6),
    }
    assert {m: (u.value.minimum, s.value.minimum) for m, (u, s) in fixed.items() if u and s} == expected
    assert cm.total_units is not None
    assert cm.total_units.value.minimum == 155
    assert cm.sites is not None
    assert cm.sites.value.minimum == 31
    assert cm.min_interval_days is not None
    assert cm.min_interval_days.value == 84
    assert next(r for r in cm.muscles if r.muscle == "procerus").laterality is Laterality.MIDLINE
    optional_units = sum(r.units.value.maximum for r in cm.muscles if r.optional and r.units)
    assert optional_units == 40  # follow-the-pain: up to 195 U
    assert all(r.units.citation.grade is Grade.STUDY for r in cm.muscles if r.optional and r.units)


def test_bladder_protocols_match_the_label(knowledge: KnowledgeBase) -> None:
    """labels.md §1.4–1.6."""
    oab = protocol(knowledge, "overactive-bladder", "onabotulinumtoxinA", Population.ADULT)
    assert (oab.total_units.value.minimum, oab.sites.value.minimum) == (100, 20)  # type: ignore[union-attr]
    assert oab.volume_per_site_ml is not None
    assert oab.volume_per_site_ml.value == Decimal("0.5")
    ndo = protocol(knowledge, "neurogenic-detrusor-overactivity", "onabotulinumtoxinA", Population.ADULT)
    assert (ndo.total_units.value.minimum, ndo.sites.value.minimum) == (200, 30)  # type: ignore[union-attr]
    child = protocol(knowledge, "neurogenic-detrusor-overactivity", "onabotulinumtoxinA", Population.PEDIATRIC)
    assert child.ages.value.minimum == 5
    for band in child.weight_bands[:-1]:
        # Each band's dose is 6 U/kg times the band's lower bound.
        assert band.value.total_units == 6 * band.value.minimum_kg
    heaviest = child.weight_bands[-1].value
    assert (heaviest.minimum_kg, heaviest.below_kg, heaviest.total_units) == (34, None, 200)
    band = child.weight_band(Decimal("23.9"))
    assert band is not None
    assert band.value.total_units == 132


def test_product_wide_limits(knowledge: KnowledgeBase) -> None:
    """labels.md §0, §1.2, §2.2, §3.2."""
    botox = knowledge.product("onabotulinumtoxinA")
    adult = next(limit for limit in botox.limits if limit.value.population is Population.ADULT)
    assert adult.value.maximum == Units("onabotulinumtoxinA", Decimal(400))
    assert adult.value.window == Window(months=3)
    pediatric = next(limit for limit in botox.limits if limit.value.population is Population.PEDIATRIC)
    assert pediatric.value.maximum == WeightCappedDose("onabotulinumtoxinA", Decimal(10), Decimal(340))
    assert pediatric.citation.grade is Grade.UNVERIFIED  # seen only in a payer policy
    xeomin = knowledge.product("incobotulinumtoxinA").limits[0].value
    assert xeomin.maximum == Units("incobotulinumtoxinA", Decimal(400))
    assert xeomin.window is None
    dysport = knowledge.product("abobotulinumtoxinA").limits[0].value
    assert dysport.maximum == Units("abobotulinumtoxinA", Decimal(1500))


def test_hcpcs_codes_and_billing_unit_sizes(knowledge: KnowledgeBase) -> None:
    """labels.md §6: J0586 is per 5 units and J0587 per 100 units."""
    codes = {p.id: (str(p.hcpcs.value.code), p.hcpcs.value.units_per_billing_unit) for p in knowledge.products.values()}
    assert codes == {
        "onabotulinumtoxinA": ("J0585", 1),
        "abobotulinumtoxinA": ("J0586", 5),
        "rimabotulinumtoxinB": ("J0587", 100),
        "incobotulinumtoxinA": ("J0588", 1),
        "daxibotulinumtoxinA": ("J0589", 1),
    }


def test_cow_milk_protein_is_an_excipient_allergy_of_abobotulinumtoxinA_only(knowledge: KnowledgeBase) -> None:
    """labels.md §2.6."""
    with_milk = [p.id for p in knowledge.products.values() if any(e.value == "cow-milk-protein" for e in p.excipients)]
    assert with_milk == ["abobotulinumtoxinA"]


def test_blepharospasm_cumulative_cap_and_per_site_ceiling(knowledge: KnowledgeBase) -> None:
    """labels.md §1.14."""
    bleph = protocol(knowledge, "blepharospasm", "onabotulinumtoxinA", Population.ADULT)
    assert bleph.cumulative_limit is not None
    assert bleph.cumulative_limit.value.maximum.amount == 200
    assert bleph.cumulative_limit.value.window == Window(days=30)
    assert bleph.max_units_per_site is not None
    assert bleph.max_units_per_site.value == 5


def test_pediatric_spasticity_caps(knowledge: KnowledgeBase) -> None:
    """labels.md §1.10, §2.3."""
    botox_ul = protocol(knowledge, "upper-limb-spasticity", "onabotulinumtoxinA", Population.PEDIATRIC)
    assert botox_ul.session_maximum is not None
    assert botox_ul.session_maximum.value == WeightCappedDose("onabotulinumtoxinA", Decimal(6), Decimal(200))
    dysport_ul = protocol(knowledge, "upper-limb-spasticity", "abobotulinumtoxinA", Population.PEDIATRIC)
    assert dysport_ul.per_side_maximum is not None  # "per limb"
    assert dysport_ul.per_side_maximum.value == WeightCappedDose("abobotulinumtoxinA", Decimal(16), Decimal(640))
    assert dysport_ul.min_interval_days is not None
    assert dysport_ul.min_interval_days.value == 112
    legs = {
        p.variant: p
        for p in knowledge.protocols_for("lower-limb-spasticity", "abobotulinumtoxinA", Population.PEDIATRIC)
    }
    assert legs["unilateral"].session_maximum.value == WeightCappedDose(  # type: ignore[union-attr]
        "abobotulinumtoxinA", Decimal(15), Decimal(1000)
    )
    assert legs["bilateral"].session_maximum.value == WeightCappedDose(  # type: ignore[union-attr]
        "abobotulinumtoxinA", Decimal(30), Decimal(1000)
    )


def test_sialorrhea_doses(knowledge: KnowledgeBase) -> None:
    """labels.md §3.3 and §4.3."""
    xeomin = protocol(knowledge, "sialorrhea", "incobotulinumtoxinA", Population.ADULT)
    rows = {row.muscle: row.units.value.minimum for row in xeomin.muscles if row.units}
    assert rows == {"parotid-gland": 60, "submandibular-gland": 40}  # 30 + 20 U per side
    assert xeomin.min_interval_days is not None
    assert xeomin.min_interval_days.value == 112
    myobloc = protocol(knowledge, "sialorrhea", "rimabotulinumtoxinB", Population.ADULT)
    assert myobloc.total_units is not None
    assert (myobloc.total_units.value.minimum, myobloc.total_units.value.maximum) == (1500, 3500)


def test_cervical_dystonia_is_approved_for_all_five_products(knowledge: KnowledgeBase) -> None:
    """evidence.md §3."""
    statuses = {p: knowledge.status("cervical-dystonia", p).status for p in knowledge.products}
    assert set(statuses.values()) == {LabelStatus.APPROVED}
    botox = protocol(knowledge, "cervical-dystonia", "onabotulinumtoxinA", Population.ADULT)
    assert botox.max_units_per_site is not None
    assert botox.max_units_per_site.value == 50
    scm = next(row for row in botox.muscles if row.muscle == "sternocleidomastoid")
    assert scm.max_units is not None
    assert scm.max_units.value == 100


def test_chronic_migraine_is_off_label_for_all_but_botox(knowledge: KnowledgeBase) -> None:
    statuses = {p: knowledge.status("chronic-migraine", p).status for p in knowledge.products}
    assert [p for p, s in statuses.items() if s is LabelStatus.APPROVED] == ["onabotulinumtoxinA"]


def test_daxxify_beyond_use_time_is_not_guessed(knowledge: KnowledgeBase) -> None:
    """labels.md §5.2: storage and reconstituted use window UNVERIFIED, so bont records none."""
    daxxify = knowledge.product("daxibotulinumtoxinA")
    assert daxxify.beyond_use_hours is None
    assert daxxify.storage_unopened.citation.grade is Grade.UNVERIFIED


@pytest.mark.parametrize(
    ("wanted", "found"),
    [("BOTOX", "onabotulinumtoxinA"), ("dysport", "abobotulinumtoxinA"), ("Myobloc", "rimabotulinumtoxinB")],
)
def test_products_are_found_by_brand(knowledge: KnowledgeBase, wanted: str, found: str) -> None:
    assert knowledge.product(wanted).id == found


def test_unknown_ids_suggest_the_nearest(knowledge: KnowledgeBase) -> None:
    from bont.domain.errors import UnknownIdError

    with pytest.raises(UnknownIdError) as raised:
        knowledge.indication("chronic-migrane")
    assert raised.value.suggestions[0] == "chronic-migraine"
    with pytest.raises(UnknownIdError) as raised_muscle:
        knowledge.target("gastrocnemius")
    assert "gastrocnemius-medial" in raised_muscle.value.suggestions
