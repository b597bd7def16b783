"""The knowledge base: every product, indication, protocol, target and safety term, looked up by id."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from bont.domain.adverse_events import AdverseEventTerm, ReactionKind, Seriousness
from bont.domain.anatomy import Target
from bont.domain.canvas import Canvas
from bont.domain.code_sets import ConditionCodeSet, ShapeOnlyCodeSet, code_form, looks_like_code, undotted
from bont.domain.errors import UnknownIdError
from bont.domain.evidence import Citation, Cited, Grade, Source, cited_figures
from bont.domain.indications import Indication, ProductStatus
from bont.domain.outcomes import ContinuationRule, HeadacheDayRules, Instrument, ResponderDefinition
from bont.domain.populations import Population
from bont.domain.products import Product
from bont.domain.protocols import LabelStatus, Protocol
from bont.domain.terminology import Terminology
from bont.domain.vocabulary import Allergen, Caution, Condition, DrugClass, Medicine, MedicineList

if TYPE_CHECKING:
    from bont.domain.billing import BillingRules  # billing reads the knowledge base: imported for typing only
    from bont.domain.planning import PlanMemo  # so does the planner

T = TypeVar("T")
K = TypeVar("K")
R = TypeVar("R")
# How many distinct medication entries are remembered, so that a long-running server never grows without bound.
TERM_MEMO_SIZE = 50_000


def _normalise(text: str) -> str:
    return " ".join(text.casefold().replace("_", " ").replace("-", " ").split())


def nearest(wanted: str, candidates: list[str], limit: int = 3, cutoff: float = 0.5) -> tuple[str, ...]:
    """The ids closest to a mistyped one, best first (``cutoff``: difflib similarity, 0–1)."""
    return _nearest_normalised(wanted, _by_normalised(candidates), limit, cutoff)


def _by_normalised(candidates: list[str]) -> dict[str, str]:
    return {_normalise(candidate): candidate for candidate in candidates}


def _nearest_normalised(wanted: str, by_norm: dict[str, str], limit: int = 3, cutoff: float = 0.5) -> tuple[str, ...]:
    matches = difflib.get_close_matches(_normalise(wanted), list(by_norm), n=limit, cutoff=cutoff)
    return tuple(by_norm[match] for match in matches)


# -- medication entries: the words of a medicine's name, and the words around it that name no medicine

_WORD = re.compile(r"[^\W_]+|%")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(word.casefold() for word in text.split())  # entries are casefolded: "µg" becomes "μg"


# Strengths, counts and dosing intervals: "50", "50mg", "5mg" (of "2.5mg"), "q8h", "x2".
_STRENGTH = re.compile(r"^(?:\d+(?:mg|mcg|μg|ug|g|kg|ml|l|iu|u|units?|mmol|meq|h|hr|hrs|x|d)?|q\d+h?|x\d+)$")
# Units, forms, routes, release and frequency: words of a medication entry that do not name a medicine.
_NOISE = _word_set(
    """
    mg mcg µg ug g gram grams kg ml l iu unit units mmol meq microgram micrograms milligram milligrams %
    tablet tablets tab tabs capsule capsules cap caps caplet caplets pill pills softgel injection injections
    inj injectable infusion solution suspension syrup elixir liquid cream ointment gel lotion patch patches
    spray inhaler inhalation nebuliser nebulizer drops drop eye ear nasal oral orally po iv im sc sq subcut
    subcutaneous intravenous intramuscular topical transdermal sublingual buccal vaginal rectal suppository
    powder sachet lozenge chewable dispersible effervescent disintegrating odt pen prefilled syringe er xr
    xl sr cr dr ec ir mr cd la extended sustained controlled modified delayed immediate release enteric
    coated retard daily once twice bd bid tid tds qid qds od om qd qhs hs nocte mane prn weekly monthly
    hourly per day days week weeks month months every needed times dose doses
    """
)
# Salts and hydrates: "propranolol hydrochloride" is propranolol; tried only when the whole name is unknown,
# so that "magnesium sulfate" or "potassium chloride" still name themselves.
_SALTS = _word_set(
    """
    hydrochloride hcl hydrobromide hbr sodium disodium potassium calcium magnesium sulfate sulphate
    bisulfate succinate tartrate bitartrate maleate mesylate mesilate dimesylate besylate besilate citrate
    fumarate acetate phosphate bromide chloride lactate gluconate carbonate nitrate oxalate xinafoate
    tromethamine pamoate decanoate enanthate cypionate propionate dipropionate valerate furoate hyclate
    erbumine cilexetil medoxomil axetil monohydrate dihydrate trihydrate hemihydrate anhydrous micronized
    micronised base salt
    """
)
# Separators of a combination entered as one line ("oxycodone/acetaminophen", "aspirin and dipyridamole"),
# and brackets around a second name of the same medicine ("Aleve (naproxen sodium)"): every part must be known.
_COMBINATION = re.compile(r"[/+&,;()\[\]]|\b(?:and|with|plus)\b", re.IGNORECASE)


def medicine_words(text: str) -> tuple[str, ...]:
    """The words of a medicine's name or a medication entry: lower case, apostrophes dropped, any other
    punctuation a word break ("Klor-Con" -> klor con; "St. John's wort" -> st johns wort)."""
    return tuple(_WORD.findall(text.casefold().replace("'", "").replace("\u2019", "")))


def _naming(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words that may name a medicine: strengths, units, forms and frequencies left out."""
    return tuple(w for w in words if w not in _NOISE and not _STRENGTH.match(w))


