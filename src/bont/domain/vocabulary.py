"""The safety vocabulary: conditions, drug classes and allergens that a safety check must recognise."""

from __future__ import annotations

from dataclasses import dataclass
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
