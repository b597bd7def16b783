"""Make src/bont/knowledge/data/medicines.csv, the names of everyday medicines bont recognises.

Where the names come from (source ``medlineplus-drug-names`` in sources.yaml): the dictionary shipped in
the PyPI package drug-named-entity-recognition 2.0.9 (Fast Data Science, MIT licence;
``drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2``). That dictionary merges the DrugBank open
vocabulary (CC0), MeSH, MedlinePlus and NHS medicine names. bont keeps only its entries that carry a
MedlinePlus drug-monograph id: the medicines the US National Library of Medicine writes consumer drug
information for, a proxy for medicines in everyday use. The list is not ranked by use. Only names are
copied (facts), never text.

How the file is made, once (the output is committed; nothing reads the package at run time):

    pip download --no-deps -d /tmp/dner drug-named-entity-recognition==2.0.9
    .venv/bin/python scripts/make_medicines.py /tmp/dner/drug_named_entity_recognition-2.0.9-py3-none-any.whl

(the wheel used: sha256 dc0c9cb4487b4cd31c123f941cd9d5edfc55facdb280ab65e7b2cd08d3fd391c; the same wheel
gives the same file, byte for byte).

1. Each MedlinePlus title becomes one or more ingredients: qualifiers in brackets, routes and forms
   ("vaginal", "patch", "lipid complex"), a biologic's four-letter suffix ("erenumab-aooe") are dropped;
   a combination ("acetaminophen and codeine") is split into its ingredients and kept as a name of the
   combination. A few titles the rules cannot read are spelt out in OVERRIDES.
2. Every other name of the entry (brand names, international and salt names from DrugBank, MeSH entry
   terms), and of the dictionary's entry of the same ingredient name, becomes an alias of its ingredients.
   Aliases with digits, commas or brackets (codes, systematic and inverted names) or shorter than four
   letters are left out, and so is a name that would mean two different things.
3. WITHHELD ingredients are left out on purpose, with their brands and combinations: medicines whose
   own pharmacological class is one that bont's cited interaction classes are about (antimuscarinics,
   skeletal muscle relaxants, neuromuscular blockers, anticoagulants, antiplatelets and thrombolytics),
   or known to impair neuromuscular transmission (clindamycin, quinidine), but which those classes do not
   list. Recognising them would silence the check; left unknown, it keeps asking (``unrecognized-term``)
   until a clinician adds them, with a citation, to a class. This is bont's judgement, not a cited fact:
   it can only add a warning, never remove one. Botulinum toxins are left out too: they belong in the
   history, not the medicine list.

The pickle is read with an unpickler that builds nothing but dicts, lists, sets and strings.
"""

from __future__ import annotations

import bz2
import csv
import io
import pickle
import re
import sys
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from bont.domain.knowledge import medicine_key

DICTIONARY = "drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2"
OUTPUT = Path(__file__).resolve().parent.parent / "src/bont/knowledge/data/medicines.csv"
HEADER = (
    "# Everyday medicines bont recognises: each name (an ingredient, or an alias: a brand, salt or other name)\n"
    "# with its ingredients. Source: medlineplus-drug-names (sources.yaml). Made by scripts/make_medicines.py;\n"
    "# do not edit by hand. medlineplus: the MedlinePlus drug monograph id of the title the name comes from.\n"
)

# Titles the rules below cannot read, spelt out: title (without its bracketed qualifier) -> ingredients.
OVERRIDES: dict[str, tuple[str, ...]] = {
    "calcium, magnesium, potassium, and sodium oxybate": (
        "calcium oxybate",
        "magnesium oxybate",
        "potassium oxybate",
        "sodium oxybate",
    ),
    "hydrocodone combination products": ("hydrocodone",),
    "belladonna alkaloid combinations and phenobarbital": ("belladonna alkaloids", "phenobarbital"),
    "cabotegravir and rilpivirines": ("cabotegravir", "rilpivirine"),
    "progestin-only oral contraceptives": ("progestin",),
    "estrogen and progestin": ("estrogen", "progestin"),
    "insulin human inhalation": ("insulin human",),
    "corticotropin, repository": ("corticotropin",),
    "epoetin alfa,": ("epoetin alfa",),
    "penicillin g": ("penicillin g",),
    "buprenorphine sublingual and": ("buprenorphine",),  # "... and buccal", its route dropped
    "antipyrine-benzocaine": ("antipyrine", "benzocaine"),
    "stool softeners": ("docusate",),
    "iron supplements": ("iron",),
    "lactic acid, citric acid, and potassium bitartrate vaginal contraceptive": (
        "lactic acid",
        "citric acid",
        "potassium bitartrate",
    ),
}
# Ingredients a title names otherwise than another title or a drug class does.
SAME = {
    "polymyxin": "polymyxin b",
    "cromolyn sodium": "cromolyn",
    "fludrocortisone acetate": "fludrocortisone",
    "pirbuterol acetate": "pirbuterol",
    "anhydrous citric acid": "citric acid",
    "human insulin": "insulin human",
    "hyaluronidase human": "hyaluronidase",
}

