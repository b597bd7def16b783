"""Reading an outside record: a FHIR R4 Bundle from another system, validated with fhir.resources (its R4B
models), and what bont recognises in it.

A bundle that is not a valid FHIR Bundle is refused whole (``MalformedBundleError``, naming the path of the first
bad element, e.g. ``entry[3].resource.dosage.dose.value``). Of a valid bundle each resource is read on its own:

- ``Patient``: the MRN (an identifier in bont's own MRN system only: another system's MRN, typed ``MR`` or not,
  is not this clinic's), the official name, birth date and gender.
- ``MedicationAdministration`` and ``MedicationStatement`` of a botulinum toxin: the product is recognised by
  the NDC of one of the knowledge base's vials (any hyphenation, or none), by an RxNorm code that only one
  product carries, or by a brand or established name (``KnowledgeBase.product_id``). An RxNorm ingredient shared
  by several products (botulinum toxin type A) or a toxin bont does not carry (a name or code holding
  "botulinum") names no product: its units cannot be counted, so it is refused, saying it is a botulinum toxin.
  The dose must be in units of the toxin (UCUM ``[USP'U]``, ``U``, ``[arb'U]``, ``{units}``, ``[iU]``/``[IU]``,
  reference §2.5); it is never converted. The indication comes from an ICD-10-CM
  ``reasonCode`` (or the ``Condition`` a ``reasonReference`` points to) that the knowledge base lists for exactly
  one indication; otherwise it is unknown. A ``MedicationStatement`` that restates a ``MedicationAdministration``
  of the bundle (``derivedFrom`` or ``partOf``) is matched to it, never a second dose; one whose
  ``effectivePeriod`` spans more than one day is refused (one dose has one day).
- ``Condition`` (an ICD-10-CM code, else its text), ``AllergyIntolerance`` (its text or display) and
  ``MedicationStatement`` of another medicine (a name bont's medicine list or drug classes know: an unknown name
  is refused, never dropped). Resolved, refuted or entered-in-error ones are refused with the reason.

- ``Observation`` of the body weight (LOINC 29463-7, the code of the FHIR Body Weight profile): the day and the
  weight, in kg only (another unit is refused, never converted), between the safety check's bounds.

Every other resource is reported as not read. The record's ``source`` is the one given by the caller, else the
resource's or the bundle's ``meta.source``, else the system of the resource's identifier; the outside record's
identifier (system|value, else ``Type/id``; never a ``fullUrl``, which a ``urn:uuid:`` makes new at each export)
makes a second import of it a match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from bont.domain.codes import LOINC, NDC, RXNORM, SNOMED_CT, UCUM, ICD10CMCode
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outside_history import (
    ListKind,
    OutsideAdministration,
    OutsideListEntry,
    OutsidePatient,
    OutsideRecord,
    OutsideRestatement,
    OutsideWeight,
    RefusedEntry,
    entry_number,
)
from bont.domain.safety.engine import MAX_WEIGHT_KG, MIN_WEIGHT_KG
from bont.interop.fhir.export import MRN_SYSTEM

TOXIN_UNIT_CODES = frozenset({"[USP'U]", "U", "[arb'U]", "{units}", "{U}", "[iU]", "[IU]"})
TOXIN_UNIT_WORDS = frozenset({"u", "unit", "units", "usp units", "iu"})  # a unit written without a UCUM code
MAX_UNITS = Decimal(100000)  # the check's bound on a history dose
TERM_LENGTH = 120  # the longest condition, medicine or allergy term the chart stores
SEXES = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
NOT_GIVEN = frozenset({"not-done", "entered-in-error"})  # MedicationAdministration.status
NOT_TAKEN = frozenset({"entered-in-error", "not-taken", "intended"})  # MedicationStatement.status of a dose
NOT_CURRENT_MEDICINE = frozenset({"entered-in-error", "not-taken", "completed", "stopped"})
NOT_CURRENT = frozenset({"inactive", "resolved", "remission"})  # clinicalStatus
NOT_TRUE = frozenset({"refuted", "entered-in-error"})  # verificationStatus
NOT_MEASURED = frozenset({"cancelled", "entered-in-error"})  # Observation.status


class MalformedBundleError(FieldError):
    """The document is not a valid FHIR R4 Bundle; ``field`` is the path of the first bad element. Nothing of it
    is read."""


def read_bundle(document: object, knowledge: KnowledgeBase, source: str | None = None) -> OutsideRecord:
    """What bont recognises in a FHIR Bundle (a parsed JSON document); ``source`` names the sending system and
    wins over what the bundle says. Raises ``MalformedBundleError``."""
    bundle = _validated(document)
    entries = bundle.get("entry") or []
    resources = _Resources.of(entries)
    meta_source = (bundle.get("meta") or {}).get("source")
    patients = [(index, e["resource"]) for index, e in enumerate(entries) if _type(e) == "Patient"]
    patient = _patient(f"entry[{patients[0][0]}].resource", patients[0][1]) if patients else None
    patient_refs = _references_to(entries, patients[0][0]) if patients else frozenset()
    reader = _Reader(knowledge, resources, (source, meta_source), patient_refs)
    administrations: list[OutsideAdministration] = []
    list_entries: list[OutsideListEntry] = []
    weights: list[OutsideWeight] = []
    refused: list[RefusedEntry] = []
    restatements: list[OutsideRestatement] = []
    for index, entry in enumerate(entries):
        kind = _type(entry)
        path = f"entry[{index}].resource"
        if kind == "Medication" or (kind == "Patient" and index == patients[0][0]):
            continue  # the patient is read above; a Medication is read where a dose or statement names it
        for item in reader.read(path, kind, entry.get("resource") or {}):
            if isinstance(item, OutsideAdministration):
                administrations.append(item)
            elif isinstance(item, OutsideListEntry):
                list_entries.append(item)
            elif isinstance(item, OutsideWeight):
                weights.append(item)
            elif isinstance(item, OutsideRestatement):
                restatements.append(item)
            else:
                refused.append(item)
    # A Procedure that doses are part of is read as their session: not reported as a resource bont does not import.
    refused = [r for r in refused if id(entries[entry_number(r.path)].get("resource")) not in reader.session_resources]
    return OutsideRecord(
        patient,
        reader.by_session(administrations),
        tuple(list_entries),
        tuple(refused),
        tuple(weights),
        tuple(restatements),
    )


# -- validation


def _validated(document: object) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise MalformedBundleError("bundle", "is not a JSON object")
    if document.get("resourceType") != "Bundle":
        raise MalformedBundleError("resourceType", "must be Bundle")
    entries = document.get("entry")
    # An unknown resource type fails fhir.resources outside its validation errors: named here with its path.
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        if isinstance(kind, str):
            try:
                get_fhir_model_class(kind)
            except ValueError:
                raise MalformedBundleError(
                    f"entry[{index}].resource.resourceType", "is not a FHIR R4 resource type"
                ) from None
    try:
        Bundle.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        raise MalformedBundleError(_path(first["loc"]), _problem(first["msg"])) from None
    except (KeyError, ValueError) as error:  # a contained resource of an unknown type, found by fhir.resources
        raise MalformedBundleError("bundle", f"is not a valid FHIR R4 Bundle ({error})") from None
    return document


def _path(location: Sequence[int | str]) -> str:
    """A validation error's location as the document's path: ``entry[3].resource.dosage.dose.value``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = "resourceType" if part == "resource_type" else part
            path += f".{name}" if path else name
    return path or "bundle"


