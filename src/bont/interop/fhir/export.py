"""A patient's record as FHIR R4 resources: plain functions from bont's records to JSON-ready dicts, each
validated with the ``fhir.resources`` R4B models (``fhir.resources`` 8 ships no plain R4 models; the elements used
here were chosen from the R4 pages, and R4B's AdverseEvent keeps R4's ``event``). The dict given back is the one
validated, never a re-serialised model, so a bundle reads exactly as it was built.

Profile decisions (the README's FHIR section rests on these):

- **Ids** are derived from bont's own keys, so two exports of the same record are identical and an importer
  recognises what it already holds: the Patient's id is the chart's random key (never the MRN; FHIR ids allow no
  ``_``, so a key's ``_`` is written ``.``, a character keys never hold: ``patient_id``/``chart_key_of``); a
  session's Procedure is ``session-<id>``, the MedicationAdministration of its n-th site (1-based, in the order
  recorded) ``session-<id>-site-<n>``; an outcome ``outcome-<id>``; an adverse event ``adverse-event-<id>``; a
  session's Provenance ``provenance-session-<id>``; conditions, medicines, allergies and diary days, which have no
  row id of their own, ``<patient id>-<kind>-<digest of the term or day>``. Procedure and
  MedicationAdministration also carry bont's own ``identifier`` (systems ``SESSION_SYSTEM``,
  ``ADMINISTRATION_SYSTEM``); the MRN is the Patient's ``identifier`` (system ``MRN_SYSTEM``).
- **Code systems**: ICD-10-CM (``http://hl7.org/fhir/sid/icd-10-cm``) for conditions and indications; CPT for the
  session's procedure codes (``bont.domain.billing.procedure_lines``, the codes a claim bills) and its guidance;
  SNOMED CT for the procedure, the substances, the routes, the target muscles and glands and the laterality; RxNorm
  (ingredient) and NDC (the vial's package code) for the product; LOINC for an instrument that has a LOINC code,
  else bont's own CodeSystem ``INSTRUMENT_SYSTEM`` with the instrument's id as the code; UCUM ``[USP'U]`` (unit
  "U") for every dose. Every code comes from the knowledge base with its source; a code graded ``unverified``
  there carries the extension ``UNVERIFIED_EXTENSION`` (``valueBoolean`` true); a code the knowledge base lacks is
  left out and the text kept.
- **Laterality**: R4 has no laterality element and a SNOMED qualifier is no second coding of the same concept,
  so ``dosage.site`` holds the target's SNOMED coding with the text "Trapezius, left", and the side as the bont
  extension ``LATERALITY_EXTENSION`` (a SNOMED ``valueCodeableConcept``, text "left", "right" or "bilateral")
  on that CodeableConcept. (The core ``procedure-targetBodyStructure`` extension is R5 only.)
- **Medication per lot**: a stand-alone Medication per product and lot (``medication-<product>-<digest of the
  lot>``: RxNorm ingredient and the vial's NDC in ``code``, the substance as ``ingredient``, ``batch.lotNumber`` and
  ``batch.expirationDate``), shared by every administration from that lot, so an AdverseEvent or an importer can
  point at it. A site's dose names its Medication: the session's lot when the session drew from one lot, else the
  product's Medication without a batch (``medication-<product>``), the lots then listed in the Procedure's
  ``usedReference``. Units of different products are never summed: there is no total across products anywhere.
- **Procedure** per session: ``code`` = the SNOMED procedure and the CPT procedure codes, ``usedCode`` = the
  guidance (with its CPT code), ``reasonReference`` → the patient's Condition coded with one of the indication's
  ICD-10-CM codes, else ``reasonCode`` with the indication's codes; ``performer`` = who injected it.
- **Observation** per outcome score (category ``survey``): the total, count, measurement (``valueQuantity``) or
  grade (``valueString``); item responses as ``component`` only for an instrument whose licence is confirmed free
  (a licensed or unconfirmed instrument is exported as its total or grade alone).
- **Observation** per weight measurement (the FHIR Body Weight profile, ``bodyweight``): category
  ``vital-signs``, LOINC 29463-7 from the knowledge base, ``effectiveDateTime`` the day, ``valueQuantity`` in UCUM
  ``kg``; id ``<patient id>-weight-<digest of the day and weight>``. The importer reads it back.
- **QuestionnaireResponse** per diary day (``questionnaire`` ``<bont>/Questionnaire/<kind>-diary``, one item per
  field of the diary's day, answered as the field is typed: ``valueBoolean``, ``valueInteger``, one ``valueString``
  per option chosen; ``authored`` the day); **AdverseEvent** (``suspectEntity.instance`` → the suspected session's
  Procedure); **Provenance** per session from the audit trail (``recorded`` = when it was written, agents: the
  author who recorded it and the performer who injected it).
- **Moments** (when a dose was given, when a session was recorded) are written in the clinic's time zone with its
  offset (``2024-12-03T10:00:00+14:00``), so that their first 10 characters are the clinic's day, as an importer
  and ``clinical_days`` read it; a moment not known is written as the day.
- Withdrawn records (entered in error) are not exported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any

from bont.domain.billing import GUIDANCE_CODES, GUIDANCE_NAMES, BilledSite, procedure_lines
from bont.domain.codes import LOINC, NDC, UCUM, Coding, CPTCode, ICD10CMCode
from bont.domain.evidence import Cited, Grade
from bont.domain.knowledge import KnowledgeBase
from bont.domain.protocols import Guidance
from bont.services.fhir_exchange import ExportedSession, PatientExport
from bont.services.outcome_ports import StoredOutcome
from bont.services.patients import AdverseEventEntry, PatientHeader

BONT = "https://bont.example/fhir"
MRN_SYSTEM = f"{BONT}/sid/mrn"
SESSION_SYSTEM = f"{BONT}/sid/session"
ADMINISTRATION_SYSTEM = f"{BONT}/sid/session-site"
USER_SYSTEM = f"{BONT}/sid/user"
INSTRUMENT_SYSTEM = f"{BONT}/CodeSystem/instrument"
LATERALITY_EXTENSION = f"{BONT}/StructureDefinition/laterality"
UNVERIFIED_EXTENSION = f"{BONT}/StructureDefinition/unverified-code"
QUESTIONNAIRE = f"{BONT}/Questionnaire"
DEFAULT_BASE = BONT  # fullUrl base of a file export; the REST API passes its own

_SIDES = {"left": "left", "right": "right", "both": "bilateral", "bilateral": "bilateral"}
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


def patient_id(chart_key: str) -> str:
    """The Patient's FHIR id: the chart key with ``_`` (not allowed in a FHIR id) written ``.``."""
    return chart_key.replace("_", ".")


