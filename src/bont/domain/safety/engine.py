"""Run every safety rule over one request and give the verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from operator import attrgetter

from bont.domain.doses import Units
from bont.domain.errors import PlanningError, UnknownIdError
from bont.domain.findings import Finding, Severity
from bont.domain.indications import Indication
from bont.domain.knowledge import KnowledgeBase
from bont.domain.products import Product
from bont.domain.protocols import Protocol, protocol_for_plan
from bont.domain.safety.context import Context, as_utc, population_for
from bont.domain.safety.model import Administration, CheckRequest, SessionSite
from bont.domain.safety.rules import RULES

MAX_UNITS = Decimal(100000)
MIN_SITE_UNITS = Decimal("0.01")
NO_UNITS = Decimal(0)
MIN_WEIGHT_KG, MAX_WEIGHT_KG = Decimal("0.3"), Decimal(500)


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


def _protocol(protocols: tuple[Protocol, ...], request: CheckRequest, sides: set[str]) -> Protocol | None:
    """The protocol for the plan, chosen exactly as the planner chooses it."""
    try:
        return protocol_for_plan(protocols, request.plan.variant, sides, request.patient.sex)
    except PlanningError as error:
        raise PlanningError("plan.variant", error.problem) from error


SIDES = frozenset(("left", "right", "midline"))
_UNITS, _SIDE, _MUSCLE = attrgetter("units"), attrgetter("side"), attrgetter("muscle")
SIDES_OR_NONE = SIDES | {None}


def _resolved(knowledge: KnowledgeBase, request: CheckRequest) -> tuple[CheckRequest, _History]:
    """Validate the request and resolve brand names and aliases to ids, so that "BOTOX" in the history
    counts as onabotulinumtoxinA; raises ``PlanningError`` naming the field for anything that cannot be
    checked at all. Gives the request with its plan, vials and adverse events resolved, and what the rules read
    of the history (``_read_history``): unknown history products and indications are kept there, to be reported
    as findings."""
    plan = request.plan
    product = (
        plan.product
        if plan.product in knowledge.products
        else _plan_id(knowledge.product, plan.product, "plan.product")
    )
    indication = (
        plan.indication
        if plan.indication in knowledge.indications
        else _plan_id(knowledge.indication, plan.indication, "plan.indication")
    )
    patient = request.patient
    if patient.birth_date is not None and patient.birth_date > request.on:
        raise PlanningError("patient.birth_date", "is after the session date")
    if patient.weight_kg is not None and not MIN_WEIGHT_KG <= patient.weight_kg <= MAX_WEIGHT_KG:
        raise PlanningError("patient.weight_kg", "must be between 0.3 and 500 kg")
    # Most requests already name ids and lower-case sides (plans and records are bont's own): an item is copied
    # only when something in it is resolved, and the request only when some item is. The sites are listed anew
    # only from the first one resolved; when every site is in order, they are checked all at once.
    sites: list[SessionSite] | None = None
    amounts = list(map(_UNITS, plan.sites))
    try:
        in_order = (not amounts or MIN_SITE_UNITS <= min(amounts) <= max(amounts) <= MAX_UNITS) and (
            set(map(_SIDE, plan.sites)) <= SIDES_OR_NONE and knowledge.targets.keys() >= set(map(_MUSCLE, plan.sites))
        )
    except InvalidOperation:  # a NaN amount: the site-by-site pass below names the first site not a finite amount
        in_order = False
    site_sum = sum(amounts, NO_UNITS) if in_order else NO_UNITS
    targets = knowledge.targets
    for index, site in enumerate(() if in_order else plan.sites):
        units, side, muscle = site.units, site.side, site.muscle
        if not units.is_finite() or not MIN_SITE_UNITS <= units <= MAX_UNITS:
            raise PlanningError(f"plan.sites.{index}.units", "must be between 0.01 and 100000")
        if side not in SIDES:
            side = side.casefold() if side else None
            if side is not None and side not in SIDES:
                raise PlanningError(f"plan.sites.{index}.side", "must be left, right or midline")
        if muscle not in targets:
            muscle = _target_id(knowledge, muscle)
        if sites is None and (muscle != site.muscle or side != site.side):
            sites = list(plan.sites[:index])
        if sites is not None:
            sites.append(
                site if muscle == site.muscle and side == site.side else replace(site, muscle=muscle, side=side)
            )
        site_sum += units
    total = plan.total_units
    if total is not None and not NO_UNITS < total <= MAX_UNITS:
        raise PlanningError("plan.total_units", "must be between 0 and 100000")
    if total is not None and plan.sites and total != site_sum:
        raise PlanningError("plan.total_units", "differs from the sum of the sites' units")
    history = _read_history(knowledge, request, product, indication)
    at = request.at
    vials = []
    for index, vial in enumerate(request.vials):
        if vial.reconstituted_at is not None and at is not None and as_utc(vial.reconstituted_at) > as_utc(at):
            raise PlanningError(f"vials.{index}.reconstituted_at", "is after the moment of drawing")
        vial_product = _product_id(knowledge, vial.product)
        vials.append(vial if vial_product == vial.product else replace(vial, product=vial_product))
    events = []
    for index, event in enumerate(request.adverse_events):
        if event.on > request.on:
            raise PlanningError(f"adverse_events.{index}.date", "is after the session date")
        if not event.term.strip():
            raise PlanningError(f"adverse_events.{index}.term", "is empty")
        event_product = _product_id(knowledge, event.product) if event.product else None
        event_indication = _indication_id(knowledge, event.indication) if event.indication else None
        if event_product == event.product and event_indication == event.indication:
            events.append(event)
        else:
            events.append(replace(event, product=event_product, indication=event_indication))
    resolved_plan = (
        plan
        if product == plan.product and indication == plan.indication and sites is None
        else replace(plan, product=product, indication=indication, sites=plan.sites if sites is None else tuple(sites))
    )
    if (
        resolved_plan is plan
        and (not vials or _same(vials, request.vials))
        and (not events or _same(events, request.adverse_events))
    ):
        return request, history
    return replace(request, plan=resolved_plan, vials=tuple(vials), adverse_events=tuple(events)), history


@dataclass(frozen=True)
class _History:
    """What the rules read of the whole history, gathered in one pass."""

    recent: tuple[Administration, ...]  # known products, as far back as any window of the knowledge base reaches
    # No earlier session of the plan's product for its indication, however old. A dose given elsewhere whose
    # indication is not given counts in every indication's figures (``counts_for``) but leaves the patient a new
    # one here: the initial-dose cautions stay until a session for this indication is known.
    first_session: bool
    unrecognised: tuple[Administration, ...]  # naming an unknown product or indication, to be reported


_NO_HISTORY = _History((), True, ())


def _read_history(knowledge: KnowledgeBase, request: CheckRequest, product: str, indication: str) -> _History:
    """Validate every earlier administration and resolve its aliases, in one pass that also notes a first
    session and keeps only what is recent enough to matter: a long history costs one light step per session."""
    if not request.history:
        return _NO_HISTORY
    products, indications, on = knowledge.products, knowledge.indications, request.on
    earliest = on - timedelta(days=knowledge.lookback_days)
    first_session = True
    recent = []
    unrecognised = []
    for index, item in enumerate(request.history):
        day = item.on
        if day > on:
            raise PlanningError(f"history.{index}.date", "is after the session date")
        if not NO_UNITS < item.units <= MAX_UNITS:
            raise PlanningError(f"history.{index}.units", "must be between 0 and 100000")
        if item.product not in products or item.indication not in indications:
            # A brand name or alias counts as its id ("BOTOX" is onabotulinumtoxinA); what names nothing is reported.
            # A dose given elsewhere may name no indication: it counts toward every indication's figures
            # (``counts_for``).
            product_id = _product_id(knowledge, item.product)
            indication_id = None if item.indication is None else _indication_id(knowledge, item.indication)
            if product_id != item.product or indication_id != item.indication:
                item = replace(item, product=product_id, indication=indication_id)
            if product_id not in products or (indication_id is not None and indication_id not in indications):
                unrecognised.append(item)
            if product_id not in products:
                continue
        if first_session and day < on and item.product == product and item.indication == indication:
            first_session = False
        if day >= earliest:
            recent.append(item)
    return _History(tuple(recent), first_session, tuple(unrecognised))


def _same(resolved: Sequence[object], given: Sequence[object]) -> bool:
    """Whether resolving kept every item as it was given (the very same objects)."""
    return all(new is old for new, old in zip(resolved, given, strict=True))


def _plan_id(lookup: Callable[[str], Product | Indication], name: str, field: str) -> str:
    try:
        return lookup(name).id
    except UnknownIdError as error:
        raise PlanningError(field, str(error)) from error


def _target_id(knowledge: KnowledgeBase, name: str) -> str:
    return knowledge.target_id(name) or name  # an unknown muscle is reported as an unrecognised term


def _product_id(knowledge: KnowledgeBase, name: str) -> str:
    return knowledge.product_id(name) or name


def _indication_id(knowledge: KnowledgeBase, name: str) -> str:
    return knowledge.indication_id(name) or name


def check(knowledge: KnowledgeBase, request: CheckRequest) -> SafetyReport:
    """Check a plan against the label, the patient and the whole history; raises ``PlanningError`` (naming
    the field) for input that cannot be checked at all (an unknown plan product, a date in the future)."""
    request, history = _resolved(knowledge, request)
    product = knowledge.products[request.plan.product]
    indication = knowledge.indications[request.plan.indication]
    age = request.patient.age_on(request.on)
    population = population_for(age)
    protocols = indication.protocols_for(product.id, population)
    sites = request.plan.sites
    sides = {site.side or "" for site in sites}
    ctx = Context(
        knowledge=knowledge,
        request=request,
        product=product,
        indication=indication,
        population=population,
        age_years=age,
        protocol=_protocol(protocols, request, sides),
        limits_protocol=_protocol(indication.limiting_protocols(product.id, population), request, sides),
        history=history.recent,
        first_session=history.first_session,
        planned_units=Units(product.id, request.plan.units),
        unrecognised_history=history.unrecognised,
        muscles=tuple(dict.fromkeys(map(_MUSCLE, sites))),
    )
    found: list[Finding] = []
    for rule in RULES:
        found.extend(rule(ctx))
    findings = tuple(dict.fromkeys(found))
    return SafetyReport(_verdict(findings), findings, ctx.protocol.id if ctx.protocol else None)
