"""Run every safety rule over one request and give the verdict."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from bont.domain.errors import PlanningError, UnknownIdError
from bont.domain.findings import Finding, Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.protocols import Protocol, protocol_for_plan
from bont.domain.safety.context import Context, as_utc, population_for
from bont.domain.safety.model import CheckRequest
from bont.domain.safety.rules import RULES

MAX_UNITS = Decimal(100000)


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


def _protocol(protocols: tuple[Protocol, ...], request: CheckRequest) -> Protocol | None:
    """The protocol for the plan, chosen exactly as the planner chooses it."""
    try:
        return protocol_for_plan(
            protocols, request.plan.variant, {site.side or "" for site in request.plan.sites}, request.patient.sex
        )
    except PlanningError as error:
        raise PlanningError("plan.variant", error.problem) from error


SIDES = ("left", "right", "midline")


def _resolved(knowledge: KnowledgeBase, request: CheckRequest) -> CheckRequest:
    """Validate the request and resolve brand names and aliases to ids, so that "BOTOX" in the history
    counts as onabotulinumtoxinA; raises ``PlanningError`` naming the field for anything that cannot be
    checked at all. Unknown history products and indications are kept, to be reported as findings."""
    try:
        product = knowledge.product(request.plan.product).id
    except UnknownIdError as error:
        raise PlanningError("plan.product", str(error)) from error
    try:
        indication = knowledge.indication(request.plan.indication).id
    except UnknownIdError as error:
        raise PlanningError("plan.indication", str(error)) from error
    patient = request.patient
    if patient.birth_date is not None and patient.birth_date > request.on:
        raise PlanningError("patient.birth_date", "is after the session date")
    if patient.weight_kg is not None and not Decimal("0.3") <= patient.weight_kg <= 500:
        raise PlanningError("patient.weight_kg", "must be between 0.3 and 500 kg")
    sites = []
    for index, site in enumerate(request.plan.sites):
        if not Decimal("0.01") <= site.units <= MAX_UNITS:
            raise PlanningError(f"plan.sites.{index}.units", "must be between 0.01 and 100000")
        side = site.side.casefold() if site.side else None
        if side is not None and side not in SIDES:
            raise PlanningError(f"plan.sites.{index}.side", "must be left, right or midline")
        try:
            muscle = knowledge.target(site.muscle).id
        except UnknownIdError:
            muscle = site.muscle  # reported as an unrecognised term
        sites.append(replace(site, muscle=muscle, side=side))
    total = request.plan.total_units
    site_sum = sum((site.units for site in sites), Decimal(0))
    if total is not None and not Decimal(0) < total <= MAX_UNITS:
        raise PlanningError("plan.total_units", "must be between 0 and 100000")
    if total is not None and sites and total != site_sum:
        raise PlanningError("plan.total_units", "differs from the sum of the sites' units")
    history = []
    for index, item in enumerate(request.history):
        if item.on > request.on:
            raise PlanningError(f"history.{index}.date", "is after the session date")
        if not Decimal(0) < item.units <= MAX_UNITS:
            raise PlanningError(f"history.{index}.units", "must be between 0 and 100000")
        product_id, indication_id = _product_id(knowledge, item.product), _indication_id(knowledge, item.indication)
        # Most history already names ids (it comes from bont's own records): copy only what an alias names.
        if (product_id, indication_id) == (item.product, item.indication):
            history.append(item)
        else:
            history.append(replace(item, product=product_id, indication=indication_id))
    at = request.at
    vials = []
    for index, vial in enumerate(request.vials):
        if vial.reconstituted_at is not None and at is not None and as_utc(vial.reconstituted_at) > as_utc(at):
            raise PlanningError(f"vials.{index}.reconstituted_at", "is after the moment of drawing")
        vials.append(replace(vial, product=_product_id(knowledge, vial.product)))
    events = []
    for index, event in enumerate(request.adverse_events):
        if event.on > request.on:
            raise PlanningError(f"adverse_events.{index}.date", "is after the session date")
        if not event.term.strip():
            raise PlanningError(f"adverse_events.{index}.term", "is empty")
        events.append(
            replace(
                event,
                product=_product_id(knowledge, event.product) if event.product else None,
                indication=_indication_id(knowledge, event.indication) if event.indication else None,
            )
        )
    return replace(
        request,
        plan=replace(request.plan, product=product, indication=indication, sites=tuple(sites)),
        history=tuple(history),
        vials=tuple(vials),
        adverse_events=tuple(events),
    )


def _product_id(knowledge: KnowledgeBase, name: str) -> str:
    if name in knowledge.products:
        return name
    try:
        return knowledge.product(name).id
    except UnknownIdError:
        return name


def _indication_id(knowledge: KnowledgeBase, name: str) -> str:
    if name in knowledge.indications:
        return name
    try:
        return knowledge.indication(name).id
    except UnknownIdError:
        return name


def check(knowledge: KnowledgeBase, request: CheckRequest) -> SafetyReport:
    """Check a plan against the label, the patient and the whole history; raises ``PlanningError`` (naming
    the field) for input that cannot be checked at all (an unknown plan product, a date in the future)."""
    request = _resolved(knowledge, request)
    product = knowledge.products[request.plan.product]
    indication = knowledge.indications[request.plan.indication]
    age = request.patient.age_on(request.on)
    population = population_for(age)
    protocols = indication.protocols_for(product.id, population)
    ctx = Context(
        knowledge=knowledge,
        request=request,
        product=product,
        indication=indication,
        population=population,
        age_years=age,
        protocol=_protocol(protocols, request),
        limits_protocol=_protocol(indication.limiting_protocols(product.id, population), request),
        history=tuple(item for item in request.history if item.product in knowledge.products),
    )
    findings = tuple(dict.fromkeys(finding for rule in RULES for finding in rule(ctx)))
    return SafetyReport(_verdict(findings), findings, ctx.protocol.id if ctx.protocol else None)
