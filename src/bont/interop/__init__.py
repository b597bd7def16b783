"""Adapters that turn bont's documents into other formats (printable sheets; later FHIR and exports)."""
