"""The FHIR API's routes, mounted at /fhir/ by ``bont.web.urls``."""

from __future__ import annotations

from django.urls import path

from bont.web.fhir import views

urlpatterns = [
    path("", views.import_outside_history, name="fhir_import"),
    path("Bundle", views.import_outside_history, name="fhir_import_bundle"),
    path("metadata", views.metadata, name="fhir_metadata"),
    path("Patient", views.patients, name="fhir_patients"),
    path("Patient/_search", views.patient_search, name="fhir_patient_search"),  # before an id takes "_search"
    path("Patient/<str:patient_id>", views.patient, name="fhir_patient"),
    path("Patient/<str:patient_id>/$everything", views.everything, name="fhir_everything"),
    path("MedicationAdministration", views.medication_administrations, name="fhir_medication_administrations"),
    path("MedicationAdministration/<str:resource_id>", views.medication_administration, name="fhir_administration"),
    path("Observation", views.observations, name="fhir_observations"),
    path("Observation/<str:resource_id>", views.observation, name="fhir_observation"),
    path("<path:rest>", views.unsupported, name="fhir_unsupported"),  # last: what no route above matches
]
