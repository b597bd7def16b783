"""What the FHIR tests read of a bundle or a resource (plain JSON): the references it holds."""

from __future__ import annotations


def references_in(value: object) -> list[str]:
    """Every ``reference`` string inside ``value``, depth first."""
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for key, item in value.items() if key != "reference" for r in references_in(item)]
    if isinstance(value, list):
        return [r for item in value for r in references_in(item)]
    return []