# Medicines whose own class is one of bont's interaction classes but which bont's cited class lists do not
# name: kept unrecognised (see the module docstring). bont's judgement of their class, not a cited fact.
WITHHELD: dict[str, str] = {
    # antimuscarinic (anticholinergic) drugs
    "hyoscyamine": "antimuscarinic",
    "dicyclomine": "antimuscarinic",
    "clidinium": "antimuscarinic",
    "methscopolamine": "antimuscarinic",
    "flavoxate": "antimuscarinic",
    "propiverine": "antimuscarinic",
    "ipratropium": "antimuscarinic",
    "tiotropium": "antimuscarinic",
    "aclidinium": "antimuscarinic",
    "umeclidinium": "antimuscarinic",
    "revefenacin": "antimuscarinic",
    "procyclidine": "antimuscarinic",
    "biperiden": "antimuscarinic",
    "homatropine": "antimuscarinic",
    "cyclopentolate": "antimuscarinic",
    "tropicamide": "antimuscarinic",
    "mepenzolate": "antimuscarinic",
    "belladonna alkaloids": "antimuscarinic",
    # skeletal muscle relaxants
    "chlorzoxazone": "skeletal muscle relaxant",
    "metaxalone": "skeletal muscle relaxant",
    # neuromuscular blockade (their own labels describe it)
    "clindamycin": "neuromuscular blocking properties",
    "lincomycin": "neuromuscular blocking properties",
    "spectinomycin": "aminocyclitol antibiotic",
    "quinidine": "neuromuscular blocking properties",
    "procainamide": "neuromuscular blocking properties",
    "colistimethate": "polymyxin (a prodrug of colistin)",
    "mivacurium": "neuromuscular blocker",
    "tubocurarine": "neuromuscular blocker",
    # anticoagulants, antiplatelets and thrombolytics
    "cilostazol": "antiplatelet",
    "ticlopidine": "antiplatelet",
    "vorapaxar": "antiplatelet",
    "cangrelor": "antiplatelet",
    "argatroban": "anticoagulant",
    "bivalirudin": "anticoagulant",
    "desirudin": "anticoagulant",
    "betrixaban": "anticoagulant",
    "tinzaparin": "anticoagulant",
    "caplacizumab": "antithrombotic",
    "alteplase": "thrombolytic",
    "reteplase": "thrombolytic",
    "tenecteplase": "thrombolytic",
}

# Words that qualify a title's ingredient without naming it (routes, forms, preparations).
QUALIFIERS = (
    "pyelocalyceal",
    "intravesical",
    "urogenital",
    "lozenges",
    "lozenge",
    "implant",
    "viscous",
    "cream",
    "gum",
    "vaginal suppositories",
    "vaginal contraceptive",
    "nasal solution",
    "nasal powder",
    "nasal spray",
    "nasal gel",
    "sublingual spray",
    "intrauterine system",
    "transdermal patch",
    "lipid complex",
    "live intranasal",
    "intramuscular",
    "subcutaneous",
    "intrapleural",
    "ophthalmic",
    "inhalation",
    "intranasal",
    "sublingual",
    "transdermal",
    "liposomal",
    "injection",
    "vaginal",
    "topical",
    "buccal",
    "rectal",
    "nasal",
    "patch",
    "spray",
    "otic",
    "oral",
)
BIOLOGIC_SUFFIX = re.compile(r"^(.*[a-z]{5})-[a-z]{4}$")  # the FDA's four-letter suffix of a biologic
SPLIT = re.compile(r",\s*and\s+|,\s*|\s+and\s+|/")
ALIAS = re.compile(r"^[^\W\d_][^\W\d_ '.\-]*(?:[ '.\-]+[^\W\d_]+)*\.?$")
SALTS = {
    "hydrochloride",
    "hcl",
    "sodium",
    "potassium",
    "calcium",
    "magnesium",
    "sulfate",
    "sulphate",
    "succinate",
    "tartrate",
    "maleate",
    "mesylate",
    "besylate",
    "bisulfate",
    "citrate",
    "fumarate",
    "acetate",
    "phosphate",
    "bromide",
    "chloride",
    "hydrobromide",
    "monohydrate",
    "dihydrate",
    "trihydrate",
    "anhydrous",
    "salt",
}


