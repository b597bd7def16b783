"""The safety vocabulary: conditions, drug classes, allergens and everyday medicines that a safety check
must recognise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bont.domain.codes import ICD10CMCode
from bont.domain.evidence import Citation


class Concern(StrEnum):
    """Why a condition matters to a botulinum toxin session."""

    NEUROMUSCULAR_DISORDER = "neuromuscular-disorder"
    DYSPHAGIA = "dysphagia"
    RESPIRATORY_COMPROMISE = "respiratory-compromise"
    INJECTION_SITE_INFECTION = "injection-site-infection"
    URINARY_TRACT_INFECTION = "urinary-tract-infection"
    URINARY_RETENTION = "urinary-retention"
    AUTONOMIC_DYSREFLEXIA = "autonomic-dysreflexia"
    CORNEAL_EXPOSURE = "corneal-exposure"
    BLEEDING_RISK = "bleeding-risk"
    CARDIOVASCULAR_DISEASE = "cardiovascular-disease"
    PREGNANCY = "pregnancy"
    LACTATION = "lactation"


class Interaction(StrEnum):
    """Why a drug class matters to a botulinum toxin session."""

    NEUROMUSCULAR_POTENTIATION = "neuromuscular-potentiation"
    ANTICHOLINERGIC_EFFECTS = "anticholinergic-effects"
    MUSCLE_WEAKNESS = "muscle-weakness"
    PROCEDURAL_BLEEDING = "procedural-bleeding"


@dataclass(frozen=True)
class Caution:
    """A cited look-back period that calls for caution, e.g. another botulinum toxin within 4 months."""

    id: str
    name: str
    days: int
    citation: Citation

    @property
    def key(self) -> str:
        return self.id


@dataclass(frozen=True)
class Condition:
    id: str
    name: str
    concern: Concern
    icd10: tuple[ICD10CMCode, ...]
    aliases: tuple[str, ...]
    citation: Citation

    @property
    def key(self) -> str:
        return self.id


@dataclass(frozen=True)
class DrugClass:
    id: str
    name: str
    interaction: Interaction
    members: tuple[str, ...]  # generic names, lower case
    citation: Citation

    @property
    def key(self) -> str:
        return self.id


@dataclass(frozen=True)
class Allergen:
    id: str
    name: str
    aliases: tuple[str, ...]
    citation: Citation

    @property
    def key(self) -> str:
        return self.id


@dataclass(frozen=True)
class MedicineList:
    """The everyday medicines bont recognises: each name, an ingredient or an alias of one (a brand, salt
    or other name), with the ingredients it means (lower case; a combination means several)."""

    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    citation: Citation | None = None

    @property
    def ingredients(self) -> frozenset[str]:
        return frozenset(ingredient for found in self.names.values() for ingredient in found)


@dataclass(frozen=True)
class Medicine:
    """A medication entry matched to a known medicine: the words it was known by, its ingredients and the
    interaction classes of any of them (none for most medicines)."""

    name: str
    ingredients: tuple[str, ...]
    classes: tuple[DrugClass, ...]

    @property
    def ingredient(self) -> str:
        """The ingredients as one name: "topiramate", or "acetaminophen + codeine" for a combination."""
        return " + ".join(self.ingredients)