def chart_key_of(fhir_id: str) -> str:
    """The chart key a Patient id (or a chart key itself) stands for."""
    return fhir_id.replace(".", "_")


def _digest(*parts: object) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:16]


def _number(value: Decimal) -> int | float:
    """A JSON number: exact for whole numbers; a decimal's shortest float prints the same digits."""
    return int(value) if value == value.to_integral_value() else float(value)


def _coding(cited: Cited[Coding] | None) -> list[dict[str, Any]]:
    if cited is None:
        return []
    coding: dict[str, Any] = {"system": cited.value.system, "code": cited.value.code, "display": cited.value.display}
    if cited.citation.grade is Grade.UNVERIFIED:
        coding["extension"] = [{"url": UNVERIFIED_EXTENSION, "valueBoolean": True}]
    return [coding]


def _concept(codings: Iterable[dict[str, Any]], text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    listed = list(codings)
    if listed:
        concept["coding"] = listed
    if text:
        concept["text"] = text
    return concept


def _ref(kind: str, key: str, display: str | None = None) -> dict[str, str]:
    reference = {"reference": f"{kind}/{key}"}
    if display:
        reference["display"] = display
    return reference


def _user(username: str | None) -> dict[str, Any]:
    if username is None:
        return {"display": "command line (no operator named)"}
    return {"identifier": {"system": USER_SYSTEM, "value": username}, "display": username}


def _moment(on: date, at: datetime | None, zone: tzinfo) -> str:
    """A FHIR dateTime: the time when it is known, in the clinic's ``zone`` (its offset written, so that the first
    10 characters are the clinic's day, as importers and ``clinical_date`` read it), else the day."""
    return at.astimezone(zone).isoformat() if at is not None and at.tzinfo is not None else on.isoformat()


@cache
def _model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` once its R4B model accepts it (``pydantic.ValidationError`` otherwise)."""
    _model(resource["resourceType"]).model_validate(resource)
    return resource


# -- the resources


def patient_resource(chart_key: str, header: PatientHeader) -> dict[str, Any]:
    return validated(
        {
            "resourceType": "Patient",
            "id": patient_id(chart_key),
            "identifier": [{"use": "usual", "system": MRN_SYSTEM, "value": header.mrn}],
            "name": [{"use": "official", "family": header.family_name, "given": [header.given_name]}],
            "gender": header.sex if header.sex in ("female", "male", "other") else "unknown",
            "birthDate": header.birth_date.isoformat(),
        }
    )


class _Patient:
    """What every resource of one patient shares: the subject, the knowledge base, the conditions by code."""

    def __init__(self, knowledge: KnowledgeBase, record: PatientExport) -> None:
        self.knowledge = knowledge
        self.record = record
        self.id = patient_id(record.chart_key)
        self.subject = _ref("Patient", self.id)
        self.conditions: dict[str, str] = {}  # ICD-10-CM code -> the Condition's id

    def key(self, kind: str, *parts: object) -> str:
        return f"{self.id}-{kind}-{_digest(*parts)}"


def _conditions(patient: _Patient) -> list[dict[str, Any]]:
    record, knowledge = patient.record, patient.knowledge
    resources = []
    for term in dict.fromkeys(record.record.conditions):
        code = knowledge.condition_code(term)
        key = patient.key("condition", code or term)
        codings = []
        if code is not None:
            patient.conditions.setdefault(code, key)
            coding = {"system": ICD10CMCode.system, "code": code}
            title = knowledge.describe_code(code)
            if title:
                coding["display"] = title
            codings.append(coding)
        active = term in record.current_conditions
        resources.append(
            validated(
                {
                    "resourceType": "Condition",
                    "id": key,
                    "clinicalStatus": _concept(
                        [{"system": _CONDITION_CLINICAL, "code": "active" if active else "resolved"}]
                    ),
                    "code": _concept(codings, None if code is not None else term),
                    "subject": patient.subject,
                }
            )
        )
    return resources


def _allergies(patient: _Patient) -> list[dict[str, Any]]:
    return [
        validated(
            {
                "resourceType": "AllergyIntolerance",
                "id": patient.key("allergy", substance),
                "clinicalStatus": _concept([{"system": _ALLERGY_CLINICAL, "code": "active"}]),
                "code": {"text": substance},
                "patient": patient.subject,
            }
        )
        for substance in dict.fromkeys(patient.record.record.allergies)
    ]


def _medication_statements(patient: _Patient) -> list[dict[str, Any]]:
    record = patient.record
    return [
        validated(
            {
                "resourceType": "MedicationStatement",
                "id": patient.key("medicine", name),
                "status": "active" if name in record.current_medications else "stopped",
                "medicationCodeableConcept": {"text": name},
                "subject": patient.subject,
            }
        )
        for name in dict.fromkeys(record.record.medications)
    ]


def _medication(
    knowledge: KnowledgeBase, product_id: str, lot: tuple[str, date] | None, vial_units: Decimal | None
) -> dict[str, Any]:
    """The Medication of a product, and of one lot of it when ``lot`` (number, expiry) is given."""
    product = knowledge.products.get(product_id)
    resource: dict[str, Any] = {
        "resourceType": "Medication",
        "id": f"medication-{product_id}" + (f"-{_digest(*lot)}" if lot else ""),
    }
    if product is None:  # a product the knowledge base no longer holds: its id is all that is known
        resource["code"] = {"text": product_id}
        return validated(resource)
    vial = product.vial(vial_units) if vial_units is not None else None
    codings = _coding(product.rxnorm)
    if vial is not None and vial.ndc is not None:
        ndc: dict[str, Any] = {"system": NDC.system, "code": str(vial.ndc.value)}
        if vial.ndc.citation.grade is Grade.UNVERIFIED:
            ndc["extension"] = [{"url": UNVERIFIED_EXTENSION, "valueBoolean": True}]
        codings.append(ndc)
    size = f" {_number(vial.units)} units/vial" if vial is not None else ""
    resource["code"] = _concept(codings, f"{product.brand} ({product.established_name}){size}")
    terminology = knowledge.terminology
    substance = terminology.substances.get(product.serotype.value.value) if terminology else None
    resource["ingredient"] = [
        {"itemCodeableConcept": _concept(_coding(substance), product.established_name), "isActive": True}
    ]
    if lot is not None:
        resource["batch"] = {"lotNumber": lot[0], "expirationDate": lot[1].isoformat()}
    return validated(resource)


def _reason(patient: _Patient, indication_id: str) -> dict[str, Any]:
    """``reasonReference`` → the patient's Condition coded with one of the indication's codes, else
    ``reasonCode`` with the indication's ICD-10-CM codes and name."""
    indication = patient.knowledge.indications.get(indication_id)
    if indication is None:
        return {"reasonCode": [{"text": indication_id}]}
    codes = [str(cited.value.code) for cited in indication.icd10]
    matched = [patient.conditions[code] for code in codes if code in patient.conditions]
    if matched:
        return {"reasonReference": [_ref("Condition", key) for key in dict.fromkeys(matched)]}
    codings = [{"system": ICD10CMCode.system, "code": code} for code in codes]
    return {"reasonCode": [_concept(codings, indication.name)]}


def _session_resources(patient: _Patient, given: ExportedSession) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The session's Medications, then its Procedure, MedicationAdministrations and Provenance."""
    knowledge, entry, detail = patient.knowledge, given.entry, given.detail
    terminology = knowledge.terminology
    medications: dict[str, dict[str, Any]] = {}
    for draw in detail.draws:
        medication = _medication(
            knowledge, entry.product, (draw.lot_number, draw.lot_expiry), given.vial_units.get(draw.vial_id)
        )
        medications.setdefault(medication["id"], medication)
    if len(medications) != 1:  # no vial recorded, or several lots: the product's Medication, without a batch
        product_medication = _medication(knowledge, entry.product, None, None)
        site_medication = product_medication["id"]
        lots = list(medications)
        medications[site_medication] = product_medication
    else:
        site_medication = next(iter(medications))
        lots = [site_medication]
    procedure_key = f"session-{entry.id}"
    when = _moment(entry.on, entry.given_at, patient.record.zone)
    injector = entry.given_by or entry.recorded_by or detail.clinician
    reason = _reason(patient, entry.indication)
    indication = knowledge.indications.get(entry.indication)
    codings = _coding(terminology.procedure) if terminology else []
    if indication is not None:
        billed = [BilledSite(site.muscle, site.side or None) for site in detail.sites]
        codings += [
            {"system": CPTCode.system, "code": line.code} for line in procedure_lines(knowledge, indication, billed)
        ]
    name = indication.name if indication is not None else entry.indication
    procedure: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": procedure_key,
        "identifier": [{"system": SESSION_SYSTEM, "value": str(entry.id)}],
        "status": "completed",
        "code": _concept(codings, f"Chemodenervation with botulinum toxin ({name})"),
        "subject": patient.subject,
        "performedDateTime": when,
        "performer": [{"actor": _user(injector)}],
        **reason,
    }
    guidance = [_guidance(g.strip()) for g in detail.guidance.split(",") if g.strip()]
    if guidance:
        procedure["usedCode"] = guidance
    if lots:
        procedure["usedReference"] = [_ref("Medication", key) for key in lots]
    clinical = [validated(procedure)]
    for number, site in enumerate(detail.sites, start=1):
        clinical.append(
            _administration(patient, given, number, site.muscle, site.side, site.units, site_medication, when)
        )
    clinical.extend(_provenance(given, clinical, injector, patient.record.zone))
    return list(medications.values()), clinical


def _guidance(recorded: str) -> dict[str, Any]:
    try:
        known = Guidance(recorded)
    except ValueError:  # a guidance bont bills no code for is named in words
        return {"text": f"{recorded} guidance"}
    if known in GUIDANCE_CODES:
        coding = {"system": CPTCode.system, "code": GUIDANCE_CODES[known], "display": GUIDANCE_NAMES[known]}
        return _concept([coding], f"{GUIDANCE_NAMES[known]} guidance")
    return {"text": f"{recorded} guidance"}


def _administration(
    patient: _Patient,
    given: ExportedSession,
    number: int,
    muscle: str,
    side: str,
    units: Decimal,
    medication: str,
    when: str,
) -> dict[str, Any]:
    knowledge, entry = patient.knowledge, given.entry
    terminology = knowledge.terminology
    target = knowledge.targets.get(muscle)
    laterality = _SIDES.get(side)
    text = (target.name if target is not None else muscle) + (f", {laterality}" if laterality else "")
    site = _concept(_coding(target.snomed) if target is not None else [], text)
    if laterality:
        coded = terminology.laterality.get(laterality) if terminology else None
        site["extension"] = [
            {"url": LATERALITY_EXTENSION, "valueCodeableConcept": _concept(_coding(coded), laterality)}
        ]
    dose: dict[str, Any] = {"value": _number(units), "unit": "U"}
    if terminology is not None:
        dose |= {"system": UCUM, "code": terminology.dose_unit.value.code}
    dosage: dict[str, Any] = {"site": site, "dose": dose}
    route = terminology.route_for(target.kind) if terminology is not None and target is not None else None
    if route is not None:
        dosage["route"] = _concept(_coding(route.coding), route.id)
    reason = _reason(patient, entry.indication)
    return validated(
        {
            "resourceType": "MedicationAdministration",
            "id": f"session-{entry.id}-site-{number}",
            "identifier": [{"system": ADMINISTRATION_SYSTEM, "value": f"{entry.id}-{number}"}],
            "partOf": [_ref("Procedure", f"session-{entry.id}")],
            "status": "completed",
            "medicationReference": _ref("Medication", medication),
            "subject": patient.subject,
            "effectiveDateTime": when,
            "performer": [{"actor": _user(entry.given_by or entry.recorded_by or given.detail.clinician)}],
            **reason,
            "dosage": dosage,
        }
    )


def _provenance(
    given: ExportedSession, targets: Sequence[dict[str, Any]], injector: str, zone: tzinfo
) -> list[dict[str, Any]]:
    """Who recorded the session and when (the audit trail's creation of it), and who injected it."""
    recorded = given.recorded
    if recorded is None or recorded.when.tzinfo is None:  # Provenance.recorded is an instant: zone required
        return []
    target_refs = [_ref(target["resourceType"], target["id"]) for target in targets]
    author = {"coding": [{"system": _PARTICIPANT, "code": "author"}]}
    performer = {"coding": [{"system": _PARTICIPANT, "code": "performer"}]}
    return [
        validated(
            {
                "resourceType": "Provenance",
                "id": f"provenance-session-{given.entry.id}",
                "target": target_refs,
                "recorded": recorded.when.astimezone(zone).isoformat(),
                "agent": [{"type": author, "who": _user(recorded.who)}, {"type": performer, "who": _user(injector)}],
            }
        )
    ]


def _observation(patient: _Patient, outcome: StoredOutcome) -> dict[str, Any]:
    instrument = patient.knowledge.instruments.get(outcome.instrument)
    name = instrument.name if instrument is not None else outcome.instrument
    if instrument is not None and instrument.loinc:
        coding = {"system": LOINC, "code": instrument.loinc, "display": name}
    else:
        coding = {"system": INSTRUMENT_SYSTEM, "code": outcome.instrument, "display": name}
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"outcome-{outcome.id}",
        "status": "final",
        "category": [_concept([{"system": _OBSERVATION_CATEGORY, "code": "survey"}])],
        "code": _concept([coding], name),
        "subject": patient.subject,
    }
    if outcome.period_start is not None:
        resource["effectivePeriod"] = {
            "start": outcome.period_start.isoformat(),
            "end": outcome.measured_on.isoformat(),
        }
    else:
        resource["effectiveDateTime"] = outcome.measured_on.isoformat()
    score = outcome.score
    if score.value is not None:
        quantity: dict[str, Any] = {"value": _number(score.value)}
        if instrument is not None and instrument.unit:
            quantity["unit"] = instrument.unit
        resource["valueQuantity"] = quantity
    elif score.grade is not None:
        resource["valueString"] = score.grade
    if score.band:
        resource["interpretation"] = [{"text": score.band}]
    if instrument is not None and instrument.licence.items_bundled and score.items:
        # Items only of an instrument free to reproduce; a licensed one is held and sent as its total alone.
        resource["component"] = [
            {
                "code": _concept([{"system": INSTRUMENT_SYSTEM, "code": f"{outcome.instrument}.{key}"}]),
                "valueInteger": value,
            }
            for key, value in score.items
        ]
    return validated(resource)


def _weights(patient: _Patient) -> list[dict[str, Any]]:
    """An Observation per weight measurement (the FHIR Body Weight profile's elements). The same weight twice on
    one day is one measurement, kept at its last place, so that a day's last measurement, the one the chart reads,
    is still the day's last once imported."""
    terminology = patient.knowledge.terminology
    measured = list(reversed(dict.fromkeys(reversed([(w.on, w.kg) for w in patient.record.record.weights]))))
    return [
        validated(
            {
                "resourceType": "Observation",
                "id": patient.key("weight", on, kg),
                "status": "final",
                "category": [_concept([{"system": _OBSERVATION_CATEGORY, "code": "vital-signs"}])],
                "code": _concept(_coding(terminology.body_weight if terminology else None), "Body weight"),
                "subject": patient.subject,
                "effectiveDateTime": on.isoformat(),
                "valueQuantity": {"value": _number(kg), "unit": "kg", "system": UCUM, "code": "kg"},
            }
        )
        for on, kg in measured
    ]


def _answers(value: object) -> list[dict[str, Any]]:
    """The answers of one diary field, typed as the field is: a yes/no, a count, one text per chosen option."""
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return [{"valueBoolean": value}]
    if isinstance(value, int):
        return [{"valueInteger": value}]
    if isinstance(value, frozenset):
        return [{"valueString": str(option)} for option in sorted(value)]
    return [{"valueString": str(value)}]


def _diary_days(patient: _Patient) -> list[dict[str, Any]]:
    resources = []
    for kind, days in sorted(patient.record.diaries.items()):
        for day in days:
            items = []
            for field in sorted(fields(day), key=lambda f: f.name):
                if field.name == "day":
                    continue
                item: dict[str, Any] = {"linkId": field.name}
                answers = _answers(getattr(day, field.name))
                if answers:  # no option chosen: the item without an answer
                    item["answer"] = answers
                items.append(item)
            resource: dict[str, Any] = {
                "resourceType": "QuestionnaireResponse",
                "id": patient.key("diary", kind, day.day),
                "questionnaire": f"{QUESTIONNAIRE}/{kind}-diary",
                "status": "completed",
                "subject": patient.subject,
                "authored": day.day.isoformat(),
                "item": items,
            }
            resources.append(validated(resource))
    return resources


def _adverse_event(patient: _Patient, event: AdverseEventEntry, procedures: set[str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": f"adverse-event-{event.id}",
        "actuality": "actual",
        "event": {"text": event.event},
        "subject": patient.subject,
        "date": event.onset.isoformat(),
        "seriousness": _concept([{"system": _SERIOUSNESS, "code": "serious" if event.serious else "non-serious"}]),
    }
    if event.severity in ("mild", "moderate", "severe"):
        resource["severity"] = _concept([{"system": _SEVERITY, "code": event.severity}])
    if event.outcome:
        resource["outcome"] = {"text": event.outcome}
    suspected = f"session-{event.session_id}"
    if event.session_id is not None and suspected in procedures:
        resource["suspectEntity"] = [{"instance": _ref("Procedure", suspected)}]
    return validated(resource)


def patient_resources(knowledge: KnowledgeBase, record: PatientExport) -> list[dict[str, Any]]:
    """Every resource of the patient's record: Patient, Conditions, AllergyIntolerances, MedicationStatements,
    Medications, then per session its Procedure, MedicationAdministrations and Provenance, Observations (the
    weights, then the outcomes), QuestionnaireResponses and AdverseEvents."""
    patient = _Patient(knowledge, record)
    resources = [patient_resource(record.chart_key, record.record.header)]
    resources += _conditions(patient) + _allergies(patient) + _medication_statements(patient)
    medications: dict[str, dict[str, Any]] = {}
    clinical: list[dict[str, Any]] = []
    for given in record.sessions:
        used, made = _session_resources(patient, given)
        for medication in used:
            medications.setdefault(medication["id"], medication)
        clinical += made
    resources += list(medications.values()) + clinical
    resources += _weights(patient) + [_observation(patient, outcome) for outcome in record.outcomes]
    resources += _diary_days(patient)
    procedures = {r["id"] for r in clinical if r["resourceType"] == "Procedure"}
    resources += [
        _adverse_event(patient, event, procedures)
        for event in record.record.adverse_events
        if not event.withdrawn_reason
    ]
    return resources


def bundle(
    resources: Sequence[dict[str, Any]], kind: str, bundle_id: str, base_url: str | None = None
) -> dict[str, Any]:
    """A Bundle of ``kind`` (``collection`` for a file, ``searchset`` for the API, with ``total``): each entry's
    ``fullUrl`` is ``<base>/<type>/<id>``, so the relative references between its resources resolve inside it."""
    base = (base_url or DEFAULT_BASE).rstrip("/")
    document: dict[str, Any] = {"resourceType": "Bundle", "id": patient_id(bundle_id), "type": kind}
    if kind == "searchset":
        document["total"] = len(resources)
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}", "resource": resource}
        if kind == "searchset":
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    if entries:
        document["entry"] = entries
    return validated(document)


_SOURCES = {
    "Procedure": (re.compile(r"session-([0-9]{1,18})"), "session"),
    "MedicationAdministration": (re.compile(r"session-([0-9]{1,18})-site-[0-9]+"), "session"),
    "Provenance": (re.compile(r"provenance-session-([0-9]{1,18})"), "session"),
    "Observation": (re.compile(r"outcome-([0-9]{1,18})"), "outcome"),
}

_WEIGHT_ID = re.compile(r"(.+)-weight-[0-9a-f]{16}")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # the FHIR id datatype


def source_of(resource_type: str, resource_id: str) -> tuple[str, str] | None:
    """The record an id was derived from (see the ids above): ("patient", chart key) (a Patient, or a weight
    Observation), ("session", id) or ("outcome", id); None for any other id, and for a text FHIR allows as no id."""
    if not _FHIR_ID.fullmatch(resource_id):
        return None
    if resource_type == "Patient":
        return ("patient", chart_key_of(resource_id))
    weighed = _WEIGHT_ID.fullmatch(resource_id) if resource_type == "Observation" else None
    if weighed is not None:  # a weight measurement has no row id of its own: its id names the patient's
        return ("patient", chart_key_of(weighed.group(1)))
    known = _SOURCES.get(resource_type)
    found = known[0].fullmatch(resource_id) if known is not None else None
    return None if known is None or found is None else (known[1], found.group(1))


_CLINICAL_DATES = ("performedDateTime", "effectiveDateTime", "authored", "date", "recorded")


def clinical_days(resource: Mapping[str, Any]) -> tuple[date, date] | None:
    """The first and last day a resource is about: the day given (Procedure, MedicationAdministration) or
    measured (Observation), or the period a measurement covers (an Observation's ``effectivePeriod``), the diary's
    day, the adverse event's onset, a Provenance's recording; None for the others. Each moment's first 10
    characters are its day (``_moment`` writes them in the clinic's zone)."""
    period = resource.get("effectivePeriod")
    if isinstance(period, Mapping) and isinstance(period.get("end"), str):
        end = date.fromisoformat(period["end"][:10])
        start = period.get("start")
        return (date.fromisoformat(start[:10]) if isinstance(start, str) else end, end)
    for name in _CLINICAL_DATES:
        value = resource.get(name)
        if isinstance(value, str):
            day = date.fromisoformat(value[:10])
            return (day, day)
    return None