class _NamesOnly(pickle.Unpickler):
    """Unpickles plain containers and strings; refuses every other class."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in {"dict", "list", "set", "frozenset", "tuple"}:
            return getattr(__import__("builtins"), name)
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def read_dictionary(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        raw = bz2.decompress(archive.read(DICTIONARY))
    data: dict[str, Any] = _NamesOnly(io.BytesIO(raw)).load()
    return data


def _strip_qualifiers(text: str) -> str:
    text = re.sub(r"\s*\([^)]*\)", "", text).strip(" ,")
    text = text.replace("extended-release ", "")
    changed = True
    while changed:
        changed = False
        for qualifier in QUALIFIERS:
            if text.endswith(" " + qualifier):
                text, changed = text[: -len(qualifier) - 1].strip(" ,"), True
    match = BIOLOGIC_SUFFIX.match(text)
    return match.group(1) if match else text


def ingredients_of(title: str) -> tuple[str, ...]:
    """The ingredients a MedlinePlus title names."""
    text = _strip_qualifiers(title)
    if text in OVERRIDES:
        parts = list(OVERRIDES[text])
    elif "vaccine" in text:
        parts = [text[: text.index("vaccine") + len("vaccine")]]
    else:
        parts = [_strip_qualifiers(part) for part in SPLIT.split(text) if part.strip()]
    return tuple(dict.fromkeys(SAME.get(part, part) for part in parts))


def usable_alias(name: str) -> bool:
    words = name.replace("-", " ").replace(".", " ").split()
    return (
        ALIAS.match(name) is not None
        and sum(ch.isalpha() for ch in name) >= 4
        and not all(word in SALTS for word in words)
    )


def main(wheel: Path) -> None:
    data = read_dictionary(wheel)
    to_canonical: dict[str, list[str]] = data["drug_variant_to_canonical"]
    canonical_data: dict[str, dict[str, Any]] = data["drug_canonical_to_data"]
    variants: dict[str, set[str]] = defaultdict(set)
    for variant, canonicals in to_canonical.items():
        for canonical in canonicals:
            variants[canonical].add(variant)

    ingredients: dict[str, str] = {}  # ingredient -> MedlinePlus id of the first title naming it
    names: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    sources: dict[str, str] = {}
    withheld_titles = 0
    for title in sorted(c for c, d in canonical_data.items() if "medline_plus_id" in d):
        medline = canonical_data[title]["medline_plus_id"]
        found = ingredients_of(title)
        if any("botulinumtoxin" in i or i in WITHHELD for i in found):
            withheld_titles += 1
            continue
        for ingredient in found:
            ingredients.setdefault(ingredient, medline)
        cleaned = _strip_qualifiers(title)
        aliases = set(variants[title]) | ({cleaned} if cleaned not in OVERRIDES else set())
        if len(found) == 1:
            # The dictionary's own entry of the same ingredient (DrugBank, NHS) holds its other names.
            aliases |= variants.get(found[0], set())
        for alias in aliases:
            if alias not in found and (alias == cleaned or usable_alias(alias)):
                names[alias].add(found)
                sources.setdefault(alias, medline)

    rows: list[tuple[str, str, str, str]] = [
        (ingredient, "ingredient", ingredient, medline) for ingredient, medline in ingredients.items()
    ]
    # Names are compared as bont compares them ("klor-con" is "klor con"): one meaning per compared form.
    taken = {medicine_key(ingredient) for ingredient in ingredients}
    by_key: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for alias, meanings in names.items():
        by_key[medicine_key(alias)] |= meanings
    ambiguous = 0
    for alias in sorted(names):
        key = medicine_key(alias)
        if key in taken:
            continue  # an ingredient's own name means that ingredient; one spelling of each other name
        taken.add(key)
        if len(by_key[key]) > 1:
            ambiguous += 1
            continue
        (found,) = by_key[key]
        rows.append((alias, "alias", ";".join(found), sources[alias]))
    rows.sort()
    buffer = io.StringIO()
    buffer.write(HEADER)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "kind", "ingredients", "medlineplus"])
    writer.writerows(rows)
    OUTPUT.write_text(buffer.getvalue(), encoding="utf-8")
    aliases_written = sum(1 for row in rows if row[1] == "alias")
    print(
        f"{len(ingredients)} ingredients, {aliases_written} aliases; left out: {withheld_titles} withheld titles, "
        f"{ambiguous} ambiguous names -> {OUTPUT}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_medicines.py PATH/drug_named_entity_recognition-2.0.9-py3-none-any.whl")
    main(Path(sys.argv[1]))
