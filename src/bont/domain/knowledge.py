"""The knowledge base: every product, indication, protocol, target and safety term, looked up by id."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from bont.domain.anatomy import Target
from bont.domain.errors import UnknownIdError
from bont.domain.evidence import Citation, Cited, Grade, Source, cited_figures
from bont.domain.indications import Indication, ProductStatus
from bont.domain.outcomes import ContinuationRule, HeadacheDayRules, Instrument, ResponderDefinition
from bont.domain.populations import Population
from bont.domain.products import Product
from bont.domain.protocols import LabelStatus, Protocol
from bont.domain.vocabulary import Allergen, Caution, Condition, DrugClass

T = TypeVar("T")


def _normalise(text: str) -> str:
    return " ".join(text.casefold().replace("_", " ").replace("-", " ").split())


def nearest(wanted: str, candidates: list[str], limit: int = 3, cutoff: float = 0.5) -> tuple[str, ...]:
    """The ids closest to a mistyped one, best first (``cutoff``: difflib similarity, 0–1)."""
    by_norm = {_normalise(candidate): candidate for candidate in candidates}
    matches = difflib.get_close_matches(_normalise(wanted), list(by_norm), n=limit, cutoff=cutoff)
    return tuple(by_norm[match] for match in matches)


def _lookup(kind: str, items: Mapping[str, T], wanted: str, aliases: Mapping[str, str]) -> T:
    if wanted in items:
        return items[wanted]
    resolved = aliases.get(_normalise(wanted))
    if resolved is not None:
        return items[resolved]
    raise UnknownIdError(kind, wanted, nearest(wanted, list(items)))


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

    def indication(self, wanted: str) -> Indication:
        return _lookup("indication", self.indications, wanted, self._indication_aliases)

    def target(self, wanted: str) -> Target:
        return _lookup("muscle", self.targets, wanted, self._target_aliases)

    def instrument(self, wanted: str) -> Instrument:
        aliases = {
            _normalise(name): instrument.id
            for instrument in self.instruments.values()
            for name in (instrument.id, instrument.name)
        }
        return _lookup("instrument", self.instruments, wanted, aliases)

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

    def find_condition(self, term: str) -> Condition | None:
        """A condition by ICD-10-CM code (exact, or a category such as ``G70.0``), name or alias."""
        wanted = term.strip().upper()
        for condition in self.conditions.values():
            if any(str(code) == wanted for code in condition.icd10):
                return condition
        for condition in self.conditions.values():
            # A category such as "G70" or "G70.0" covers the codes below it.
            if len(wanted) >= 3 and any(str(code).startswith(wanted) for code in condition.icd10):
                return condition
        text = _normalise(term)
        return next(
            (
                c
                for c in self.conditions.values()
                if text in {_normalise(c.id), _normalise(c.name), *map(_normalise, c.aliases)}
            ),
            None,
        )

    def indications_coded(self, code: str) -> tuple[Indication, ...]:
        """Indications that list this ICD-10-CM code: a known diagnosis, though not a safety concern."""
        wanted = code.strip().upper()
        return tuple(i for i in self.indications.values() if any(str(c.value.code) == wanted for c in i.icd10))

    def find_drug_classes(self, generic_name: str) -> tuple[DrugClass, ...]:
        """Drug classes of a generic name; salts and strengths are ignored ("gentamicin sulfate 80 mg")."""
        words = f" {_normalise(generic_name)} "
        return tuple(c for c in self.drug_classes.values() if any(f" {_normalise(m)} " in words for m in c.members))

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

    def nearest_terms(self, term: str, kind: str, cutoff: float = 0.5) -> tuple[str, ...]:
        """Known terms close to an unrecognised one, for a "did you mean" hint."""
        if kind == "medication":
            vocabulary = [member for c in self.drug_classes.values() for member in c.members]
        elif kind == "allergy":
            vocabulary = [name for a in self.allergens.values() for name in (a.name, *a.aliases)]
        elif kind == "muscle":
            vocabulary = list(self.targets)
        elif kind == "product":
            vocabulary = [name for p in self.products.values() for name in (p.id, p.brand)]
        elif kind == "indication":
            vocabulary = list(self.indications)
        else:
            vocabulary = [name for c in self.conditions.values() for name in (c.name, *c.aliases)]
        return nearest(term, vocabulary, cutoff=cutoff)

    # -- derived facts

    def status(self, indication_id: str, product_id: str) -> ProductStatus:
        """Approved if the product's label lists the indication; otherwise off-label, with the evidence."""
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


def _study_citation(source: Source) -> Citation:
    return Citation(source=source, grade=Grade.STUDY)
