"""De-identification of exported FHIR resources for researchers and data warehouses: identifiers removed, dates
shifted per patient, birth year only. This is not a claim of HIPAA Safe Harbor compliance (45 CFR
164.514(b)(2)): Safe Harbor keeps no date element but the year, while these dates are moved, keeping the intervals
between a patient's sessions and outcomes that research on them needs.

For one export (``Deidentifier``): every resource id is replaced by a random pseudonym (a UUID), the same one for
the same resource throughout the export, and every reference rewritten to it, so the files still link up; the
Patient's pseudonym is new at every export. Per patient: names, the MRN and every ``identifier``, telecom, address,
photo and contacts, the narrative ``text`` and free-text ``note``s, who performed or recorded anything (the
Provenance resources, ``performer``, ``recorder``) and the lots (``Medication.batch``, a device identifier) are
removed; the birth date is reduced to its year, and left out for a patient older than 89; every other date and time
is moved earlier by a random number of whole weeks (1 to 52: earlier, so that none lands in the future; whole weeks,
so that weekdays stay true and tell nothing of the shift) drawn once per patient and never written anywhere, so
intervals between a patient's sessions, outcomes and events are kept; a time keeps only its day (its UTC offset
would tell whether the real day was in summer time). A resource whose moved date is after the export's horizon
(``export_horizon``: 365 days before the export) is left out, so that each patient's records end at a secret real
day of their own in the year before the export, and a patient left with no dated resource is left out whole: records
running up to the day of the export (which the Bulk Data manifest states) would otherwise give the patient's shift
back. Coded and vocabulary values (conditions, medicines, allergies, the adverse event's term) are kept: they are
what the data is for. The resources are validated again once changed.

For a registry export (``Deidentifier(research=True)``, ``bont.interop.registry.export.write_fhir_export``) less is
kept, down to what the export's k-anonymity report checks (age band, sex, indication): no birth date at all (a
birth year is finer than the ten-year age band, and with the sex singles out most patients of a clinic), and no
medicine or allergy named only in free text (a rare name is as good as an identifier): the MedicationStatement
or AllergyIntolerance keeps its coded values only, and is left out when it has none; an adverse event keeps the
vocabulary's id of its term, or "other" when what was typed is no term the vocabulary knows. ``bont fhir
bulk-export --deidentified`` keeps the birth year and the names, as before. Neither keeps an adverse event's
outcome, which is typed as free text.
"""

from __future__ import annotations

import copy
import re
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bont.domain.research.dataset import OTHER_ADVERSE_EVENT
from bont.domain.research.deidentification import OFFSET_WEEKS, export_horizon
from bont.interop.fhir.export import validated
from bont.services.fhir_exchange import Pseudonymiser

OLDEST_AGE_SHOWN = 89

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?")
_REMOVED = frozenset({"identifier", "name", "telecom", "address", "photo", "contact", "note", "performer", "recorder"})
_DROPPED_TYPES = frozenset({"Provenance"})  # who recorded what, when: nothing a researcher needs
_KEPT_WHEN_REFERENCED = frozenset({"Medication"})  # a lot's medicine: only with a dose of it that is kept


# Where a resource names a medicine or substance: in a registry export, only its codings are kept.
_NAMED_BY = {"MedicationStatement": "medicationCodeableConcept", "AllergyIntolerance": "code"}


