"""Indications: the conditions botulinum toxin is given for, their codes and evidence."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Generic, TypeVar

from bont.domain.codes import CPTCode, ICD10CMCode
from bont.domain.evidence import Citation, Cited, Source
from bont.domain.memo import remember
from bont.domain.populations import Population
from bont.domain.protocols import LabelStatus, Protocol, Route

C = TypeVar("C", ICD10CMCode, CPTCode)


class Specialty(StrEnum):
    NEUROLOGY = "neurology"
    REHABILITATION = "rehabilitation"
    UROLOGY = "urology"
    DERMATOLOGY = "dermatology"
    GASTROENTEROLOGY = "gastroenterology"
    PAIN = "pain"
    DENTAL = "dental"
    OPHTHALMOLOGY = "ophthalmology"
    PSYCHIATRY = "psychiatry"


@dataclass(frozen=True)
class CodedEntry(Generic[C]):
    """A diagnosis or procedure code with the description bont shows beside it."""

    code: C
    description: str

    @property
    def key(self) -> str:
        return str(self.code)

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


DiagnosisCode = CodedEntry[ICD10CMCode]
ProcedureCode = CodedEntry[CPTCode]


@dataclass(frozen=True)
class EvidenceItem:
    """A study, review or guideline about an indication, with the products it concerns."""

    source: Source
    products: tuple[str, ...]
    summary: str
    level: str | None = None  # e.g. "AAN 2016 Level A"

    @property
    def key(self) -> str:
        return self.source.id


# The products and populations an indication is asked about: a few dozen in the knowledge base.
_PROTOCOLS_FOR_SIZE = 256


@dataclass(frozen=True)
class Indication:
    id: str
    name: str
    specialties: tuple[Specialty, ...]
    populations: tuple[Population, ...]
    summary: str
    icd10: tuple[Cited[DiagnosisCode], ...]
    cpt: tuple[Cited[ProcedureCode], ...]
    evidence: tuple[EvidenceItem, ...]
    protocols: tuple[Protocol, ...]
    aliases: tuple[str, ...] = ()

    @cached_property  # every check asks
    def routes(self) -> frozenset[Route]:
        """Every route the indication is given by, whatever the product."""
        return frozenset(protocol.route for protocol in self.protocols)

    def protocols_for(self, product: str, population: Population | None = None) -> tuple[Protocol, ...]:
        key = (product, population)
        known = self._protocols_for.get(key)
        if known is None:
            known = remember(
                self._protocols_for,
                key,
                tuple(
                    protocol
                    for protocol in self.protocols
                    if protocol.product == product and (population is None or protocol.population is population)
                ),
                _PROTOCOLS_FOR_SIZE,
            )
        return known

    @cached_property  # the planner and every check ask, twice each
    def _protocols_for(self) -> dict[tuple[str, Population | None], tuple[Protocol, ...]]:
        return {}

    def limiting_protocols(self, product: str, population: Population) -> tuple[Protocol, ...]:
        """The protocols whose limits apply: the population's own, or for a minor without one the adult
        protocols (a child is never allowed more than an adult)."""
        return self.protocols_for(product, population) or self.protocols_for(product, Population.ADULT)

    def evidence_for(self, product: str) -> tuple[EvidenceItem, ...]:
        return tuple(item for item in self.evidence if product in item.products)


@dataclass(frozen=True)
class ProductStatus:
    """Whether a product is FDA-approved for an indication, and on what that rests."""

    product: str
    status: LabelStatus
    populations: tuple[Population, ...]
    citations: tuple[Citation, ...]
    explanation: str
