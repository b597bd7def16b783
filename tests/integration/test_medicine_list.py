"""The list of everyday medicines: what it holds, how an entry is matched to an ingredient and its interaction
classes, and what "did you mean" may offer for an entry that matches nothing."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bont.domain.errors import KnowledgeError
from bont.domain.knowledge import KnowledgeBase, max_spelling_edits, medicine_key, spelling_edits
from bont.domain.vocabulary import MedicineList
from bont.knowledge import DEFAULT_DATA_DIR, load_knowledge
from tests.integration.knowledge_files import edit

EVERYDAY = {
    "topiramate": "Topamax",
    "propranolol": "Inderal",
    "amitriptyline": "Elavil",
    "candesartan": "Atacand",
    "sumatriptan": "Imitrex",
    "naproxen": "Aleve",
    "erenumab": "Aimovig",
    "gabapentin": "Neurontin",
    "mirabegron": "Myrbetriq",
    "tamsulosin": "Flomax",
    "sertraline": "Zoloft",
    "metformin": "Glucophage",
    "lisinopril": "Zestril",
    "atorvastatin": "Lipitor",
    "levothyroxine": "Levoxyl",
    "amlodipine": "Norvasc",
    "omeprazole": "Prilosec",
    "baclofen": "Lioresal",
    "tizanidine": "Zanaflex",
    "oxybutynin": "Ditropan",
    "warfarin": "Coumadin",
    "apixaban": "Eliquis",
    "clopidogrel": "Plavix",
    "gentamicin": "Garamycin",
    "tobramycin": "Tobi",
    "acetaminophen": "Tylenol",
}


def _rows() -> list[dict[str, str]]:
    lines = (DEFAULT_DATA_DIR / "medicines.csv").read_text(encoding="utf-8").splitlines()
    return list(csv.DictReader(line for line in lines if not line.startswith("#")))


def test_the_list_holds_a_thousand_ingredients_and_every_alias_names_one() -> None:
    rows = _rows()
    ingredients = {row["name"] for row in rows if row["kind"] == "ingredient"}
    assert len(ingredients) >= 1000
    for row in rows:
        assert row["kind"] in ("ingredient", "alias"), row
        assert set(row["ingredients"].split(";")) <= ingredients, row
    keys = [medicine_key(row["name"]) for row in rows]
    assert len(keys) == len(set(keys)), "a name is listed twice, perhaps spelt differently"
    assert "naproxen" in ingredients
    assert "Naprosyn".casefold() in {row["name"] for row in rows}


def test_the_list_is_cited(knowledge: KnowledgeBase) -> None:
    citation = knowledge.medicines.citation
    assert citation is not None
    assert citation.source.id == "medlineplus-drug-names"
    assert "medicines" in {figure.path for figure in knowledge.figures()}


@pytest.mark.parametrize(("ingredient", "brand"), sorted(EVERYDAY.items()))
def test_everyday_medicines_and_their_brands_are_known(knowledge: KnowledgeBase, ingredient: str, brand: str) -> None:
    for name in (ingredient, brand, brand.upper(), f"{brand} 10 mg"):
        medicine = knowledge.find_medicine(name)
        assert medicine is not None, name
        assert medicine.ingredients == (ingredient,), name


@pytest.mark.parametrize(
    ("entry", "ingredient"),
    [
        ("sertraline 50 mg", "sertraline"),
        ("propranolol hydrochloride", "propranolol"),
        ("Propranolol HCl 40mg tablets twice daily", "propranolol"),
        ("candesartan cilexetil 16 mg", "candesartan"),
        ("naproxen sodium 220 mg", "naproxen"),
        ("Aimovig 70 mg/mL pen monthly", "erenumab"),
        ("amitriptyline 2.5mg nocte", "amitriptyline"),
        ("levothyroxine sodium 75 mcg", "levothyroxine"),
        ("IV gentamicin q8h", "gentamicin"),
    ],
)
def test_salts_strengths_forms_and_doses_are_ignored(knowledge: KnowledgeBase, entry: str, ingredient: str) -> None:
    medicine = knowledge.find_medicine(entry)
    assert medicine is not None
    assert medicine.ingredient == ingredient


def test_a_combination_is_known_by_all_its_parts(knowledge: KnowledgeBase) -> None:
    medicine = knowledge.find_medicine("oxycodone/acetaminophen 5/325 mg")
    assert medicine is not None
    assert medicine.ingredients == ("oxycodone", "acetaminophen")
    assert medicine.ingredient == "oxycodone + acetaminophen"
    assert knowledge.find_medicine("sertraline and zelvatrine") is None


def test_a_name_that_is_itself_a_salt_names_itself(knowledge: KnowledgeBase) -> None:
    medicine = knowledge.find_medicine("magnesium sulfate 4 g IV")
    assert medicine is not None
    assert medicine.ingredients == ("magnesium sulfate",)
    assert [c.id for c in medicine.classes] == ["neuromuscular-blockers"]


def test_every_class_member_keeps_its_class(knowledge: KnowledgeBase) -> None:
    for drug_class in knowledge.drug_classes.values():
        for member in drug_class.members:
            medicine = knowledge.find_medicine(member)
            assert medicine is not None, member
            assert drug_class in medicine.classes, member


@pytest.mark.parametrize(
    ("brand", "class_id"),
    [
        ("Garamycin", "aminoglycosides"),
        ("Coumadin 5 mg", "anticoagulants-antiplatelets"),
        ("Eliquis", "anticoagulants-antiplatelets"),
        ("Plavix", "anticoagulants-antiplatelets"),
        ("Lioresal", "muscle-relaxants"),
        ("Zanaflex", "muscle-relaxants"),
        ("Ditropan XL", "anticholinergics"),
    ],
)
def test_a_brand_carries_the_interaction_class_of_its_ingredient(
    knowledge: KnowledgeBase, brand: str, class_id: str
) -> None:
    assert class_id in {c.id for c in knowledge.find_drug_classes(brand)}


def test_a_medicine_outside_every_class_has_none(knowledge: KnowledgeBase) -> None:
    for name in ("amitriptyline", "Topamax", "sertraline 50 mg"):
        medicine = knowledge.find_medicine(name)
        assert medicine is not None
        assert medicine.classes == ()
        assert knowledge.find_drug_classes(name) == ()


@pytest.mark.parametrize(
    "entry",
    [
        "dicyclomine",  # antimuscarinics the cited anticholinergic class does not list
        "hyoscyamine",
        "Bentyl",
        "chlorzoxazone",  # a skeletal muscle relaxant the cited class does not list
        "cilostazol",  # an antiplatelet the cited class does not list
        "clindamycin",  # its own label describes neuromuscular blocking properties
        "colistimethate",
        "Botox",  # a toxin belongs in the history, not the medicine list
        "onabotulinumtoxinA",
        "zelvatrine",  # made up
        "Brevoxilan 20 mg",
    ],
)
def test_withheld_and_made_up_medicines_stay_unknown(knowledge: KnowledgeBase, entry: str) -> None:
    assert knowledge.find_medicine(entry) is None


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("gentamycin", ("gentamicin",)),
        ("sertralin", ("sertraline",)),
        ("sertralin 50 mg", ("sertraline",)),
        ("topiramte", ("topiramate",)),
        ("amitryptiline", ("amitriptyline",)),
        ("zelvatrine", ()),
        ("xq", ()),
    ],
)
def test_did_you_mean_offers_only_close_spellings(
    knowledge: KnowledgeBase, typed: str, offered: tuple[str, ...]
) -> None:
    assert knowledge.nearest_terms(typed, "medication") == offered


def test_topiramate_is_never_offered_tobramycin(knowledge: KnowledgeBase) -> None:
    # Without the medicine list topiramate is unknown: the drug classes alone must not offer an aminoglycoside.
    classes_only = dataclasses.replace(knowledge, medicines=MedicineList())
    assert classes_only.find_medicine("topiramate") is None
    for base in (knowledge, classes_only):
        for typed in ("topiramate", "topiramte", "topiramate 50 mg", "tobramate"):
            assert not any("tobramycin" in hint for hint in base.nearest_terms(typed, "medication")), typed


ONE_WORD_INGREDIENTS = sorted(row["name"] for row in _rows() if row["kind"] == "ingredient" and row["name"].isalpha())


@st.composite
def typos(draw: st.DrawFn) -> str:
    """A one-word ingredient with up to three random edits."""
    name = draw(st.sampled_from(ONE_WORD_INGREDIENTS))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(name)))
        letter = draw(st.sampled_from("aeiourstnlmcy"))
        name = draw(st.sampled_from([name[:at] + letter + name[at:], name[:at] + name[at + 1 :], name]))
    return name or "x"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typos())
def test_a_suggestion_is_always_within_the_edit_bound(knowledge: KnowledgeBase, typed: str) -> None:
    wanted = medicine_key(typed)
    for hint in knowledge.nearest_terms(typed, "medication"):
        name = hint.split(" (")[0]
        assert name[0] == wanted[0]
        assert spelling_edits(wanted, name, max_spelling_edits(len(wanted))) is not None, (typed, hint)


def test_a_brand_with_its_ingredient_in_brackets_is_that_ingredient(knowledge: KnowledgeBase) -> None:
    medicine = knowledge.find_medicine("Aleve (naproxen sodium) 220mg")
    assert medicine is not None
    assert medicine.ingredients == ("naproxen",)
    assert knowledge.find_medicine("Aleve (zelvatrine)") is None


# -- a broken medicine table fails loudly, naming the file and the line


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("\ntopamax,alias,topiramate,", "\ntopamax,alias,topiramatum-x,", "'topiramatum-x' is not an ingredient"),
        ("\ntopamax,alias,topiramate,", "\nTopamax,alias,topiramate,", "lower case"),
        ("\ntopamax,alias,topiramate,", "\ntopamax,brand,topiramate,", "kind 'brand'"),
        ("\ntopamax,alias,topiramate,", "\ntopiramate,alias,topiramate,", "duplicate name 'topiramate'"),
        ("name,kind,ingredients,medlineplus", "name,kind,ingredient", "the columns are"),
    ],
)
def test_a_broken_medicine_table_names_its_line(data_dir: Path, old: str, new: str, problem: str) -> None:
    edit(data_dir / "medicines.csv", old, new)
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(data_dir)
    assert "medicines.csv" in str(error.value)
    assert "line " in str(error.value)
    assert problem in str(error.value)


def test_an_unknown_source_for_the_list_is_refused(data_dir: Path) -> None:
    edit(data_dir / "medicines.yaml", "source: medlineplus-drug-names", "source: nobody")
    with pytest.raises(KnowledgeError, match="unknown source 'nobody'"):
        load_knowledge(data_dir)


def test_a_copy_without_the_list_knows_only_the_drug_classes(data_dir: Path) -> None:
    (data_dir / "medicines.yaml").unlink()
    knowledge = load_knowledge(data_dir)
    assert knowledge.find_medicine("topiramate") is None
    assert knowledge.find_medicine("gentamicin") is not None