def _combination_parts(term: str) -> list[tuple[str, ...]]:
    """The words of each part of an entry split at "/", "+", "and", "with"...; a part that names nothing
    ("325 mg" of "oxycodone/acetaminophen 5/325 mg") is dropped."""
    return [words for words in map(medicine_words, _COMBINATION.split(term)) if _naming(words)]


def medicine_key(text: str) -> str:
    """The form in which medicine names are compared."""
    return " ".join(medicine_words(text))


def max_spelling_edits(length: int) -> int:
    """How many edits (insert, delete, substitute, swap two neighbours) a "did you mean" medicine may be
    from the entry: none below 4 letters, 1 up to 8, 2 up to 14, then 3."""
    if length < 4:
        return 0
    if length <= 8:
        return 1
    return 2 if length <= 14 else 3


def spelling_edits(a: str, b: str, bound: int) -> int | None:
    """The edits between ``a`` and ``b`` (optimal string alignment), or None when more than ``bound``."""
    if abs(len(a) - len(b)) > bound:
        return None
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > bound:
            return None
        before, previous = previous, current
    return previous[-1] if previous[-1] <= bound else None


def _lookup(kind: str, items: Mapping[str, T], wanted: str, aliases: Mapping[str, str]) -> T:
    found = _known_id(items, wanted, aliases)
    if found is not None:
        return items[found]
    raise UnknownIdError(kind, wanted, nearest(wanted, list(items)))


def _known_id(items: Mapping[str, object], wanted: str, aliases: Mapping[str, str]) -> str | None:
    """The id ``wanted`` names: an exact id first, then a name or alias; None, with no "did you mean", when it
    names nothing (a check meets unknown history terms often, and reports them on its own)."""
    if wanted in items:
        return wanted
    return aliases.get(_normalise(wanted))


@dataclass(frozen=True)
class KnowledgeFigure:
    """One cited figure of the knowledge base, with the path that locates it."""

    path: str
    figure: Cited[object]


