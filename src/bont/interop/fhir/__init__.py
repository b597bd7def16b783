"""FHIR R4 exchange: a patient's record as validated FHIR resources and Bundles (``export``, where the profile
decisions are written down) and their de-identification for bulk exports (``deidentify``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bont.domain.knowledge import KnowledgeBase
from bont.interop.fhir import export
from bont.interop.fhir.deidentify import Deidentifier
from bont.interop.fhir.export import (
    ADMINISTRATION_SYSTEM,
    INSTRUMENT_SYSTEM,
    LATERALITY_EXTENSION,
    MRN_SYSTEM,
    SESSION_SYSTEM,
    UNVERIFIED_EXTENSION,
    chart_key_of,
    patient_id,
)
from bont.services.fhir_exchange import FhirMapping, PatientExport

__all__ = [
    "ADMINISTRATION_SYSTEM",
    "INSTRUMENT_SYSTEM",
    "LATERALITY_EXTENSION",
    "MRN_SYSTEM",
    "SESSION_SYSTEM",
    "UNVERIFIED_EXTENSION",
    "Deidentifier",
    "R4Mapping",
    "chart_key_of",
    "patient_id",
]


class R4Mapping(FhirMapping):
    """The ``FhirMapping`` port: bont's records as FHIR R4 resources, validated with the R4B models."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self._knowledge = knowledge

    def resources(self, record: PatientExport) -> list[dict[str, Any]]:
        return export.patient_resources(self._knowledge, record)

    def bundle(
        self, resources: Sequence[dict[str, Any]], kind: str, bundle_id: str, base_url: str | None
    ) -> dict[str, Any]:
        return export.bundle(resources, kind, bundle_id, base_url)

    def clinical_days(self, resource: Mapping[str, Any]) -> tuple[date, date] | None:
        return export.clinical_days(resource)

    def source_of(self, resource_type: str, resource_id: str) -> tuple[str, str] | None:
        return export.source_of(resource_type, resource_id)

    def pseudonymiser(self) -> Deidentifier:
        return Deidentifier()
