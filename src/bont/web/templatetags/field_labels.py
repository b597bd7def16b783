"""Field names in words for the error summaries: a form's keys (``correction_reason``, ``drawn:2``,
``ack:drug-interaction``) are how the code names fields, not how a nurse reads them."""

from __future__ import annotations

from django import template

register = template.Library()

LABELS = {
    "on": "date given",
    "date": "date",
    "given_at": "given at",
    "given_by": "given by",
    "mrn": "MRN",
    "age_years": "age",
    "weight_kg": "weight (kg)",
    "weighed_on": "date weighed",
    "diluent_ml": "diluent (mL)",
    "vial_units": "vial size",
    "birth_date": "birth date",
    "given_name": "given name",
    "family_name": "family name",
    "measured_on": "date measured",
    "headache_hours": "hours of headache",
    "override_reason": "clinician's override",
    "correction_reason": "reason for the correction",
    "deviation_reason": "reason for the deviation",
    "draws": "vials",
    "openings": "vial reconstitution",
    "replace": "replace that entry",
}
ROW_LABELS = {
    "drawn": "units drawn, vial row",
    "lot": "lot, vial row",
    "vial": "vial, vial row",
    "opened_at": "reconstituted at, vial row",
    "diluent": "diluent (mL), vial row",
    "units": "units, row",
    "side": "side, row",
    "sites": "sites, row",
    "site_units": "units given, site",
    "site_position": "where the canvas drew site",
}
# Rows numbered from 0 in the form's field names and from 1 on the page.
COUNTED_FROM_ZERO = {"units", "side", "sites", "site_units", "site_position"}
# A finding's code in words, where "off-label" keeps its hyphen.
CODE_WORDS = {"off label": "off-label"}


@register.filter
def field_label(key: str) -> str:
    """``drawn:2`` → "units drawn, vial row 2"; ``site_units:2`` → "units given, site 3";
    ``ack:drug-interaction`` → "reason for drug interaction"."""
    name, _, detail = str(key).partition(":")
    if name == "ack" and detail:
        return f"reason for {detail.replace('-', ' ')}"
    if detail and name in ROW_LABELS:
        shown = int(detail) + 1 if detail.isdigit() and name in COUNTED_FROM_ZERO else detail
        return f"{ROW_LABELS[name]} {shown}"
    label = LABELS.get(name, name.replace("_", " "))
    return f"{label} {detail}".strip()


@register.filter
def in_words(code: str) -> str:
    """A finding's code as a person reads it: ``retreatment-interval-too-short`` → "Retreatment interval too short"
    (the code itself stays in the page's attributes, for the acknowledgement fields and for automation)."""
    words = str(code).replace("-", " ")
    for plain, written in CODE_WORDS.items():
        words = words.replace(plain, written)
    return words[:1].upper() + words[1:]