@dataclass(frozen=True)
class KnowledgeBase:
    sources: Mapping[str, Source]
    products: Mapping[str, Product]
    indications: Mapping[str, Indication]
    targets: Mapping[str, Target]
    conditions: Mapping[str, Condition]
    drug_classes: Mapping[str, DrugClass]
    allergens: Mapping[str, Allergen]
    cautions: Mapping[str, Caution]
    # Outcome instruments (instruments.yaml): the scales, the diary rules, responder definitions and the
    # default continuation rules. Defaults keep a base built without them valid.
    instruments: Mapping[str, Instrument] = field(default_factory=dict)
    headache_day_rules: HeadacheDayRules | None = None
    responder_definitions: tuple[ResponderDefinition, ...] = ()
    continuation_rules: tuple[ContinuationRule, ...] = ()
    # Everyday medicines (medicines.yaml): names known to be medicines, most with no interaction.
    medicines: MedicineList = field(default_factory=MedicineList)
    # Adverse-event terms (adverse-events.yaml): what a prior reaction means for the next toxin, and the
    # regulatory criteria of a serious event.
    adverse_event_terms: Mapping[str, AdverseEventTerm] = field(default_factory=dict)
    seriousness: Seriousness | None = None
    # ICD-10-CM itself (the adapter bont.knowledge.icd10cm): which codes exist, their ancestors and titles. The
    # default knows only how a code is written: a base built by hand matches listed codes only.
    condition_codes: ConditionCodeSet = field(default_factory=ShapeOnlyCodeSet, compare=False, repr=False)
    # Billing rules (billing.yaml): whole billing units, JW/JZ, one guidance code, NDC and NPI forms, each cited.
    billing: BillingRules | None = None
    # The codes records are exchanged in (terminology.yaml): routes, laterality, the dose unit, the procedure.
    terminology: Terminology | None = None
    # The anatomic canvas (canvas.yaml): regional views of the body-map drawings and the label's site patterns.
    canvas: Canvas = field(default_factory=Canvas)

    @cached_property
    def plan_memo(self) -> PlanMemo:
        """What the planner works out from this knowledge base once and reuses (``bont.domain.planning``): kept
        with the knowledge base, so that another one never reads it."""
        from bont.domain.planning import PlanMemo

        return PlanMemo()

    # -- lookups that accept ids, brand names and aliases, and suggest the nearest ids when they fail

    # The alias tables are built once per knowledge base: the check looks names up for every history item.
    @cached_property
    def _product_aliases(self) -> dict[str, str]:
        return {
            _normalise(name): product.id
            for product in self.products.values()
            for name in (product.id, product.brand, product.established_name)
        }

    @cached_property
    def _indication_aliases(self) -> dict[str, str]:
        return {
            _normalise(name): indication.id
            for indication in self.indications.values()
            for name in (indication.id, indication.name, *indication.aliases)
        }

    @cached_property
    def _target_aliases(self) -> dict[str, str]:
        return {
            _normalise(name): target.id
            for target in self.targets.values()
            for name in (target.id, target.name, *target.aliases)
        }

    def product(self, wanted: str) -> Product:
        return _lookup("product", self.products, wanted, self._product_aliases)

    # The id a name resolves to, or None, for callers that report unknown names themselves (the check's history):
    # no "did you mean" is worked out.
    def product_id(self, wanted: str) -> str | None:
        return _known_id(self.products, wanted, self._product_aliases)

    def indication_id(self, wanted: str) -> str | None:
        return _known_id(self.indications, wanted, self._indication_aliases)

    def target_id(self, wanted: str) -> str | None:
        return _known_id(self.targets, wanted, self._target_aliases)

    def indication(self, wanted: str) -> Indication:
        return _lookup("indication", self.indications, wanted, self._indication_aliases)

    def target(self, wanted: str) -> Target:
        return _lookup("muscle", self.targets, wanted, self._target_aliases)

    @cached_property
    def _instrument_aliases(self) -> dict[str, str]:
        return {
            _normalise(name): instrument.id
            for instrument in self.instruments.values()
            for name in (instrument.id, instrument.name)
        }

    def instrument(self, wanted: str) -> Instrument:
        return _lookup("instrument", self.instruments, wanted, self._instrument_aliases)

    def instruments_for(self, indication_id: str) -> tuple[Instrument, ...]:
        """The outcome instruments used for an indication, in the order of the knowledge file."""
        indication = self.indication(indication_id).id
        return tuple(i for i in self.instruments.values() if indication in i.indications)

    def responder_definitions_for(self, indication_id: str) -> tuple[ResponderDefinition, ...]:
        indication = self.indication(indication_id).id
        return tuple(d for d in self.responder_definitions if d.indication == indication)

    def continuation_rules_for(self, indication_id: str) -> tuple[ContinuationRule, ...]:
        """bont's default continuation rules for an indication; a clinic may configure its own."""
        indication = self.indication(indication_id).id
        return tuple(r for r in self.continuation_rules if r.indication == indication)

    # -- the safety vocabulary: free text and codes matched to known terms (None when unknown)

    # Codes are looked up for every condition of every check, by several rules: the tables are built once.
    @cached_property
    def _condition_by_code(self) -> dict[str, Condition]:
        by_code: dict[str, Condition] = {}
        for condition in self.conditions.values():
            for code in condition.icd10:
                by_code.setdefault(str(code), condition)  # the first listed condition wins, as in the file
        return by_code

    @cached_property
    def _indications_by_code(self) -> dict[str, tuple[Indication, ...]]:
        by_code: dict[str, tuple[Indication, ...]] = {}
        for indication in self.indications.values():
            for code in dict.fromkeys(str(c.value.code) for c in indication.icd10):
                by_code[code] = (*by_code.get(code, ()), indication)
        return by_code

    @cached_property
    def _condition_by_name(self) -> dict[str, Condition]:
        by_name: dict[str, Condition] = {}
        for condition in self.conditions.values():
            for name in (condition.id, condition.name, *condition.aliases):
                by_name.setdefault(_normalise(name), condition)
        return by_name

    @cached_property
    def _condition_codes_undotted(self) -> frozenset[str]:
        return frozenset(map(undotted, self._condition_by_code))

    @cached_property
    def _indication_codes_undotted(self) -> frozenset[str]:
        return frozenset(map(undotted, self._indications_by_code))

    def _code_and_ancestors(self, code: str, listed: frozenset[str]) -> Iterator[str]:
        """The code, then the codes above it, nearest first. The code set is asked only when the code itself is
        not what is wanted and a ``listed`` code (undotted) begins its characters (ICD-10-CM's ancestors always
        do): most codes of a check are listed ones, or nothing above them is, and need no look-up."""
        yield code
        bare = undotted(code)
        if any(bare[:end] in listed for end in range(3, len(bare))):
            yield from self.condition_codes.ancestors(code)

    def condition_code(self, term: str) -> str | None:
        """The ICD-10-CM code a condition term is, written as the code set writes it (``l03221`` → ``L03.221``);
        None for free text (a name) and for a code that ICD-10-CM does not hold."""
        code = code_form(term)
        if code is None:
            return None
        if code in self._condition_by_code or code in self._indications_by_code or self.condition_codes.is_valid(code):
            return code
        return None

    def is_unknown_code(self, term: str) -> bool:
        """Whether a condition term is plainly written as an ICD-10-CM code (``L03.999``, ``Z99.999``) that
        ICD-10-CM does not hold: an error where it is entered, not a name to look up."""
        return looks_like_code(term) and self.condition_code(term) is None

    def describe_code(self, term: str) -> str | None:
        """The ICD-10-CM title of a condition term written as a code (``Cellulitis of neck``); None otherwise."""
        code = self.condition_code(term)
        return None if code is None else self.condition_codes.description(code)

    def find_condition(self, term: str) -> Condition | None:
        """A condition by ICD-10-CM code, name or alias. A code matches the condition that lists it or, failing
        that, its nearest ancestor (``L03.221`` under ``L03``, infection at the injection site); a category
        typed above listed codes (``G70``, ``G70.0``) matches the condition that lists the first of them."""
        return _remembered(self._conditions_by_term, term, self._find_condition)

    @cached_property
    def _conditions_by_term(self) -> dict[str, Condition | None]:
        """Terms already looked up: several rules read every condition of every check."""
        return {}

    def _find_condition(self, term: str) -> Condition | None:
        code = code_form(term)
        if code is not None:
            for candidate in self._code_and_ancestors(code, self._condition_codes_undotted):
                if candidate in self._condition_by_code:
                    return self._condition_by_code[candidate]
            for listed, condition in self._condition_by_code.items():
                if listed.startswith(code):
                    return condition
        return self._condition_by_name.get(_normalise(term))

    def indications_coded(self, code: str) -> tuple[Indication, ...]:
        """Indications that list this ICD-10-CM code or its nearest listed ancestor (``G51.31`` under ``G51.3``,
        hemifacial spasm): a known diagnosis, though not a safety concern."""
        wanted = code_form(code)
        if wanted is None:
            return ()
        for candidate in self._code_and_ancestors(wanted, self._indication_codes_undotted):
            if candidate in self._indications_by_code:
                return self._indications_by_code[candidate]
        return ()

    # Medicines are looked up for every medication of every check: the names are normalised once.
    @cached_property
    def _medicine_index(self) -> dict[str, tuple[str, ...]]:
        """Every known medicine name -> its ingredients: the medicine list, then each class member."""
        index = {medicine_key(name): found for name, found in self.medicines.names.items()}
        for drug_class in self.drug_classes.values():
            for member in drug_class.members:
                index[medicine_key(member)] = (member,)
        return index

    @cached_property
    def _class_members(self) -> tuple[tuple[DrugClass, tuple[str, ...]], ...]:
        return tuple((c, tuple(f" {medicine_key(m)} " for m in c.members)) for c in self.drug_classes.values())

    @cached_property
    def _spelling_index(self) -> dict[tuple[str, int], tuple[tuple[str, frozenset[str]], ...]]:
        """Known medicine names with their letters, by first letter and length, for "did you mean" (built
        on first need). A name within k edits differs in at most 2k distinct letters: a cheap first test."""
        buckets: dict[tuple[str, int], list[tuple[str, frozenset[str]]]] = {}
        for key in self._medicine_index:
            if key:
                buckets.setdefault((key[0], len(key)), []).append((key, frozenset(key)))
        return {bucket: tuple(keys) for bucket, keys in buckets.items()}

    @cached_property
    def _ingredient_classes(self) -> dict[tuple[str, ...], tuple[DrugClass, ...]]:
        """The classes of each ingredient combination met so far (filled as medicines are looked up)."""
        return {}

    def _classes_named_in(self, words: str) -> tuple[DrugClass, ...]:
        """Classes one of whose members appears among the words (a string padded with spaces)."""
        return tuple(c for c, members in self._class_members if any(member in words for member in members))

    def _classes_of(self, ingredients: tuple[str, ...]) -> tuple[DrugClass, ...]:
        known = self._ingredient_classes.get(ingredients)
        if known is None:
            found = {c.id for i in ingredients for c in self._classes_named_in(f" {medicine_key(i)} ")}
            known = tuple(c for c in self.drug_classes.values() if c.id in found)
            self._ingredient_classes[ingredients] = known
        return known

    def _resolve(self, words: tuple[str, ...]) -> tuple[str, ...] | None:
        """The ingredients the words name: as entered, without strengths and forms, then without salts."""
        index = self._medicine_index
        found = index.get(" ".join(words))
        if found is not None:
            return found
        core = _naming(words)
        if not core:
            return None
        found = index.get(" ".join(core))
        if found is not None:
            return found
        bare = tuple(w for w in core if w not in _SALTS)
        return index.get(" ".join(bare)) if bare and bare != core else None

    @cached_property
    def _medicines_by_term(self) -> dict[str, Medicine | None]:
        """Entries already looked up: a clinic's patients write the same medicines again and again."""
        return {}

    @cached_property
    def _classes_by_term(self) -> dict[str, tuple[DrugClass, ...]]:
        return {}

    def find_medicine(self, term: str) -> Medicine | None:
        """A known medicine by ingredient, brand or other name, with salts, strengths, forms and doses
        ignored ("Zoloft 50 mg", "propranolol hydrochloride"); a combination by all its parts
        ("oxycodone/acetaminophen"). None when any word names no known medicine."""
        return _remembered(self._medicines_by_term, term, self._find_medicine)

    def _find_medicine(self, term: str) -> Medicine | None:
        words = medicine_words(term)
        found = self._resolve(words)
        if found is None:
            parts = _combination_parts(term)
            resolved = [self._resolve(part) for part in parts] if len(parts) > 1 else []
            if not resolved or any(r is None for r in resolved):
                return None
            found = tuple(dict.fromkeys(i for r in resolved if r is not None for i in r))
        return Medicine(" ".join(words), found, self._classes_of(found))

    def find_drug_classes(self, generic_name: str) -> tuple[DrugClass, ...]:
        """Drug classes of a medication entry: of the medicine it names (a brand too: "Coumadin" is
        warfarin), and of any class member named in it ("gentamicin sulfate 80 mg", "IV gentamicin q8h")."""
        return _remembered(self._classes_by_term, generic_name, self._find_drug_classes)

    def _find_drug_classes(self, generic_name: str) -> tuple[DrugClass, ...]:
        medicine = self.find_medicine(generic_name)
        named = self._classes_named_in(f" {medicine_key(generic_name)} ")
        if medicine is None or not medicine.classes:
            return named
        if not named:
            return medicine.classes
        found = {c.id for c in (*medicine.classes, *named)}
        return tuple(c for c in self.drug_classes.values() if c.id in found)

    def _nearest_medicines(self, term: str, limit: int = 3) -> tuple[str, ...]:
        """Known medicines spelt within a few edits of the unknown part of an entry, closest first: a hint
        for a typo ("gentamycin" -> gentamicin), never a distant name ("topiramate" is not tobramycin)."""
        parts = _combination_parts(term) or [medicine_words(term)]
        scored: list[tuple[int, bool, str]] = []
        for part in parts:
            if self._resolve(part) is not None:
                continue
            wanted = " ".join(_naming(part))
            bound = max_spelling_edits(len(wanted))
            if not bound:
                continue
            letters = frozenset(wanted)
            for length in range(len(wanted) - bound, len(wanted) + bound + 1):
                for key, key_letters in self._spelling_index.get((wanted[0], length), ()):
                    if len(letters ^ key_letters) > 2 * bound:
                        continue
                    edits = spelling_edits(wanted, key, bound)
                    if edits is not None:
                        found = self._medicine_index[key]
                        scored.append((edits, len(found) != 1 or medicine_key(found[0]) != key, key))
        hints: dict[tuple[str, ...], str] = {}
        for _, alias, key in sorted(scored):
            found = self._medicine_index[key]
            if found not in hints and len(hints) < limit:
                hints[found] = f"{key} ({' + '.join(found)})" if alias else key
        return tuple(hints.values())

    def find_allergen(self, term: str) -> Allergen | None:
        text = _normalise(term)
        return next(
            (
                a
                for a in self.allergens.values()
                if text in {_normalise(a.id), _normalise(a.name), *map(_normalise, a.aliases)}
            ),
            None,
        )

    @cached_property
    def _adverse_event_aliases(self) -> dict[str, str]:
        return {
            _normalise(name): term.id
            for term in self.adverse_event_terms.values()
            for name in (term.id, term.name, *term.aliases)
        }

    def find_adverse_event_term(self, text: str) -> AdverseEventTerm | None:
        """An adverse-event term by id, name or synonym ("difficulty swallowing" is dysphagia)."""
        found = self._adverse_event_aliases.get(_normalise(text))
        return self.adverse_event_terms[found] if found is not None else None

    def adverse_event_id(self, text: str) -> str | None:
        """The id of the adverse-event term ``text`` names (by id, name or synonym); None for no term."""
        return self._adverse_event_aliases.get(_normalise(text))

    def nearest_terms(self, term: str, kind: str, cutoff: float = 0.5) -> tuple[str, ...]:
        """Known terms close to an unrecognised one, for a "did you mean" hint."""
        return _remembered(self._nearest_by_term, (term, kind, cutoff), self._nearest_terms)

    @cached_property
    def _nearest_by_term(self) -> dict[tuple[str, str, float], tuple[str, ...]]:
        """Hints already worked out: the same unknown term comes back with every check of the same patient."""
        return {}

    def _nearest_terms(self, wanted: tuple[str, str, float]) -> tuple[str, ...]:
        term, kind, cutoff = wanted
        if kind == "medication":
            return self._nearest_medicines(term)
        return _nearest_normalised(term, self._vocabulary(kind), cutoff=cutoff)

    def _vocabulary(self, kind: str) -> dict[str, str]:
        """The words of one vocabulary, normalised -> as shown (built once per kind)."""
        if kind not in self._vocabularies:
            if kind == "allergy":
                names = [name for a in self.allergens.values() for name in (a.name, *a.aliases)]
            elif kind == "muscle":
                names = list(self.targets)
            elif kind == "product":
                names = [name for p in self.products.values() for name in (p.id, p.brand)]
            elif kind == "indication":
                names = list(self.indications)
            elif kind == "adverse":
                names = [name for t in self.adverse_event_terms.values() for name in (t.name.lower(), *t.aliases)]
            else:
                names = [name for c in self.conditions.values() for name in (c.name, *c.aliases)]
            self._vocabularies[kind] = _by_normalised(names)
        return self._vocabularies[kind]

    @cached_property
    def _vocabularies(self) -> dict[str, dict[str, str]]:
        return {}

    # -- derived facts

    def status(self, indication_id: str, product_id: str) -> ProductStatus:
        """Approved if the product's label lists the indication; otherwise off-label, with the evidence."""
        return _remembered(self._statuses, (indication_id, product_id), self._status)

    @cached_property
    def _statuses(self) -> dict[tuple[str, str], ProductStatus]:
        """Every check asks for its product's status: worked out once per (indication, product)."""
        return {}

    def _status(self, wanted: tuple[str, str]) -> ProductStatus:
        indication_id, product_id = wanted
        indication = self.indication(indication_id)
        product = self.product(product_id)
        approvals = [a for a in product.approvals if a.value.indication == indication.id]
        if approvals:
            return ProductStatus(
                product=product.id,
                status=LabelStatus.APPROVED,
                populations=tuple(a.value.population for a in approvals),
                citations=tuple(a.citation for a in approvals),
                explanation="; ".join(a.value.wording for a in approvals),
            )
        studies = indication.evidence_for(product.id)
        label_indications = next(iter(product.approvals), None)
        label_citation = (label_indications.citation,) if label_indications else ()
        if studies:
            explanation = f"not in the {product.brand} label's indications; studied off-label"
        else:
            explanation = (
                f"not in the {product.brand} label's indications; no {product.brand}-specific study "
                "is recorded in bont's knowledge base"
            )
        return ProductStatus(
            product=product.id,
            status=LabelStatus.OFF_LABEL,
            populations=(),
            citations=label_citation + tuple(_study_citation(item.source) for item in studies),
            explanation=explanation,
        )

    @cached_property
    def lookback_days(self) -> int:
        """How far back any window, interval or caution of the knowledge base reaches, in days (a month counted
        as 31): the check reads no earlier administration, since none could change a finding."""
        windows = [limit.value.window for product in self.products.values() for limit in product.limits]
        windows += [p.cumulative_limit.value.window for p in self.protocols() if p.cumulative_limit is not None]
        days = [w.days if w.days is not None else 31 * (w.months or 0) for w in windows if w is not None]
        days += [p.min_interval_days.value for p in self.protocols() if p.min_interval_days is not None]
        days += [caution.days for caution in self.cautions.values()]
        return max(days, default=0)

    def protocols(self) -> Iterator[Protocol]:
        for indication in self.indications.values():
            yield from indication.protocols

    def protocols_for(
        self, indication_id: str, product_id: str, population: Population | None = None
    ) -> tuple[Protocol, ...]:
        return self.indication(indication_id).protocols_for(self.product(product_id).id, population)

    def figures(self) -> Iterator[KnowledgeFigure]:
        """Every cited figure, with a path such as ``indication/chronic-migraine.protocols[...]``."""
        for kind, items in (
            ("product", self.products),
            ("indication", self.indications),
        ):
            for item_id, item in items.items():
                for path, figure in cited_figures(item, f"{kind}/{item_id}"):
                    yield KnowledgeFigure(path, figure)
        for protocol in self.protocols():
            # The principal citation of a protocol is itself a claim about the whole protocol.
            yield KnowledgeFigure(f"protocol/{protocol.id}", Cited(protocol.title, protocol.citation))
        for instrument in self.instruments.values():
            path = f"instrument/{instrument.id}"
            yield KnowledgeFigure(f"{path}.scoring", Cited(instrument.range_text(), instrument.citation))
            yield KnowledgeFigure(f"{path}.licence", Cited(str(instrument.licence.status), instrument.licence.citation))
        if self.headache_day_rules is not None:
            for path, figure in cited_figures(self.headache_day_rules, "headache-day-rules"):
                yield KnowledgeFigure(path, figure)
        for definition in self.responder_definitions:
            yield KnowledgeFigure(f"responder/{definition.id}", Cited(definition.threshold_text, definition.citation))
        for rule in self.continuation_rules:
            yield KnowledgeFigure(f"continuation/{rule.id}", Cited(rule.description, rule.citation))
        if self.medicines.citation is not None:
            listed = f"{len(self.medicines.ingredients)} ingredients, {len(self.medicines.names)} names"
            yield KnowledgeFigure("medicines", Cited(listed, self.medicines.citation))
        for term in self.adverse_event_terms.values():
            yield KnowledgeFigure(f"adverse-event/{term.id}.kind", Cited(str(term.kind), term.citation))
            for index, concern in enumerate(term.concerns):
                treated = ", ".join(
                    (*concern.value.indications, *map(str, concern.value.routes), *concern.value.targets)
                )
                yield KnowledgeFigure(f"adverse-event/{term.id}.concerns[{index}]", Cited(treated, concern.citation))
            if term.spread is not None:
                spread: Cited[object] = Cited(str(ReactionKind.DISTANT_SPREAD), term.spread)
                yield KnowledgeFigure(f"adverse-event/{term.id}.spread", spread)
        if self.seriousness is not None:
            yield KnowledgeFigure("adverse-event/seriousness", Cited(self.seriousness.text, self.seriousness.citation))
        if self.billing is not None:
            for name, billing_rule in self.billing.named():
                yield KnowledgeFigure(f"billing/{name}", Cited(billing_rule.statement, billing_rule.citation))


def _remembered(memo: dict[K, R], term: K, find: Callable[[K], R]) -> R:
    """``find(term)``, remembered: bounded by TERM_MEMO_SIZE so that a long-running server never grows without end."""
    try:
        return memo[term]
    except KeyError:  # not yet found, or cleared by another thread meanwhile
        found = find(term)
    if len(memo) >= TERM_MEMO_SIZE:
        memo.clear()
    memo[term] = found
    return found


def _study_citation(source: Source) -> Citation:
    return Citation(source=source, grade=Grade.STUDY)