def _problem(message: str) -> str:
    """The validator's message in one line, without its "Value error," prefix."""
    return " ".join(message.removeprefix("Value error, ").split())


# -- the bundle's resources and references


def _type(entry: Mapping[str, Any]) -> str:
    return str((entry.get("resource") or {}).get("resourceType", ""))


@dataclass(frozen=True)
class _Resources:
    """The bundle's resources by every reference that may point to them (fullUrl and Type/id), and the entry
    each is in (by object identity)."""

    by_reference: Mapping[str, Mapping[str, Any]]
    entry_of: Mapping[int, int]

    @classmethod
    def of(cls, entries: Sequence[Mapping[str, Any]]) -> _Resources:
        found: dict[str, Mapping[str, Any]] = {}
        entry_of: dict[int, int] = {}
        for index, entry in enumerate(entries):
            resource = entry.get("resource") or {}
            entry_of[id(resource)] = index
            if entry.get("fullUrl"):
                found[entry["fullUrl"]] = resource
            if resource.get("id"):
                found[f"{resource['resourceType']}/{resource['id']}"] = resource
        return cls(found, entry_of)

    def resolve(self, reference: Mapping[str, Any] | None, container: Mapping[str, Any]) -> Mapping[str, Any] | None:
        target = (reference or {}).get("reference")
        if not target:
            return None
        if target.startswith("#"):  # a resource contained in this one
            return next((c for c in container.get("contained") or () if c.get("id") == target[1:]), None)
        return self.by_reference.get(target) or self.by_reference.get("/".join(target.split("/")[-2:]))


