"""Plain JSON-ready documents of knowledge-base objects.

These dictionaries are bont's public interface for other programs (``--json`` in the CLI, later the
web API): field names are stable. Numbers stay numbers; every figure carries its source.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bont.domain.doses import CountRange, UnitRange, Units, UnitsPerKg, WeightCappedDose
from bont.domain.evidence import Citation, Cited, Grade
from bont.domain.findings import Finding
from bont.domain.indications import Indication
from bont.domain.knowledge import KnowledgeBase
from bont.domain.populations import AgeRange
from bont.domain.products import DoseLimit, Product
from bont.domain.protocols import MuscleDose, Protocol
from bont.domain.reconstitution import DilutionCheck
from bont.domain.safety import SafetyReport
from bont.services.next_session import NextSession
from bont.services.planning import CheckedPlan

Document = dict[str, Any]

DECISION_SUPPORT_NOTICE = (
    "bont is decision support, not a prescriber: its figures come from the cited sources; "
    "the treating clinician decides."
)


def number(amount: Decimal | int) -> int | float:
    """A JSON number: integral amounts as int, others rounded to 4 decimal places."""
    if isinstance(amount, int):
        return amount
    if amount == amount.to_integral_value():
        return int(amount)
    return float(round(amount, 4))


def citation_document(citation: Citation) -> Document:
    source = citation.source
    return {
        "id": source.id,
        "reference": source.reference,
        "kind": str(source.kind),
        "locator": citation.locator,
        "grade": str(citation.grade),
        "figure_kind": str(citation.kind) if citation.kind else None,  # limit or recommendation
        "wording": citation.wording,  # the source's own words the figure rests on
        "note": citation.note,
        "url": source.url,
        "pmid": source.pmid,
        "doi": source.doi,
    }


def _range(value: UnitRange | UnitsPerKg | CountRange) -> int | float | Document:
    if value.minimum == value.maximum:
        return number(value.minimum)
    return {"min": number(value.minimum), "max": number(value.maximum)}


def _optional_range(figure: Cited[UnitRange] | Cited[UnitsPerKg] | Cited[CountRange] | None) -> Any:
    return None if figure is None else _range(figure.value)


def _maximum(value: Units | WeightCappedDose) -> int | float | Document:
    if isinstance(value, Units):
        return number(value.amount)
    return {"units_per_kg": number(value.units_per_kg), "cap": number(value.cap)}


def _ages(ages: AgeRange) -> Document:
    return {
        "min_years": number(ages.minimum),
        "below_years": None if ages.below is None else number(ages.below),
        "text": str(ages),
    }


def _value(figure: Cited[Any] | None) -> Any:
    if figure is None:
        return None
    value = figure.value
    return number(value) if isinstance(value, (Decimal, int)) and not isinstance(value, bool) else value


def muscle_document(row: MuscleDose, knowledge: KnowledgeBase) -> Document:
    target = knowledge.targets[row.muscle]
    first = next((f for f in (row.units, row.units_per_kg, row.sites, row.max_units) if f is not None), None)
    return {
        "muscle": row.muscle,
        "name": target.name,
        "units": _optional_range(row.units),
        "units_per_kg": _optional_range(row.units_per_kg),
        "sites": _optional_range(row.sites),
        "side": str(row.laterality),
        "max_units": _value(row.max_units),
        "optional": row.optional,
        "pattern": row.pattern,
        "note": row.note,
        "source": citation_document(first.citation) if first else None,
    }


def protocol_document(protocol: Protocol, knowledge: KnowledgeBase) -> Document:
    figures: dict[str, Cited[Any] | None] = {
        "ages": protocol.ages,
        "total_units": protocol.total_units,
        "total_units_per_kg": protocol.total_units_per_kg,
        "session_maximum": protocol.session_maximum,
        "sites": protocol.sites,
        "max_units_per_site": protocol.max_units_per_site,
        "max_volume_per_site_ml": protocol.max_volume_per_site_ml,
        "volume_per_site_ml": protocol.volume_per_site_ml,
        "cumulative_limit": protocol.cumulative_limit,
        "min_interval_days": protocol.min_interval_days,
    }
    cumulative = protocol.cumulative_limit
    return {
        "id": protocol.id,
        "product": protocol.product,
        "indication": protocol.indication,
        "population": str(protocol.population),
        "variant": protocol.variant,
        "status": str(protocol.status),
        "title": protocol.title,
        "ages": _ages(protocol.ages.value),
        "route": str(protocol.route),
        "guidance": [str(g) for g in protocol.guidance],
        "total_units": _optional_range(protocol.total_units),
        "total_units_per_kg": _optional_range(protocol.total_units_per_kg),
        "sites": _optional_range(protocol.sites),
        "muscles": [muscle_document(row, knowledge) for row in protocol.muscles],
        "weight_bands": [
            {
                "min_kg": number(band.value.minimum_kg),
                "below_kg": None if band.value.below_kg is None else number(band.value.below_kg),
                "total_units": number(band.value.total_units),
                "muscle_units_per_side": {muscle: number(units) for muscle, units in band.value.muscle_units},
                "source": citation_document(band.citation),
            }
            for band in protocol.weight_bands
        ],
        "min_interval_days": _value(protocol.min_interval_days),
        "maxima": {
            "session": None if protocol.session_maximum is None else _maximum(protocol.session_maximum.value),
            "per_site_units": _value(protocol.max_units_per_site),
            "per_site_volume_ml": _value(protocol.max_volume_per_site_ml),
            "cumulative": None
            if cumulative is None
            else {"units": number(cumulative.value.maximum.amount), "window": str(cumulative.value.window)},
        },
        "volume_per_site_ml": _value(protocol.volume_per_site_ml),
        "dilutions": [
            {
                "vial_units": number(d.value.vial_units),
                "diluent_ml": number(d.value.diluent_ml),
                "units_per_0_1_ml": number(d.value.units_per_0_1_ml),
                "source": citation_document(d.citation),
            }
            for d in protocol.dilutions
        ],
        "notes": [{"text": note.value, "source": citation_document(note.citation)} for note in protocol.notes],
        "figure_sources": {
            name: citation_document(figure.citation) for name, figure in figures.items() if figure is not None
        },
        "sources": [citation_document(citation) for citation in protocol.citations],
    }


def indication_document(indication: Indication, knowledge: KnowledgeBase) -> Document:
    statuses = []
    # Approved products first, so a reader sees the labelled options before the off-label ones.
    approved_first = sorted(knowledge.products, key=lambda pid: knowledge.status(indication.id, pid).status.value)
    for product_id in approved_first:
        status = knowledge.status(indication.id, product_id)
        statuses.append(
            {
                "product": product_id,
                "brand": knowledge.products[product_id].brand,
                "status": str(status.status),
                "populations": [str(p) for p in status.populations],
                "explanation": status.explanation,
                "source": citation_document(status.citations[0]) if status.citations else None,
                "sources": [citation_document(c) for c in status.citations],
            }
        )
    return {
        "id": indication.id,
        "name": indication.name,
        "aliases": list(indication.aliases),
        "specialties": [str(s) for s in indication.specialties],
        "populations": [str(p) for p in indication.populations],
        "summary": indication.summary,
        "icd10": [str(code.value.code) for code in indication.icd10],
        "icd10_detail": [
            {
                "code": str(c.value.code),
                "description": c.value.description,
                "source": citation_document(c.citation),
            }
            for c in indication.icd10
        ],
        "cpt": [
            {
                "code": str(c.value.code),
                "description": c.value.description,
                "source": citation_document(c.citation),
            }
            for c in indication.cpt
        ],
        "statuses": statuses,
        "protocols": [protocol_document(protocol, knowledge) for protocol in indication.protocols],
        "evidence": [
            {
                "source": citation_document(Citation(item.source, Grade.STUDY)),
                "products": list(item.products),
                "level": item.level,
                "summary": item.summary,
            }
            for item in indication.evidence
        ],
        "notice": DECISION_SUPPORT_NOTICE,
    }


def indication_summary(indication: Indication, knowledge: KnowledgeBase) -> Document:
    approved = sorted(
        {p.product for p in indication.protocols if str(p.status) == "approved"},
        key=list(knowledge.products).index,
    )
    return {
        "id": indication.id,
        "name": indication.name,
        "populations": [str(p) for p in indication.populations],
        "icd10": [str(code.value.code) for code in indication.icd10],
        "approved_products": approved,
        "approved_brands": [knowledge.products[product].brand for product in approved],
        "protocols": len(indication.protocols),
    }


def _limit_document(limit: Cited[DoseLimit]) -> Document:
    value = limit.value
    return {
        "population": str(value.population),
        "scope": str(value.scope),
        "indications": list(value.indications),
        "maximum_units": _maximum(value.maximum),
        "window": None if value.window is None else str(value.window),
        "per": "window" if value.window else "session",
        "source": citation_document(limit.citation),
    }


def product_summary(product: Product) -> Document:
    return {
        "id": product.id,
        "brand": product.brand,
        "established_name": product.established_name,
        "serotype": str(product.serotype.value),
        "vial_sizes_units": [number(units) for units in product.vial_sizes],
        "hcpcs": str(product.hcpcs.value.code),
        "approved_indications": sorted({a.value.indication for a in product.approvals}),
    }


def product_document(product: Product) -> Document:
    billing = product.hcpcs.value
    return {
        "id": product.id,
        "brand": product.brand,
        "established_name": product.established_name,
        "manufacturer": product.manufacturer,
        "serotype": str(product.serotype.value),
        "formulation": str(product.formulation),
        "label": citation_document(Citation(product.label, Grade.LABEL)),
        "vial_sizes_units": [number(units) for units in product.vial_sizes],
        "vials": [
            {
                "units": number(vial.units),
                "solution_ml": None if vial.solution_ml is None else number(vial.solution_ml),
                "ndc": None if vial.ndc is None else str(vial.ndc.value),
                "ndc_source": None if vial.ndc is None else citation_document(vial.ndc.citation),
            }
            for vial in product.vials
        ],
        "diluent": product.diluent.value,
        "reconstitution": [
            {
                "vial_units": number(row.value.vial_units),
                "diluent_ml": number(row.value.diluent_ml),
                "units_per_ml": number(row.value.units_per_ml),
                "units_per_0_1_ml": number(row.value.units_per_0_1_ml),
                "source": citation_document(row.citation),
            }
            for row in product.reconstitution
        ],
        "storage_unopened": product.storage_unopened.value,
        "beyond_use_hours": _value(product.beyond_use_hours),
        "beyond_use_storage": _value(product.beyond_use_storage),
        "excipients": [{"allergen": e.value, "source": citation_document(e.citation)} for e in product.excipients],
        "hcpcs": {
            "code": str(billing.code),
            "units_per_billing_unit": number(billing.units_per_billing_unit),
            "source": citation_document(product.hcpcs.citation),
        },
        "approvals": [
            {
                "indication": a.value.indication,
                "population": str(a.value.population),
                "ages": _ages(a.value.ages),
                "wording": a.value.wording,
                "source": citation_document(a.citation),
            }
            for a in product.approvals
        ],
        "limits": [_limit_document(limit) for limit in product.limits],
        "boxed_warning": product.boxed_warning.value,
        "units_interchangeable": False,
        "figure_sources": {
            name: citation_document(figure.citation)
            for name, figure in _product_figures(product).items()
            if figure is not None
        },
        "notice": DECISION_SUPPORT_NOTICE,
    }


def _product_figures(product: Product) -> dict[str, Cited[Any] | None]:
    return {
        "serotype": product.serotype,
        "diluent": product.diluent,
        "storage_unopened": product.storage_unopened,
        "beyond_use_hours": product.beyond_use_hours,
        "beyond_use_storage": product.beyond_use_storage,
        "boxed_warning": product.boxed_warning,
    }


def finding_document(finding: Finding) -> Document:
    return {
        "severity": str(finding.severity),
        "code": finding.code,
        "message": finding.message,
        "source": None if finding.source is None else citation_document(finding.source),
        "acknowledgement": finding.acknowledgement,  # what the clinician must explicitly acknowledge, if anything
    }


def dilution_document(check: DilutionCheck, findings: tuple[Finding, ...], source: Citation | None) -> Document:
    return {
        "product": check.product,
        "vial_units": number(check.vial_units),
        "diluent_ml": number(check.diluent_ml),
        "exact_diluent_ml": number(check.exact_diluent_ml),
        "units_per_ml": number(check.concentration.units_per_ml),
        "units_per_0_1_ml": number(check.concentration.units_per_0_1_ml),
        "in_label": check.in_label,
        "source": None if source is None else citation_document(source),
        "findings": [finding_document(f) for f in findings],
        "notice": DECISION_SUPPORT_NOTICE,
    }


def plan_document(checked: CheckedPlan, knowledge: KnowledgeBase) -> Document:
    """The plan with the safety check's verdict and findings; ``notes`` say how the plan was made."""
    plan, report = checked.plan, checked.report
    product = knowledge.products[plan.product]
    billing = product.hcpcs.value
    return {
        "indication": plan.indication,
        "product": plan.product,
        "brand": product.brand,
        "population": str(plan.population),
        "date": plan.on.isoformat(),
        "protocol": {"id": plan.protocol.id, "title": plan.protocol.title, "status": str(plan.protocol.status)},
        "age_years": None if plan.age_years is None else number(plan.age_years),
        "weight_kg": None if plan.weight_kg is None else number(plan.weight_kg),
        "route": str(plan.protocol.route),
        "guidance": [str(g) for g in plan.protocol.guidance],
        "total_units": number(plan.total_units.amount),
        "muscles": [
            {
                "muscle": muscle.muscle,
                "name": knowledge.targets[muscle.muscle].name,
                "side": str(muscle.laterality),
                "units": number(muscle.units.amount),
                "sites": len(muscle.sites),
                "optional": muscle.optional,
            }
            for muscle in plan.muscles
        ],
        "sites": [
            {
                "muscle": site.muscle,
                "side": str(site.side),
                "units": number(site.units.amount),
                "volume_ml": number(site.volume_ml),
                "exact_volume_ml": number(site.draw.exact_volume_ml),
                "units_delivered": number(site.draw.delivered.amount),
                "optional": muscle.optional,
            }
            for muscle in plan.muscles
            for site in muscle.sites
        ],
        "concentration": {
            "units_per_ml": number(plan.concentration.units_per_ml),
            "units_per_0_1_ml": number(plan.concentration.units_per_0_1_ml),
        },
        "vials": [
            {
                "vial_units": number(vial.vial_units),
                "diluent_ml": None if vial.diluent_ml is None else number(vial.diluent_ml),
                "units_per_0_1_ml": number(vial.concentration.units_per_0_1_ml),
                "units_drawn": number(vial.drawn.amount),
                "units_left": number(vial.remaining.amount),
            }
            for vial in plan.vials
        ],
        "syringes_1_ml": plan.syringes,
        "preparation": None
        if (prepared := plan.preparation) is None
        else {
            "vials": prepared.value.vials,
            "vial_units": number(prepared.value.preparation.vial_units),
            "vial_diluent_ml": number(prepared.value.vial_diluent_ml),
            "syringes": prepared.value.syringes,
            "syringe_ml": number(prepared.value.syringe_ml),
            "draw_ml": number(prepared.value.draw_ml),
            "saline_ml": number(prepared.value.saline_ml),
            "units_per_syringe": number(prepared.value.units_per_syringe.amount),
            "final_volume_ml": number(prepared.value.final_volume_ml),
            "units_per_ml": number(prepared.value.final_concentration.units_per_ml),
            "injections": len(plan.sites),
            "injection_ml": None if plan.injection_volume_ml is None else number(plan.injection_volume_ml),
            "units_per_injection": None
            if plan.injection_volume_ml is None
            else number(prepared.value.units_per_injection(plan.injection_volume_ml)),
            "source": citation_document(prepared.citation),
        },
        "units_drawn": number(plan.units_drawn.amount),
        "waste_units": number(plan.waste.amount),
        "billing": {
            "hcpcs": str(billing.code),
            "units_per_billing_unit": number(billing.units_per_billing_unit),
        },
        "deviation_reason": plan.deviation_reason,
        "verdict": str(report.verdict),
        "findings": [finding_document(f) for f in report.findings],
        "notes": [finding_document(f) for f in plan.notes],
        "sources": [citation_document(c) for c in plan.sources],
        "notice": DECISION_SUPPORT_NOTICE,
    }


def safety_document(report: SafetyReport) -> Document:
    return {
        "verdict": str(report.verdict),
        "findings": [finding_document(f) for f in report.findings],
        "protocol": report.protocol,
        "notice": DECISION_SUPPORT_NOTICE,
    }


def next_session_document(next_session: NextSession) -> Document:
    """When the next session of one indication and product is allowed (``bont patient next --json``, the API)."""
    return {
        "indication": next_session.indication,
        "product": next_session.product,
        "last": next_session.last.isoformat(),
        "last_units": number(next_session.last_units),
        "earliest": None if next_session.earliest is None else next_session.earliest.isoformat(),
        "recommended": None if next_session.recommended is None else next_session.recommended.isoformat(),
        "limited_by": list(next_session.limited_by),
    }