class Deidentifier(Pseudonymiser):
    """The de-identifier of one export: pseudonyms shared by all its patients, a date shift drawn per patient;
    ``research``: a registry export's, keeping no birth date and no free-text medicine or allergy."""

    def __init__(self, *, research: bool = False, event_term: Callable[[str], str | None] | None = None) -> None:
        """``event_term``: the vocabulary's id of an adverse event as typed (None for no term); a research export
        without it keeps no adverse event's name."""
        self._pseudonyms: dict[tuple[str, str], str] = {}
        self._research = research
        self._event_term = event_term

    def _pseudonym(self, kind: str, key: str) -> str:
        return self._pseudonyms.setdefault((kind, key), str(uuid.uuid4()))

    def deidentify(self, resources: Sequence[dict[str, Any]], today: date) -> list[dict[str, Any]]:
        shift = timedelta(weeks=-1 - secrets.randbelow(OFFSET_WEEKS))  # earlier: no date lands in the future
        horizon = export_horizon(today)
        result, dated = [], False
        for original in resources:
            if original["resourceType"] in _DROPPED_TYPES:
                continue
            if original["resourceType"] == "Condition" and not original.get("code", {}).get("coding"):
                continue  # a condition recorded as a name, not a code, is free text: it may name anyone
            named_by = _NAMED_BY.get(original["resourceType"]) if self._research else None
            if named_by is not None and not original.get(named_by, {}).get("coding"):
                continue  # named in free text only: nothing coded is left to keep
            resource = self._walk(copy.deepcopy(original), shift, top=True)
            resource["id"] = self._pseudonym(original["resourceType"], original["id"])
            resource.pop("batch", None)
            if named_by is not None:
                resource[named_by] = {"coding": resource[named_by]["coding"]}
            if original["resourceType"] == "AdverseEvent":
                resource.pop("outcome", None)  # typed as free text: it may name anyone
                if self._research:
                    typed = original.get("event", {}).get("text", "")
                    term = self._event_term(typed) if self._event_term is not None and typed else None
                    resource["event"] = {"text": term or OTHER_ADVERSE_EVENT}
            if original["resourceType"] == "Patient":
                resource.pop("birthDate", None)
                born = date.fromisoformat(original["birthDate"]) if "birthDate" in original else None
                if not self._research and born is not None and _age(born, today) <= OLDEST_AGE_SHOWN:
                    resource["birthDate"] = str(born.year)
            latest = _latest_date(resource)
            if latest is not None and latest > horizon:
                continue  # after the patient's own last day in the export
            dated |= latest is not None
            result.append(resource)
        if not dated:
            return []  # nothing dated left: the patient is not in the export
        referenced = {v for resource in result for key, v in _leaves(resource) if key == "reference"}
        return [
            validated(resource)
            for resource in result
            if resource["resourceType"] not in _KEPT_WHEN_REFERENCED
            or f"{resource['resourceType']}/{resource['id']}" in referenced
        ]

    def _walk(self, value: Any, shift: timedelta, top: bool = False) -> Any:
        if isinstance(value, dict):
            kept = {}
            for key, item in value.items():
                if key in _REMOVED or (top and key == "text"):
                    continue
                if key == "reference" and isinstance(item, str) and "/" in item:
                    kind, _, target = item.partition("/")
                    kept[key] = f"{kind}/{self._pseudonym(kind, target)}"
                elif key == "display" and not top:
                    continue  # a reference's display may name a person; a coding's display is restored below
                else:
                    kept[key] = self._walk(item, shift)
            if "display" in value and "code" in value and "system" in value:
                kept["display"] = value["display"]  # a code's display is the code system's, never the patient's
            return kept
        if isinstance(value, list):
            return [self._walk(item, shift) for item in value]
        if isinstance(value, str) and _DATE.fullmatch(value):
            return _shifted(value, shift)
        return value


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every value of a resource that is neither an object nor a list, with the key it is under, at any depth."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _leaves(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, key)
    else:
        yield key, value


def _latest_date(resource: dict[str, Any]) -> date | None:
    """The latest day any date or time of the resource falls on (None for a resource with no date)."""
    days = (date.fromisoformat(v[:10]) for _, v in _leaves(resource) if isinstance(v, str) and _DATE.fullmatch(v))
    return max(days, default=None)


def _shifted(value: str, shift: timedelta) -> str:
    if "T" in value:
        # A moment keeps only its day, moved: its UTC offset would tell summer time from winter time on the real
        # day, and with it the shift.
        return (datetime.fromisoformat(value).date() + shift).isoformat()
    return (date.fromisoformat(value) + shift).isoformat()


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
