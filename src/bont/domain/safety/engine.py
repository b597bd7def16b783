"""Run every safety rule over one request and give the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bont.domain.errors import PlanningError, UnknownIdError
from bont.domain.findings import Finding, Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.protocols import Protocol
from bont.domain.safety.context import Context, population_for
from bont.domain.safety.model import CheckRequest
from bont.domain.safety.rules import RULES


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    BLOCK = "block"


@dataclass(frozen=True)
class SafetyReport:
    verdict: Verdict
    findings: tuple[Finding, ...]
    protocol: str | None


def _verdict(findings: tuple[Finding, ...]) -> Verdict:
    severities = {finding.severity for finding in findings}
    if Severity.BLOCK in severities:
        return Verdict.BLOCK
    if Severity.WARN in severities:
        return Verdict.WARN
    return Verdict.OK


def _protocol(ctx_protocols: tuple[Protocol, ...], request: CheckRequest) -> Protocol | None:
    """The protocol for the plan; where there are variants, the named one or the one the plan's shape fits."""
    if not ctx_protocols:
        return None
    if request.plan.variant is not None:
        named = [p for p in ctx_protocols if p.variant == request.plan.variant]
        if not named:
            variants = ", ".join(str(p.variant) for p in ctx_protocols)
            raise PlanningError("plan.variant", f"'{request.plan.variant}' is not one of: {variants}")
        return named[0]
    sides = {site.side for site in request.plan.sites}
    by_variant = {p.variant: p for p in ctx_protocols}
    if "bilateral" in by_variant and {"left", "right"} <= sides:
        return by_variant["bilateral"]
    if "unilateral" in by_variant:
        return by_variant["unilateral"]
    sex = (request.patient.sex or "").casefold()
    if sex in ("female", "male") and {"women", "men"} <= set(by_variant):
        return by_variant["women" if sex == "female" else "men"]
    return ctx_protocols[0]


def check(knowledge: KnowledgeBase, request: CheckRequest) -> SafetyReport:
    """Check a plan against the label, the patient and the whole history; raises ``PlanningError`` (naming
    the field) when the plan's product or indication is not known, since nothing could then be checked."""
    try:
        product = knowledge.product(request.plan.product)
    except UnknownIdError as error:
        raise PlanningError("plan.product", str(error)) from error
    try:
        indication = knowledge.indication(request.plan.indication)
    except UnknownIdError as error:
        raise PlanningError("plan.indication", str(error)) from error
    if request.plan.units < 0 or any(site.units <= 0 for site in request.plan.sites):
        raise PlanningError("plan.sites", "units must be more than 0")
    age = request.patient.age_on(request.on)
    population = population_for(age)
    ctx = Context(
        knowledge=knowledge,
        request=request,
        product=product,
        indication=indication,
        population=population,
        age_years=age,
        protocol=_protocol(indication.protocols_for(product.id, population), request),
        history=tuple(item for item in request.history if item.product in knowledge.products and item.on <= request.on),
    )
    findings = tuple(finding for rule in RULES for finding in rule(ctx))
    return SafetyReport(_verdict(findings), findings, ctx.protocol.id if ctx.protocol else None)