def _references_to(entries: Sequence[Mapping[str, Any]], index: int) -> frozenset[str]:
    """Every reference by which a resource may point to the entry at ``index``."""
    entry = entries[index]
    resource = entry.get("resource") or {}
    names = {entry.get("fullUrl")}
    if resource.get("id"):
        names.add(f"Patient/{resource['id']}")
    return frozenset(name for name in names if name)


def _codings(concept: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list((concept or {}).get("coding") or ())


def _names(concept: Mapping[str, Any] | None) -> list[str]:
    """The concept's text and its codings' displays, as written."""
    texts = [(concept or {}).get("text")] + [c.get("display") for c in _codings(concept)]
    return [text.strip() for text in texts if text and text.strip()]


def _day(value: str | None) -> date | None:
    """The day of a FHIR date or dateTime, as the sender wrote it (its own time zone); None for a partial date."""
    if not value or len(value) < 10:
        return None
    return date.fromisoformat(value[:10])


# -- the patient


def _patient(path: str, resource: Mapping[str, Any]) -> OutsidePatient:
    # Only bont's own MRN system numbers this clinic's patients: another hospital's MRN may be anyone's here.
    mrn = next(
        (
            str(identifier["value"]).strip()
            for identifier in resource.get("identifier") or ()
            if identifier.get("system") == MRN_SYSTEM and identifier.get("value")
        ),
        None,
    )
    names = resource.get("name") or []
    name = next((n for n in names if n.get("use") in ("official", "usual")), names[0] if names else {})
    given = name.get("given") or []
    return OutsidePatient(
        path=path,
        mrn=mrn,
        family_name=name.get("family"),
        given_name=given[0] if given else None,
        birth_date=_day(resource.get("birthDate")),
        sex=SEXES.get(resource.get("gender") or "unknown", "unknown"),
    )


# -- drugs


@dataclass(frozen=True)
class _Drug:
    """What a medication's codes and names say: the products they name (bont's ids), whether it is a botulinum
    toxin at all, and its name as written."""

    products: frozenset[str]
    toxin: bool
    name: str | None


class _Reader:
    def __init__(
        self,
        knowledge: KnowledgeBase,
        resources: _Resources,
        sources: tuple[str | None, str | None],  # the caller's, the bundle's meta.source
        patient_refs: frozenset[str],
    ) -> None:
        self.knowledge, self.resources, self.patient_refs = knowledge, resources, patient_refs
        self.given_source, self.bundle_source = sources
        self._sessions: dict[str, str] = {}  # a dose's path -> the outside session (Procedure) it is part of
        self.session_resources: set[int] = set()  # the Procedures read as sessions (by object identity)
        self._by_rxnorm: dict[str, set[str]] = {}
        self._by_ndc: list[tuple[tuple[str, str, str | None], str]] = []
        for product in knowledge.products.values():
            if product.rxnorm is not None:
                self._by_rxnorm.setdefault(product.rxnorm.value.code, set()).add(product.id)
            for vial in product.vials:
                if vial.ndc is not None:
                    self._by_ndc += [(key, product.id) for key in _ndc_keys(str(vial.ndc.value))]
        terminology = knowledge.terminology
        self._substances = (
            {cited.value.code for cited in terminology.substances.values()} if terminology is not None else set()
        )

    def read(
        self, path: str, kind: str, resource: Mapping[str, Any]
    ) -> Iterator[OutsideAdministration | OutsideListEntry | OutsideWeight | OutsideRestatement | RefusedEntry]:
        subject = (resource.get("subject") or resource.get("patient") or {}).get("reference")
        if not kind:
            yield RefusedEntry(path, "entry", "the entry holds no resource")
        elif kind == "Patient":
            yield RefusedEntry(path, kind, "a second Patient: a bundle is imported for one patient, the first")
        elif kind == "Observation" and not self._body_weight(resource):
            yield RefusedEntry(path, kind, "bont imports no Observation but a body weight (LOINC 29463-7)")
        elif kind not in (
            "MedicationAdministration",
            "MedicationStatement",
            "Condition",
            "AllergyIntolerance",
            "Observation",
        ):
            yield RefusedEntry(path, kind, f"bont does not import {kind} resources")
        elif not self.patient_refs:
            yield RefusedEntry(path, kind, "the bundle has no Patient this record could belong to")
        elif subject not in self.patient_refs and "/".join(str(subject).split("/")[-2:]) not in self.patient_refs:
            yield RefusedEntry(path, kind, "does not refer to the bundle's Patient")
        elif kind == "Condition":
            yield self._condition(path, resource)
        elif kind == "AllergyIntolerance":
            yield self._allergy(path, resource)
        elif kind == "Observation":
            yield _weight(path, resource)
        else:
            yield self._medication(path, kind, resource)

    # -- conditions and allergies

    def _condition(self, path: str, resource: Mapping[str, Any]) -> OutsideListEntry | RefusedEntry:
        refusal = _not_current(resource)
        if refusal:
            return RefusedEntry(path, "Condition", refusal)
        concept = resource.get("code")
        codes = [str(c["code"]) for c in _codings(concept) if c.get("system") == ICD10CMCode.system and c.get("code")]
        if codes:
            code = self.knowledge.condition_code(codes[0])
            if code is None:
                return RefusedEntry(path, "Condition", f"ICD-10-CM holds no code {codes[0]}")
            return OutsideListEntry(path, "Condition", ListKind.CONDITION, code)
        names = _names(concept)
        if not names:
            return RefusedEntry(path, "Condition", "names no ICD-10-CM code and no condition")
        return _listed(path, "Condition", ListKind.CONDITION, names[0])

    def _allergy(self, path: str, resource: Mapping[str, Any]) -> OutsideListEntry | RefusedEntry:
        refusal = _not_current(resource)
        if refusal:
            return RefusedEntry(path, "AllergyIntolerance", refusal)
        names = _names(resource.get("code"))
        if not names:
            return RefusedEntry(path, "AllergyIntolerance", "names no substance")
        return _listed(path, "AllergyIntolerance", ListKind.ALLERGY, names[0])

    def _body_weight(self, resource: Mapping[str, Any]) -> bool:
        """Whether an Observation is coded as a body weight (the knowledge base's LOINC code)."""
        terminology = self.knowledge.terminology
        if terminology is None:  # no code to recognise it by
            return False
        code = terminology.body_weight.value.code
        return any(c.get("system") == LOINC and c.get("code") == code for c in _codings(resource.get("code")))

    # -- medicines and toxin doses

    def _medication(
        self, path: str, kind: str, resource: Mapping[str, Any]
    ) -> OutsideAdministration | OutsideListEntry | OutsideRestatement | RefusedEntry:
        concept = resource.get("medicationCodeableConcept")
        if concept is None:
            medication = self.resources.resolve(resource.get("medicationReference"), resource)
            concept = (medication or {}).get("code")
        drug = self._drug(concept)
        status = resource.get("status")
        if not drug.toxin:
            if drug.name is None:
                return RefusedEntry(path, kind, "names no medicine bont can read (no text or display)")
            if kind == "MedicationAdministration":
                return RefusedEntry(path, kind, f"{drug.name} is not a botulinum toxin: bont lists only toxin doses")
            if status in NOT_CURRENT_MEDICINE:
                return RefusedEntry(path, kind, f"{drug.name} is not a current medicine (status {status})")
            if self.knowledge.find_medicine(drug.name) is None and not self.knowledge.find_drug_classes(drug.name):
                return RefusedEntry(
                    path, kind, f"'{drug.name}' is not in bont's list of medicines, so the check could not read it"
                )
            return _listed(path, kind, ListKind.MEDICATION, drug.name)
        restated = self._restated(resource) if kind == "MedicationStatement" else None
        if restated is not None:
            return OutsideRestatement(path, kind, restated)
        if not drug.products:
            return RefusedEntry(
                path,
                kind,
                f"{drug.name or 'the medicine'} is a botulinum toxin bont does not carry: its units cannot be weighed "
                "against these products — not counted; tell the clinician",
            )
        if len(drug.products) != 1:
            named = ", ".join(sorted(self.knowledge.products[p].brand for p in drug.products))
            return RefusedEntry(
                path,
                kind,
                f"a botulinum toxin whose product is not known ({named}): units of one "
                "product are not units of another, so the dose cannot be counted; give the NDC or the brand",
            )
        if status in (NOT_GIVEN if kind == "MedicationAdministration" else NOT_TAKEN):
            return RefusedEntry(path, kind, f"the dose was not given (status {status})")
        (product,) = drug.products
        return self._dose(path, kind, resource, product)

    def _restated(self, resource: Mapping[str, Any]) -> str | None:
        """The path of the bundle's MedicationAdministration a statement restates (``derivedFrom``, ``partOf``)."""
        for reference in (*(resource.get("derivedFrom") or ()), *(resource.get("partOf") or ())):
            found = self.resources.resolve(reference, resource)
            index = self.resources.entry_of.get(id(found)) if found is not None else None
            if index is not None and found is not None and found.get("resourceType") == "MedicationAdministration":
                return f"entry[{index}].resource"
        return None

    def _drug(self, concept: Mapping[str, Any] | None) -> _Drug:
        # Each code or name says which products it may be; together they name the products all of them allow
        # (a brand settles which product a shared ingredient code is), or, when they disagree, all they name.
        named: list[set[str]] = []
        toxin = False
        for coding in _codings(concept):
            system, code = coding.get("system"), str(coding.get("code") or "")
            ndc_product = self._ndc_product(code) if system == NDC.system else None
            if system == RXNORM and code in self._by_rxnorm:
                named.append(self._by_rxnorm[code])
            elif ndc_product is not None:
                named.append({ndc_product})
            elif system == SNOMED_CT and code in self._substances:
                toxin = True
        names = _names(concept)
        named += [{found} for found in map(self._product_named, names) if found is not None]
        products = set.intersection(*named) if named else set()
        if named and not products:
            products = set.union(*named)
        # A toxin bont does not carry (prabotulinumtoxinA, daxibotulinumtoxinA) is still a toxin: its word is in
        # its name, display or code.
        words = names + [str(c.get("code") or "") for c in _codings(concept)]
        toxin = toxin or bool(named) or any("botulinum" in word.casefold() for word in words)
        return _Drug(frozenset(products), toxin, names[0] if names else None)

    def _product_named(self, name: str) -> str | None:
        """The product a name is, or names in its first words ("BOTOX 200 Units/vial", "onabotulinumtoxinA 100 UNT")."""
        found = self.knowledge.product_id(name)
        if found is not None:
            return found
        words = re.findall(r"[A-Za-z][A-Za-z-]+", name)
        return next((f for f in map(self.knowledge.product_id, words[:3]) if f is not None), None)

    def _ndc_product(self, code: str) -> str | None:
        given = _ndc_keys(code)
        for (labeler, product_code, package), product in self._by_ndc:
            for g_labeler, g_product, g_package in given:
                if (g_labeler, g_product) == (labeler, product_code) and (
                    package is None or g_package is None or package == g_package
                ):
                    return product
        return None

    def _dose(
        self, path: str, kind: str, resource: Mapping[str, Any], product: str
    ) -> OutsideAdministration | RefusedEntry:
        brand = self.knowledge.products[product].brand
        if kind == "MedicationAdministration":
            quantity = (resource.get("dosage") or {}).get("dose")
            quantity_path = "dosage.dose"
            on = _day(resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start"))
        else:
            period = resource.get("effectivePeriod")
            if resource.get("effectiveDateTime") is None and period is not None:
                start = _day(period.get("start"))
                if start is not None and _day(period.get("end")) != start:
                    return RefusedEntry(
                        path, kind, f"{brand}: the statement spans more than one day, and one dose has one day"
                    )
            doses = [
                rate.get("doseQuantity")
                for dosage in resource.get("dosage") or ()
                for rate in dosage.get("doseAndRate") or ()
                if rate.get("doseQuantity")
            ]
            if len(doses) > 1:
                return RefusedEntry(path, kind, f"{brand}: several doses in one statement; send one per day given")
            quantity = doses[0] if doses else None
            quantity_path = "dosage.doseAndRate.doseQuantity"
            on = _day(resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start"))
        units = _toxin_units(quantity)
        if isinstance(units, str):
            return RefusedEntry(f"{path}.{quantity_path}", kind, f"{brand}: {units}")
        if on is None:
            return RefusedEntry(path, kind, f"{brand}: the day it was given is not recorded to the day")
        record_id, id_system = _record_id(resource, kind)
        if record_id is None:
            return RefusedEntry(
                path, kind, f"{brand}: the record has no identifier, so a second import could not be told apart"
            )
        meta_source = (resource.get("meta") or {}).get("source")
        source = self.given_source or meta_source or self.bundle_source or id_system
        if not source:
            return RefusedEntry(path, kind, f"{brand}: the sending system is not named (meta.source); give --source")
        session = self.resources.resolve(next(iter(resource.get("partOf") or ()), None), resource)
        if session is not None and session.get("resourceType") == "Procedure":
            self._sessions[path] = _record_id(session, "Procedure")[0] or ""
            self.session_resources.add(id(session))
        return OutsideAdministration(path, kind, str(source), record_id, on, product, units, self._indication(resource))

    def by_session(self, doses: list[OutsideAdministration]) -> tuple[OutsideAdministration, ...]:
        """The doses, those of one outside session (``partOf`` the same Procedure: one per injection site) as one
        dose per day and product, their units summed, under the session's identifier."""
        grouped: dict[tuple[str, str, date, str], list[OutsideAdministration]] = {}
        result: list[OutsideAdministration] = []
        for dose in doses:
            session = self._sessions.get(dose.path)
            if session:
                grouped.setdefault((dose.source, session, dose.on, dose.product), []).append(dose)
            else:
                result.append(dose)
        for (_, session, on, product), parts in grouped.items():
            indications = {part.indication for part in parts}
            result.append(
                replace(
                    parts[0],
                    record_id=f"{session} {product} {on.isoformat()}",
                    units=sum((part.units for part in parts), Decimal(0)),
                    indication=indications.pop() if len(indications) == 1 else None,
                    also=tuple(part.path for part in parts[1:]),
                )
            )
        return tuple(sorted(result, key=lambda dose: entry_number(dose.path)))

    def _indication(self, resource: Mapping[str, Any]) -> str | None:
        """The one indication the reasons' ICD-10-CM codes name, or None (unknown, or several)."""
        concepts = list(resource.get("reasonCode") or ())
        for reference in resource.get("reasonReference") or ():
            condition = self.resources.resolve(reference, resource)
            if condition is not None and condition.get("resourceType") == "Condition":
                concepts.append(condition.get("code") or {})
        found = {
            indication.id
            for concept in concepts
            for coding in _codings(concept)
            if coding.get("system") == ICD10CMCode.system and coding.get("code")
            for indication in self.knowledge.indications_coded(str(coding["code"]))
        }
        return next(iter(found)) if len(found) == 1 else None


def _not_current(resource: Mapping[str, Any]) -> str | None:
    """Why a condition or allergy is not one to list: resolved or inactive, refuted or entered in error."""
    clinical = {c.get("code") for c in _codings(resource.get("clinicalStatus"))}
    verification = {c.get("code") for c in _codings(resource.get("verificationStatus"))}
    if clinical & NOT_CURRENT:
        return f"not current (clinicalStatus {', '.join(sorted(str(c) for c in clinical & NOT_CURRENT))})"
    if verification & NOT_TRUE:
        return f"not held true (verificationStatus {', '.join(sorted(str(c) for c in verification & NOT_TRUE))})"
    return None


def _weight(path: str, resource: Mapping[str, Any]) -> OutsideWeight | RefusedEntry:
    """A body weight in kg, or why it is refused: another unit is never converted."""
    status = resource.get("status")
    if status in NOT_MEASURED:
        return RefusedEntry(path, "Observation", f"the weight was not measured (status {status})")
    quantity = resource.get("valueQuantity")
    if not quantity or quantity.get("value") is None:
        return RefusedEntry(path, "Observation", "the weight has no value in valueQuantity")
    code, unit, system = quantity.get("code"), quantity.get("unit"), quantity.get("system")
    if (code if code is not None else unit) != "kg" or system not in (None, UCUM):
        return RefusedEntry(
            f"{path}.valueQuantity", "Observation", f"the weight is in {code or unit or 'no unit'}, not in kg"
        )
    try:
        kg = Decimal(str(quantity["value"]))
    except InvalidOperation:
        return RefusedEntry(f"{path}.valueQuantity", "Observation", "the weight is not a number")
    if not MIN_WEIGHT_KG <= kg <= MAX_WEIGHT_KG:
        return RefusedEntry(
            f"{path}.valueQuantity", "Observation", f"the weight must be {MIN_WEIGHT_KG} to {MAX_WEIGHT_KG} kg"
        )
    effective = resource.get("effectivePeriod") or {}
    on = _day(resource.get("effectiveDateTime") or resource.get("effectiveInstant") or effective.get("start"))
    if on is None:
        return RefusedEntry(path, "Observation", "the day the weight was measured is not recorded to the day")
    return OutsideWeight(path, "Observation", on, kg)


def _listed(path: str, resource: str, kind: ListKind, term: str) -> OutsideListEntry | RefusedEntry:
    if len(term) > TERM_LENGTH:
        return RefusedEntry(path, resource, f"the {kind} is longer than {TERM_LENGTH} characters")
    return OutsideListEntry(path, resource, kind, term)


def _toxin_units(quantity: Mapping[str, Any] | None) -> Decimal | str:
    """The dose in units of the toxin, or why it is refused."""
    if not quantity or quantity.get("value") is None:
        return "the dose has no value"
    code, unit, system = quantity.get("code"), quantity.get("unit"), quantity.get("system")
    if code is not None:
        if code not in TOXIN_UNIT_CODES or system not in (None, UCUM):
            return f"the dose is in {code}, not in units of the toxin (bont never converts)"
    elif unit is None:
        return "the dose has no unit"
    elif " ".join(str(unit).casefold().split()) not in TOXIN_UNIT_WORDS:
        return f"the dose is in {unit}, not in units of the toxin (bont never converts)"
    try:
        units = Decimal(str(quantity["value"]))
    except InvalidOperation:
        return "the dose is not a number"
    if not Decimal(0) < units <= MAX_UNITS:
        return f"the dose must be more than 0 and at most {MAX_UNITS} units"
    return units


def _record_id(resource: Mapping[str, Any], kind: str) -> tuple[str | None, str | None]:
    """The outside record's identifier (system|value, else Type/id) and its system; never a fullUrl, which a
    ``urn:uuid:`` makes new at each export."""
    for identifier in resource.get("identifier") or ():
        value, system = identifier.get("value"), identifier.get("system")
        if value:
            return (f"{system}|{value}" if system else str(value)), system
    if resource.get("id"):
        return f"{kind}/{resource['id']}", None
    return None, None


def _ndc_keys(code: str) -> list[tuple[str, str, str | None]]:
    """An NDC as (labeler, product, package) in 5-4-2 form, the package None for a product code. Hyphenated
    codes pad each segment; 11 digits split 5-4-2; 10 digits without hyphens may be 4-4-2, 5-3-2 or 5-4-1, so
    each reading is tried."""
    text = code.strip()
    if "-" in text:
        parts = text.split("-")
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            return []
        package = parts[2].zfill(2) if len(parts) == 3 else None
        return [(parts[0].zfill(5), parts[1].zfill(4), package)]
    if not text.isdigit():
        return []
    if len(text) == 11:
        return [(text[:5], text[5:9], text[9:])]
    if len(text) == 10:
        return [
            (text[:4].zfill(5), text[4:8], text[8:]),
            (text[:5], text[5:8].zfill(4), text[8:]),
            (text[:5], text[5:9], text[9:].zfill(2)),
        ]
    return []
