"""Outside history: what another system recorded about a patient (toxin given elsewhere, conditions, allergies,
medicines, weights), as read from its FHIR record and before it is stored.

Every entry keeps the path of the element it was read from (``entry[3].resource``), so that the import's report
names it. A dose given elsewhere is tied to one of bont's products and counted in that product's units only;
units are never converted between products.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True)
class OutsidePatient:
    """The patient the record is about: an MRN where the record gives one, the names and birth date."""

    path: str
    mrn: str | None
    family_name: str | None
    given_name: str | None
    birth_date: date | None
    sex: str  # bont's words: female, male, other, unknown


@dataclass(frozen=True)
class OutsideAdministration:
    """A botulinum toxin dose given elsewhere: who recorded it (``source``) under which identifier, the day, the
    product (bont's id), the units of that product and the indication (None when the record names none bont
    knows). The doses of one outside session (one per injection site) are one dose, their units summed (one
    product's only): ``also`` holds the paths of the others."""

    path: str
    resource: str  # the resource type it was read from
    source: str
    record_id: str  # the outside record's identifier in ``source``: a second import matches it
    on: date
    product: str
    units: Decimal
    indication: str | None
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutsideWeight:
    """A body weight measured elsewhere: the day and the weight in kg, as sent (never converted from another
    unit)."""

    path: str
    resource: str
    on: date
    kg: Decimal


class ListKind(StrEnum):
    """The patient's lists an outside record may add to."""

    CONDITION = "condition"
    ALLERGY = "allergy"
    MEDICATION = "medication"


@dataclass(frozen=True)
class OutsideListEntry:
    """A condition (an ICD-10-CM code or a name), an allergy or another medicine, as bont lists it."""

    path: str
    resource: str
    kind: ListKind
    term: str


@dataclass(frozen=True)
class RefusedEntry:
    """A resource that cannot be taken, and why (nothing of it is stored)."""

    path: str
    resource: str
    reason: str


@dataclass(frozen=True)
class OutsideRestatement:
    """A MedicationStatement that restates a MedicationAdministration of the same record (its ``derivedFrom`` or
    ``partOf``): the dose is the administration's, read there once, never a second dose."""

    path: str
    resource: str
    restates: str  # the administration's path


@dataclass(frozen=True)
class OutsideRecord:
    """Everything read from one outside record (a FHIR Bundle), each entry with its path."""

    patient: OutsidePatient | None
    administrations: tuple[OutsideAdministration, ...] = ()
    list_entries: tuple[OutsideListEntry, ...] = ()
    refused: tuple[RefusedEntry, ...] = ()
    weights: tuple[OutsideWeight, ...] = ()
    restatements: tuple[OutsideRestatement, ...] = ()


def entry_number(path: str) -> int:
    """The bundle entry a path is in (``entry[12].resource.dosage`` → 12; -1 outside the entries): what is read
    and reported is listed in the bundle's order."""
    number = path.removeprefix("entry[").partition("]")[0]
    return int(number) if number.isdigit() else -1
