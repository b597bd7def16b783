"""Recognising what an imported record is about: bont's indications and products, and toxins bont does not carry,
named in its title, MeSH headings, keywords, conditions or interventions (never in an abstract: bont reads none).

Names match case-insensitively as whole words, with a space or a hyphen between words alike; a toxin's
established name matches however it is written ("onabotulinumtoxinA", "onabotulinum toxin A",
"OnabotulinumtoxinA-xxxx").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bont.domain.knowledge import KnowledgeBase

# An established toxin name: a prefix of its own, "botulinumtoxin", the serotype, and the US suffix of four letters
# ("daxibotulinumtoxinA-lanm"); the prefix is what tells one toxin from another.
_TOXIN_NAME = re.compile(r"(?<!\w)([a-z]+)botulinum[\s-]?toxin(?:[\s-]?([ab]))?(?:-[a-z]{4})?(?!\w)", re.IGNORECASE)
# Botulinum toxin named without a product: "botulinum toxin type A", "Botulinumtoxin", "BoNT-A", "BoNT/A". BoNT is
# matched as written: in lower case it is a common word in other languages and this program's name.
_ANY_TOXIN = re.compile(r"(?<!\w)(?:(?i:botulinum(?:toxin)?)|BoNT(?:[-/]?[A-G])?)(?!\w)")
# An alias this short is an acronym ("CM", "CD", "TN"): in lower case it is a unit or a word ("cm", "tn").
_ACRONYM = re.compile(r"[a-z]{1,3}")
_INVERTED = re.compile(r"([^,]+),\s*([^,]+)")
_SEPARATOR = r"[\s-]+"  # between the words of a name: "upper limb spasticity", "upper-limb spasticity"


@dataclass(frozen=True)
class Recognition:
    """What a record is about: bont's indication and product ids, and toxins bont does not carry by name."""

    about_toxin: bool
    indications: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    other_products: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiteratureTerms:
    """The names bont recognises in imported records, built from the knowledge base."""

    indications: tuple[tuple[str, re.Pattern[str]], ...]
    brands: tuple[tuple[str, re.Pattern[str]], ...]
    toxin_prefixes: tuple[tuple[str, str], ...]  # (prefix of the established name in lower case, product id)

    @classmethod
    def from_knowledge(cls, knowledge: KnowledgeBase) -> LiteratureTerms:
        indications = tuple(
            (
                indication.id,
                _any_of(
                    [
                        indication.id.replace("-", " "),
                        # "Major depressive disorder (glabellar injection)": the parenthesis names bont's use, not
                        # the condition a title names.
                        re.sub(r"\s*\(.*?\)", "", indication.name),
                        *indication.aliases,
                    ]
                ),
            )
            for indication in knowledge.indications.values()
        )
        brands = tuple((product.id, _any_of([product.brand])) for product in knowledge.products.values())
        prefixes = tuple(
            (match.group(1).lower(), product.id)
            for product in knowledge.products.values()
            for name in (product.id, product.established_name)
            if (match := _TOXIN_NAME.fullmatch(name))
        )
        return cls(indications, brands, tuple(dict.fromkeys(prefixes)))

    def recognise(self, texts: Iterable[str]) -> Recognition:
        """What the ``texts`` of one record (title, headings, keywords, conditions, interventions) are about."""
        # A MeSH heading is inverted ("Neuralgia, Postherpetic"): read it in the order a title writes it, too.
        text = "\n".join(
            f"{text}\n{inverted.group(2)} {inverted.group(1)}" if (inverted := _INVERTED.fullmatch(text)) else text
            for text in texts
        )
        products = {product for product, pattern in self.brands if pattern.search(text)}
        ours = dict(self.toxin_prefixes)
        others: dict[str, None] = {}
        for match in _TOXIN_NAME.finditer(text):
            prefix, serotype = match.group(1).lower(), match.group(2)
            if prefix in ours:
                products.add(ours[prefix])
            else:
                others[f"{prefix}botulinumtoxin{serotype.upper() if serotype else ''}"] = None
        about_toxin = bool(products or others or _ANY_TOXIN.search(text))
        if not about_toxin:
            return Recognition(about_toxin=False)
        return Recognition(
            about_toxin=True,
            indications=tuple(indication for indication, pattern in self.indications if pattern.search(text)),
            products=tuple(product for product, _ in self.brands if product in products),
            other_products=tuple(others),
        )


def _any_of(names: Iterable[str]) -> re.Pattern[str]:
    """One pattern matching any of ``names`` as whole words, or their plurals; acronyms only in capitals."""
    alternatives = []
    for name in {name.strip().lower(): name.strip() for name in names if name.strip()}.values():
        if _ACRONYM.fullmatch(name.lower()):
            alternatives.append(re.escape(name.upper()))
        else:
            words = _SEPARATOR.join(re.escape(word) for word in re.split(_SEPARATOR, name))
            alternatives.append(f"(?i:{words}s?)")  # "anal fissures", "Temporomandibular Joint Disorders"
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")
