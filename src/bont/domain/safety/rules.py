"""The safety rules. Each is a small function of the check's context that yields findings; its docstring
names where the rule comes from. Codes are stable strings that other programs rely on.

Rules are grouped by what they look at: dose limits, intervals, the patient's age, label status, the
patient's history (contraindications, conditions, medicines, pregnancy), unknown terms and the vials.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from bont.domain.doses import Units, WeightCappedDose, format_amount
from bont.domain.evidence import Citation, Grade
from bont.domain.findings import Finding, Severity
from bont.domain.products import LimitScope
from bont.domain.protocols import LabelStatus, Protocol, Route
from bont.domain.safety.context import Context, as_utc, counts_for, describe_limit, limit_finding
from bont.domain.safety.model import Administration
from bont.domain.safety.prior_reactions import prior_adverse_event
from bont.domain.vocabulary import Concern, Interaction
from bont.domain.windows import Window

Rule = Callable[[Context], Iterator[Finding]]

BLADDER_ROUTES = (Route.INTRADETRUSOR,)
PROCEDURAL_ROUTES = (
    Route.INTRADETRUSOR,
    Route.ENDOSCOPIC_INTRASPHINCTERIC,
    Route.ENDOSCOPIC_INTRAPYLORIC,
    Route.INTRASPHINCTERIC,
)
CERVICAL_INDICATIONS = ("cervical-dystonia", "sialorrhea")
# bont's own threshold, not a label figure: a session at 75% or more of the product's maximum is called
# high-dose when explaining dysphagia and breathing risk (it changes a message, never a severity).
HIGH_DOSE_FRACTION = Decimal("0.75")
EYELID_INDICATIONS = ("blepharospasm", "hemifacial-spasm")
CONCERN_CODES = {
    Concern.AUTONOMIC_DYSREFLEXIA: "autonomic-dysreflexia-risk",
    Concern.CORNEAL_EXPOSURE: "corneal-exposure-risk",
    Concern.BLEEDING_RISK: "bleeding-risk",
    Concern.CARDIOVASCULAR_DISEASE: "cardiovascular-disease",
}


def _u(amount: Decimal) -> str:
    return f"{format_amount(amount)} U"


# -- dose limits


@dataclass(frozen=True)
class _Cap:
    """One limit on a total, worked out for this patient: what is counted against it and what it allows."""

    total: Decimal
    allowed: Decimal
    citation: Citation
    message: str


def _exceeded(caps: list[_Cap]) -> list[_Cap]:
    """One finding per limit: caps that allow the same amount are one limit (the figure that may block
    speaks for it); of the exceeded ones, the strictest that may block, and a stricter recommendation or
    unverified one if there is one, so that the same limit is never reported twice in other words."""
    if not caps:
        return []  # most plans exceed nothing
    over = sorted((cap for cap in caps if cap.total > cap.allowed), key=lambda c: (c.allowed, not c.citation.may_block))
    blocking = next((cap for cap in over if cap.citation.may_block), None)
    warning = next((cap for cap in over if not cap.citation.may_block), None)
    exceeded = []
    if warning is not None and (blocking is None or warning.allowed < blocking.allowed):
        exceeded.append(warning)
    if blocking is not None:
        exceeded.append(blocking)
    return exceeded


def session_dose_exceeds_maximum(ctx: Context) -> Iterator[Finding]:
    """The plan's total above a fixed per-session figure: the protocol's maximum (XEOMIN: "should not exceed 400
    Units in a treatment session"; DYSPORT cervical dystonia 1000 U) or the product's (DYSPORT adult
    spasticity: 1500 U, upper and lower limbs combined), and the protocol's usual dose (a recommendation: it
    warns). Same-day doses of the same product count as one session."""
    # Each figure's amount in this product's units, its citation, the indications whose same-day doses count
    # toward it (None: all) and whose figure it is.
    limits: list[tuple[Decimal, Citation, tuple[str, ...] | None, str]] = []
    protocol = ctx.limits_protocol
    owner = "the protocol's" if protocol is ctx.protocol else "the adult protocol's"
    if protocol is not None and protocol.session_maximum is not None:
        protocol_maximum = protocol.session_maximum
        if isinstance(protocol_maximum.value, Units):
            limits.append(
                (
                    protocol_maximum.value.amount,
                    protocol_maximum.citation,
                    (ctx.indication.id,),
                    f"{owner} per-session maximum",
                )
            )
    if protocol is not None and protocol.total_units is not None and not _total_is_for_standard_rows(protocol):
        top = protocol.total_units
        limits.append((top.value.maximum, top.citation, (ctx.indication.id,), f"{owner} usual dose"))
    if protocol is not None and protocol.weight_bands and ctx.weight_kg is not None:
        band = protocol.weight_band(ctx.weight_kg)
        if band is not None:
            limits.append(
                (
                    band.value.total_units,
                    band.citation,
                    (ctx.indication.id,),
                    "the weight band's dose",
                )
            )
    for limit in ctx.product.limits_for(ctx.indication.id, ctx.population):
        value = limit.value
        if value.window is None and isinstance(value.maximum, Units):
            scope = None if value.scope is LimitScope.ALL_INDICATIONS else value.indications
            limits.append((value.maximum.amount, limit.citation, scope, f"{ctx.product.brand}'s per-session maximum"))
    caps = []
    for maximum, citation, scope, whose in limits:
        same_day = ctx.same_day_units(scope)
        total = ctx.planned.amount + same_day
        if total <= maximum:
            continue  # within the limit: no message to word
        caps.append(
            _Cap(
                total,
                maximum,
                citation,
                f"{_u(total)} of {ctx.product.brand} in this session{_already(same_day)} is above {whose} of "
                f"{_u(maximum)}{_elsewhere(ctx, _given_elsewhere_today(ctx, scope), scope)}",
            )
        )
    for cap in _exceeded(caps):
        yield limit_finding("session-dose-exceeds-maximum", cap.citation, cap.message)


def _given_elsewhere_today(ctx: Context, indications: tuple[str, ...] | None) -> tuple[Administration, ...]:
    """The same-day doses of this product (``Context.same_day_units``) that were given elsewhere."""
    if not ctx.history:
        return ()
    return tuple(
        item
        for item in ctx.history
        if item.source is not None
        and item.on == ctx.on
        and item.product == ctx.product.id
        and counts_for(item, indications)
    )


def _already(same_day: Decimal) -> str:
    return f" with {_u(same_day)} already given today" if same_day else ""


def initial_dose_exceeded(ctx: Context) -> Iterator[Finding]:
    """A first session above the label's recommended initial dose (XEOMIN cervical dystonia: "The recommended
    initial total dose of XEOMIN is 120 Units"; DYSPORT 500 U; MYOBLOC 2,500–5,000 U with prior tolerance of
    toxin, lower when naive). The initial dose is a recommendation: it warns, and only when no earlier session
    of this product for this indication is on record."""
    protocol = ctx.protocol
    if protocol is None or protocol.initial_units is None or not ctx.first_session:
        return
    initial = protocol.initial_units
    if ctx.planned.amount > initial.value.maximum:
        yield limit_finding(
            "initial-dose-exceeded",
            initial.citation,
            f"no earlier {ctx.product.brand} session for {ctx.indication.name.lower()} is on record, and "
            f"{_u(ctx.planned.amount)} is above the initial dose of {initial.value}",
        )


def _total_is_for_standard_rows(protocol: Protocol) -> bool:
    """A protocol with optional rows (chronic migraine's follow-the-pain sites) gives its total for the
    standard rows and a session maximum that includes the optional ones: only the maximum limits the session."""
    return protocol.session_maximum is not None and protocol.has_optional_rows


def cumulative_dose_exceeds_maximum(ctx: Context) -> Iterator[Finding]:
    """This product's units in the label's window, plan included, above its cumulative maximum: BOTOX adults
    400 U in any 3 months for all indications together (§2.1); pediatric the lesser of 10 U/kg or 340 U
    (unverified: warns only); BOTOX blepharospasm 200 U in 30 days. Other products are never summed in."""
    for limit in ctx.product.limits_for(ctx.indication.id, ctx.population):
        value = limit.value
        if value.window is None:
            continue
        scope = None if value.scope is LimitScope.ALL_INDICATIONS else value.indications
        earlier = ctx.same_product_within(value.window, scope)
        amount = ctx.limit_amount(value.maximum)
        if amount is None:
            yield Finding(
                Severity.WARN,
                "cumulative-dose-exceeds-maximum",
                f"the weight is needed to check {ctx.product.brand}'s cumulative limit of {value.maximum} "
                f"in any {value.window}",
                limit.citation,
            )
            continue
        total = earlier + ctx.planned
        if total.amount > amount:
            yield limit_finding(
                "cumulative-dose-exceeds-maximum",
                limit.citation,
                f"{_counted(ctx, earlier, value.window, total)}, above the maximum of "
                f"{describe_limit(value.maximum, ctx.weight_kg)} in any {value.window}"
                f"{_elsewhere(ctx, ctx.given_elsewhere_within(value.window, scope), scope)}",
            )
    protocol = ctx.protocol
    if protocol is not None and protocol.cumulative_limit is not None:
        cumulative = protocol.cumulative_limit
        this_indication = (ctx.indication.id,)
        earlier = ctx.same_product_within(cumulative.value.window, this_indication)
        elsewhere = ctx.given_elsewhere_within(cumulative.value.window, this_indication)
        total = earlier + ctx.planned
        if total > cumulative.value.maximum:
            yield limit_finding(
                "cumulative-dose-exceeds-maximum",
                cumulative.citation,
                f"{_u(earlier.amount)} for {ctx.indication.name.lower()} in the last {cumulative.value.window} plus "
                f"{_u(ctx.planned.amount)} planned = {_u(total.amount)}, above "
                f"{_u(cumulative.value.maximum.amount)} in any {cumulative.value.window}"
                f"{_elsewhere(ctx, elsewhere, this_indication)}",
            )


def _elsewhere(ctx: Context, items: tuple[Administration, ...], indications: tuple[str, ...] | None) -> str:
    """The doses counted that were given elsewhere, each with its source, day and units, so that a finding
    about them says where they come from; counted toward a figure of some indications (``indications``), one
    whose indication is not given says that it is counted as if for this one."""
    return "".join(f"; {_earlier_dose(ctx, item, indications)}" for item in sorted(items, key=lambda item: item.on))


def _earlier_dose(ctx: Context, item: Administration, indications: Collection[str] | None) -> str:
    """One earlier dose as a finding names it: where it was given (when elsewhere), its day, units and product,
    and, counted toward a figure of some indications without naming its own, that it counts as if for this one."""
    where = f"given elsewhere ({item.source}), " if item.source else ""
    dose = f"{where}{item.on.isoformat()}: {_u(item.units)} {ctx.knowledge.products[item.product].brand}"
    if indications is not None and item.indication is None:
        dose += f", indication not given: counted as if for {ctx.indication.name.lower()}"
    return dose


def _counted(ctx: Context, earlier: Units, window: Window, total: Units) -> str:
    if not earlier.amount:
        return f"{_u(total.amount)} of {ctx.product.brand} planned, with none in the last {window}"
    return (
        f"{_u(earlier.amount)} of {ctx.product.brand} in the last {window} plus {_u(ctx.planned.amount)} planned = "
        f"{_u(total.amount)}"
    )


def weight_based_dose_exceeds_maximum(ctx: Context) -> Iterator[Finding]:
    """A weight-based maximum exceeded: "the lesser of X U/kg or Y U" per session (BOTOX pediatric upper limb
    6 U/kg or 200 U; DYSPORT pediatric lower limb 15 U/kg or 1000 U per leg, both legs 30 U/kg or 1000 U;
    DYSPORT pediatric, more than one limb: 30 U/kg or 1000 U, counting everything given that day; BOTOX
    pediatric NDO 6 U/kg or 200 U), and the protocol's U/kg dose (a recommendation). Same-day doses of the
    product count toward a session cap. Caps per limb are ``limb_dose_exceeds_maximum``'s."""
    caps: list[tuple[WeightCappedDose, Citation, tuple[str, ...] | None]] = []
    protocol = ctx.limits_protocol
    if protocol is not None and protocol.session_maximum is not None:
        maximum = protocol.session_maximum
        if isinstance(maximum.value, WeightCappedDose):
            caps.append((maximum.value, maximum.citation, (ctx.indication.id,)))
    for limit in ctx.product.limits_for(ctx.indication.id, ctx.population):
        value = limit.value
        if value.window is None and isinstance(value.maximum, WeightCappedDose):
            scope = None if value.scope is LimitScope.ALL_INDICATIONS else value.indications
            caps.append((value.maximum, limit.citation, scope))
    per_kg = protocol.total_units_per_kg if protocol else None
    if ctx.weight_kg is None:
        needed = [(str(cap), citation) for cap, citation, _ in caps]
        if per_kg is not None:
            needed.append((str(per_kg.value), per_kg.citation))
        if protocol is not None and protocol.per_side_maximum is not None:
            needed.append((str(protocol.per_side_maximum.value), protocol.per_side_maximum.citation))
        if needed:
            # Without a weight no weight-based limit can be checked: one finding says so.
            what, citation = needed[0]
            yield Finding(
                Severity.WARN,
                "weight-based-dose-exceeds-maximum",
                f"the dose is limited by weight ({what}): record the patient's weight to check it",
                citation,
            )
        return
    weight = ctx.weight_kg
    limits = []
    for cap, citation, scope in caps:
        same_day = ctx.same_day_units(scope)
        total = ctx.planned.amount + same_day
        allowed = cap.for_weight(weight).amount
        if total <= allowed:
            continue  # within the limit: no message to word
        limits.append(
            _Cap(
                total,
                allowed,
                citation,
                f"{_u(total)} of {ctx.product.brand}{_already(same_day)} is above {describe_limit(cap, weight)}"
                f"{_elsewhere(ctx, _given_elsewhere_today(ctx, scope), scope)}",
            )
        )
    if per_kg is not None and (protocol is None or protocol.per_side_maximum is None):
        allowed = per_kg.value.maximum * weight
        planned = ctx.planned.amount
        if planned > allowed:
            limits.append(
                _Cap(
                    planned,
                    allowed,
                    per_kg.citation,
                    f"{_u(planned)} is above {per_kg.value} × {format_amount(weight)} kg = {_u(allowed)}",
                )
            )
    for exceeded in _exceeded(limits):
        yield limit_finding("weight-based-dose-exceeds-maximum", exceeded.citation, exceeded.message)


def limb_dose_exceeds_maximum(ctx: Context) -> Iterator[Finding]:
    """Units in one limb (one side) above the label's per-limb figure: XEOMIN pediatric upper limb "up to a
    maximum dose of 200 Units per single upper limb" (8 U/kg); DYSPORT pediatric upper limb 16 U/kg or 640 U
    per limb; and, where the protocol doses per limb, its U/kg dose per limb (a recommendation)."""
    protocol = ctx.limits_protocol
    if protocol is None or protocol.per_side_maximum is None:
        return
    weight = ctx.weight_kg  # when unknown, weight_based_dose_exceeds_maximum says so once
    per_side: dict[str | None, Decimal] = defaultdict(Decimal)
    for site in ctx.request.plan.sites:
        per_side[site.side] += site.units
    if not per_side:
        per_side[None] = ctx.planned.amount  # a total without sites: as if given in one limb
    figures: list[tuple[Decimal, Citation, str]] = []
    maximum = protocol.per_side_maximum
    allowed = protocol.per_side_limit_units(weight)
    per_kg = protocol.total_units_per_kg
    dose = per_kg.value.maximum * weight if per_kg is not None and weight is not None else None
    most = max(per_side.values())
    if (allowed is None or most <= allowed) and (dose is None or most <= dose):
        return  # no limb above any figure: no message to word
    if allowed is not None:
        figures.append((allowed, maximum.citation, describe_limit(maximum.value, weight)))
    if per_kg is not None and weight is not None and dose is not None:
        figures.append((dose, per_kg.citation, f"{per_kg.value} × {format_amount(weight)} kg = {_u(dose)}"))
    for side, units in sorted(per_side.items(), key=lambda item: str(item[0])):
        where = f"the {side} limb" if side in ("left", "right") else "one limb (no sites given)"
        caps = [
            _Cap(units, amount, citation, f"{_u(units)} in {where} is above {text} per limb")
            for amount, citation, text in figures
        ]
        for exceeded in _exceeded(caps):
            yield limit_finding("limb-dose-exceeds-maximum", exceeded.citation, exceeded.message)


def site_dose_exceeds_maximum(ctx: Context) -> Iterator[Finding]:
    """Units or volume at one site, or units in one muscle, above the label's limit: BOTOX cervical dystonia
    no more than 50 U per site; the sternocleidomastoid limited to 100 U (advice, to reduce dysphagia);
    blepharospasm little benefit above 5 U per site (advice); DYSPORT 1 mL (adults) or 0.5 mL (children)
    per site; strabismus 25 U in one muscle."""
    protocol = ctx.limits_protocol
    if protocol is None:
        return
    sites = ctx.request.plan.sites
    if protocol.max_units_per_site is not None:
        cap = protocol.max_units_per_site
        over = [site for site in sites if site.units > cap.value]
        if over:
            worst = max(over, key=lambda site: site.units)
            yield limit_finding(
                "site-dose-exceeds-maximum",
                cap.citation,
                f"{len(over)} site(s) above {_u(cap.value)} per site (largest {_u(worst.units)} in {worst.muscle})",
            )
    if protocol.max_volume_per_site_ml is not None:
        cap_ml = protocol.max_volume_per_site_ml
        over = [site for site in sites if site.volume_ml is not None and site.volume_ml > cap_ml.value]
        if over:
            yield limit_finding(
                "site-dose-exceeds-maximum",
                cap_ml.citation,
                f"{len(over)} site(s) above {format_amount(cap_ml.value)} mL per site",
            )
    if not protocol.capped_muscles:
        return
    per_muscle: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for site in sites:
        per_muscle[(site.muscle, site.side)] += site.units
    for row in protocol.capped_muscles:
        if row.max_units is None:
            continue
        for (muscle, side), units in per_muscle.items():
            if muscle == row.muscle and units > row.max_units.value:
                where = f" ({side})" if side else ""
                yield limit_finding(
                    "site-dose-exceeds-maximum",
                    row.max_units.citation,
                    f"{_u(units)} in {muscle}{where} is above {_u(row.max_units.value)}",
                )


# -- intervals


def retreatment_interval_too_short(ctx: Context) -> Iterator[Finding]:
    """A new session of the same indication and product sooner than the label's interval: a limit where the
    label says "no sooner than" (BOTOX bladder: 12 weeks from the prior bladder injection; DYSPORT pediatric
    upper limb: 16 weeks; XEOMIN: every 12 weeks; MYOBLOC sialorrhea: every 3 months), a recommendation where
    it says "generally" or gives a schedule (BOTOX spasticity; chronic migraine every 12 weeks). Says the
    date the interval ends."""
    protocol = ctx.limits_protocol
    if protocol is None or protocol.min_interval_days is None or not ctx.history:
        return
    # BOTOX bladder injections count together: "no sooner than 12 weeks after the prior bladder injection".
    group = {ctx.indication.id}
    if Route.INTRADETRUSOR in ctx.routes:
        group |= {
            i.id for i in ctx.knowledge.indications.values() if any(p.route is Route.INTRADETRUSOR for p in i.protocols)
        }
    # The label's interval counts from this product's previous injection; another toxin is the other-toxin warning.
    # A dose whose indication is not given counts as if for this one (``counts_for``).
    earlier = [
        item for item in ctx.history if item.product == ctx.product.id and counts_for(item, group) and item.on < ctx.on
    ]
    if not earlier:
        return
    last = max(earlier, key=lambda item: item.on)
    days = (ctx.on - last.on).days
    minimum = protocol.min_interval_days
    if days < minimum.value:
        earliest = last.on + timedelta(days=minimum.value)
        brand = ctx.knowledge.products[last.product].brand
        if last.indication is None:
            session = f"the last {brand} session was {days} days ago ({_earlier_dose(ctx, last, group)})"
        else:
            elsewhere = f", given elsewhere ({last.source})" if last.source else ""
            name = ctx.knowledge.indications[last.indication].name.lower()
            session = f"the last {name} session was {days} days ago ({last.on.isoformat()}, {brand}{elsewhere})"
        yield limit_finding(
            "retreatment-interval-too-short",
            minimum.citation,
            f"{session}; the label's interval is {minimum.value} days, which ends on {earliest.isoformat()}",
        )


def other_botulinum_toxin_recently(ctx: Context) -> Iterator[Finding]:
    """A different botulinum toxin product given within about 4 months: the labels warn that the effect of
    giving different toxins at the same time or within several months is unknown and weakness may be
    potentiated. The other product's units are reported on their own, never summed with this product's."""
    if not ctx.history:
        return
    caution = ctx.knowledge.cautions["other-botulinum-toxin"]
    start = Window(days=caution.days).start(ctx.on)
    others = [item for item in ctx.history if item.product != ctx.product.id and start <= item.on <= ctx.on]
    citation = caution.citation
    for item in sorted(others, key=lambda i: i.on):
        brand = ctx.knowledge.products[item.product].brand
        given = f"for {item.indication}" if item.indication else "(indication not given)"
        if item.source:
            given += f", given elsewhere ({item.source})"
        yield Finding(
            Severity.WARN,
            "other-botulinum-toxin-recently",
            f"{_u(item.units)} of {brand} on {item.on.isoformat()} {given} "
            f"({(ctx.on - item.on).days} days ago); {brand} units are not {ctx.product.brand} units and are not "
            "added to this session's total",
            citation,
        )


# -- age and label status


def age_outside_label(ctx: Context) -> Iterator[Finding]:
    """The patient's age outside the approved population for this product and indication (§1 of each
    label), e.g. BOTOX blepharospasm below 12 years, or a pediatric use approved only for adults."""
    age = ctx.age_years
    if age is None:
        yield Finding(
            Severity.WARN,
            "age-outside-label",
            "no birth date was given, so the approved age range cannot be checked; adult limits are used",
        )
        return
    approvals = ctx.product.approvals_for(ctx.indication.id)
    if not approvals or any(a.value.ages.contains(age) for a in approvals):
        return
    ranges = "; ".join(f"{a.value.population} {a.value.ages}" for a in approvals)
    yield Finding(
        Severity.WARN,
        "age-outside-label",
        f"{ctx.product.brand} is approved for {ctx.indication.name.lower()} in {ranges}; the patient is "
        f"{format_amount(age)} years old (off-label for this age)",
        approvals[0].citation,
    )


def age_outside_protocol(ctx: Context) -> Iterator[Finding]:
    """For an off-label use, the patient's age outside the population of the study whose protocol is
    followed (the approved age ranges are ``age_outside_label``'s)."""
    protocol, age = ctx.protocol, ctx.age_years
    if protocol is None or age is None or protocol.status is LabelStatus.APPROVED:
        return
    if not protocol.ages.value.contains(age):
        yield Finding(
            Severity.WARN,
            "age-outside-protocol",
            f"age {format_amount(age)} years is outside the protocol's {protocol.ages.value}",
            protocol.ages.citation,
        )


def unverified_figures(ctx: Context) -> Iterator[Finding]:
    """The protocol followed, or the rows of the muscles planned, rest on figures not verified against the
    label or study: they are shown for reference and must be checked before use."""
    protocol = ctx.protocol
    if protocol is None:
        return
    unverified = sorted(protocol.unverified_muscles.intersection(ctx.muscles))
    if protocol.citation.grade is Grade.UNVERIFIED or unverified:
        what = ", ".join(unverified) if unverified else "the protocol"
        yield Finding(
            Severity.WARN,
            "unverified-figure",
            f"figures for {what} are not verified against the label; check them before use",
            protocol.citation,
        )


def off_label_use(ctx: Context) -> Iterator[Finding]:
    """The product is not FDA-approved for this indication: info when a cited study protocol exists, a warning
    when there is none. Unapproved uses carry the boxed warning's risk of serious weakness and dysphagia."""
    status = ctx.knowledge.status(ctx.indication.id, ctx.product.id)
    if status.status is LabelStatus.APPROVED:
        yield from _excluded_by_the_approval(ctx)
        return
    has_protocol = ctx.protocol is not None
    source = ctx.protocol.citation if ctx.protocol else (status.citations[-1] if status.citations else None)
    yield Finding(
        Severity.INFO if has_protocol else Severity.WARN,
        "off-label-use",
        f"{ctx.product.brand} is not FDA-approved for {ctx.indication.name.lower()}; "
        + (
            f"dosing follows {ctx.protocol.citation.source.reference}"
            if ctx.protocol
            else f"bont has no {ctx.product.brand} protocol for it: {status.explanation}"
        ),
        source,
    )


def _excluded_by_the_approval(ctx: Context) -> Iterator[Finding]:
    """An approval that leaves out a cause, e.g. XEOMIN pediatric upper limb spasticity excludes cerebral palsy."""
    if not ctx.request.patient.conditions:
        return
    for approval in ctx.product.approvals:
        value = approval.value
        if value.indication != ctx.indication.id or value.population is not ctx.population:
            continue
        for term in ctx.request.patient.conditions:
            code = term.strip().upper()
            if any(code.startswith(prefix) for prefix in value.excludes):
                yield Finding(
                    Severity.WARN,
                    "off-label-use",
                    f"{term}: the {ctx.product.brand} approval ({value.wording}) does not cover this cause",
                    approval.citation,
                )


# -- the patient's history


def contraindication(ctx: Context) -> Iterator[Finding]:
    """Contraindications (§4 of the labels): hypersensitivity to any botulinum toxin or to a formulation
    component (cow's milk protein for DYSPORT); infection at the injection site; for intradetrusor use a
    urinary tract infection, or urinary retention in a patient who does not catheterise."""
    patient = ctx.request.patient
    if not patient.allergies and not patient.conditions:
        return
    excipients = {e.value: e.citation for e in ctx.product.excipients}
    toxin = ctx.knowledge.allergens["botulinum-toxin"]
    for allergy in patient.allergies:
        allergen = ctx.knowledge.find_allergen(allergy)
        if allergen is None:
            continue
        if allergen.id == toxin.id:
            yield _contraindication(toxin.citation, f"hypersensitivity to a botulinum toxin ({allergy})")
        elif allergen.id in excipients:
            # The excipient's own citation decides: an unverified excipient warns instead of blocking.
            yield _contraindication(
                excipients[allergen.id],
                f"{ctx.product.brand} contains {allergen.name.lower()} and the patient is allergic to {allergy}",
            )
    bladder = bool(ctx.routes & set(BLADDER_ROUTES))
    for term in patient.conditions:
        condition = ctx.knowledge.find_condition(term)
        if condition is None:
            continue
        if condition.concern is Concern.INJECTION_SITE_INFECTION:
            yield Finding(
                Severity.BLOCK, "contraindication", f"infection at the injection site ({term})", condition.citation
            )
        elif bladder and condition.concern is Concern.URINARY_TRACT_INFECTION:
            yield Finding(
                Severity.BLOCK,
                "contraindication",
                f"urinary tract infection ({term}): intradetrusor injection is contraindicated until it is treated",
                condition.citation,
            )
        elif bladder and condition.concern is Concern.URINARY_RETENTION:
            if patient.catheterizes:
                yield Finding(
                    Severity.INFO,
                    "contraindication",
                    f"urinary retention ({term}) in a patient who catheterises: not a contraindication",
                    condition.citation,
                )
            else:
                yield Finding(
                    Severity.BLOCK,
                    "contraindication",
                    f"urinary retention ({term}) in a patient who does not catheterise",
                    condition.citation,
                )


def _contraindication(citation: Citation, message: str) -> Finding:
    """A contraindication (§4) blocks when the label states it; one resting on a weaker source warns."""
    if citation.may_block:
        return Finding(Severity.BLOCK, "contraindication", message, citation)
    return Finding(Severity.WARN, "contraindication", f"{message} (warning only: graded {citation.grade})", citation)


def neuromuscular_disorder(ctx: Context) -> Iterator[Finding]:
    """Pre-existing neuromuscular disorders (myasthenia gravis, Lambert-Eaton syndrome, ALS / motor
    neuropathy): the labels warn of severe dysphagia and respiratory compromise at therapeutic doses."""
    for term in ctx.request.patient.conditions:
        condition = ctx.knowledge.find_condition(term)
        if condition is not None and condition.concern is Concern.NEUROMUSCULAR_DISORDER:
            yield Finding(
                Severity.WARN,
                "neuromuscular-disorder",
                f"{condition.name} ({term}): risk of clinically significant weakness, dysphagia and respiratory "
                "compromise even at usual doses; use the lowest dose and monitor closely",
                condition.citation,
            )


def swallowing_or_breathing_risk(ctx: Context) -> Iterator[Finding]:
    """Pre-existing dysphagia or compromised respiratory status (labels' warnings on dysphagia and breathing
    difficulty), especially for neck injections and high-dose sessions."""
    if not ctx.request.patient.conditions:
        return
    neck = ctx.indication.id in CERVICAL_INDICATIONS
    high = _is_high_dose(ctx)
    for term in ctx.request.patient.conditions:
        condition = ctx.knowledge.find_condition(term)
        if condition is None or condition.concern not in (Concern.DYSPHAGIA, Concern.RESPIRATORY_COMPROMISE):
            continue
        why = []
        if neck:
            why.append("the neck or salivary glands are injected")
        if high:
            why.append("the dose is high")
        extra = f"; more so because {' and '.join(why)}" if why else ""
        yield Finding(
            Severity.WARN,
            "swallowing-or-breathing-risk",
            f"{condition.name} ({term}): toxin spread can worsen swallowing or breathing{extra}",
            condition.citation,
        )


def _is_high_dose(ctx: Context) -> bool:
    for limit in ctx.product.limits:
        amount = ctx.limit_amount(limit.value.maximum)
        if (
            amount
            and limit.value.applies_to(ctx.indication.id, ctx.population)
            and ctx.planned.amount >= amount * HIGH_DOSE_FRACTION
        ):
            return True
    return False


def drug_interaction(ctx: Context) -> Iterator[Finding]:
    """Medicines that interact (labels' §7): aminoglycosides and other agents interfering with neuromuscular
    transmission, muscle relaxants (potentiated weakness), anticholinergics (potentiated systemic
    anticholinergic effects); anticoagulants and antiplatelets before intradetrusor or endoscopic injection.
    A brand is read as its ingredients ("Coumadin" is warfarin)."""
    if not ctx.request.patient.medications:
        return
    procedural = bool(ctx.routes & set(PROCEDURAL_ROUTES))
    for medication in ctx.request.patient.medications:
        medicine = ctx.knowledge.find_medicine(medication)
        # Name the ingredient when the entry does not ("Garamycin (gentamicin; aminoglycoside antibiotics)").
        unnamed = [] if medicine is None else [i for i in medicine.ingredients if i not in medication.casefold()]
        ingredient = f"{medicine.ingredient}; " if medicine is not None and unnamed else ""
        for drug_class in ctx.knowledge.find_drug_classes(medication):
            if drug_class.interaction is Interaction.PROCEDURAL_BLEEDING:
                severity = Severity.WARN if procedural else Severity.INFO
                effect = (
                    "bleeding risk at an intradetrusor or endoscopic injection: the label asks to stop antiplatelets "
                    "at least 3 days before and to manage anticoagulants"
                    if procedural
                    else "bruising at the injection sites"
                )
            else:
                severity = Severity.WARN
                effect = {
                    Interaction.NEUROMUSCULAR_POTENTIATION: "may potentiate the toxin's effect",
                    Interaction.MUSCLE_WEAKNESS: "may add to muscle weakness",
                    Interaction.ANTICHOLINERGIC_EFFECTS: "may potentiate systemic anticholinergic effects",
                }[drug_class.interaction]
            yield Finding(
                severity,
                "drug-interaction",
                f"{medication} ({ingredient}{drug_class.name.lower()}): {effect}",
                drug_class.citation,
            )


def pregnancy_or_lactation(ctx: Context) -> Iterator[Finding]:
    """Pregnancy: no adequate human data; animal studies showed developmental toxicity (§8.1). Lactation:
    the label's statement was not read (§8.2); weigh benefit and risk."""
    patient = ctx.request.patient
    if not (patient.pregnant or patient.breastfeeding or patient.conditions):
        return
    conditions = {c.concern for c in (ctx.knowledge.find_condition(t) for t in patient.conditions) if c is not None}
    if patient.pregnant or Concern.PREGNANCY in conditions:
        pregnancy = ctx.knowledge.conditions["pregnancy"]
        yield Finding(
            Severity.WARN,
            "pregnancy-or-lactation",
            "the patient is pregnant: no adequate human data; use only if the benefit justifies the risk",
            pregnancy.citation,
        )
    if patient.breastfeeding or Concern.LACTATION in conditions:
        lactation = ctx.knowledge.conditions["lactation"]
        yield Finding(
            Severity.WARN,
            "pregnancy-or-lactation",
            "the patient is breastfeeding: whether the toxin passes into milk is not established in the label",
            lactation.citation,
        )


def other_recorded_conditions(ctx: Context) -> Iterator[Finding]:
    """The remaining label warnings about the patient's conditions: autonomic dysreflexia with intradetrusor
    injection (BOTOX §5.11), reduced blinking and corneal exposure with facial-nerve disorders in blepharospasm,
    bleeding disorders before intradetrusor or endoscopic injection, and pre-existing cardiovascular disease
    (DAXXIFY warnings). With the rules above, every recognised condition is read by some rule."""
    if not ctx.request.patient.conditions:
        return
    relevant = {
        Concern.AUTONOMIC_DYSREFLEXIA: (
            bool(ctx.routes & set(BLADDER_ROUTES)),
            "autonomic dysreflexia may follow intradetrusor injection; monitor during and after",
        ),
        Concern.CORNEAL_EXPOSURE: (
            ctx.indication.id in EYELID_INDICATIONS,
            "reduced blinking after eyelid injection can expose the cornea; protect the eye",
        ),
        Concern.BLEEDING_RISK: (
            bool(ctx.routes & set(PROCEDURAL_ROUTES)),
            "bleeding risk at an intradetrusor or endoscopic injection",
        ),
        Concern.CARDIOVASCULAR_DISEASE: (True, "pre-existing cardiovascular disease: use with caution"),
    }
    for term in ctx.request.patient.conditions:
        condition = ctx.knowledge.find_condition(term)
        if condition is None or condition.concern not in relevant:
            continue
        applies, text = relevant[condition.concern]
        yield Finding(
            Severity.WARN if applies else Severity.INFO,
            CONCERN_CODES[condition.concern],
            f"{condition.name} ({term}): {text if applies else 'noted; not relevant to this injection'}",
            condition.citation,
        )


# -- terms bont does not know


def unrecognized_term(ctx: Context) -> Iterator[Finding]:
    """Every condition, medicine, allergy or muscle that bont cannot match is reported, never ignored: it may
    hide a risk that no rule could see. A medicine is known by a drug class or by the list of everyday
    medicines (medicines.yaml); a misspelt one is offered only names a few letters away."""
    patient = ctx.request.patient
    for term in patient.conditions:
        if ctx.knowledge.find_condition(term) is None and not ctx.knowledge.indications_coded(term):
            yield _unknown(ctx, "condition", term, Severity.WARN)
    for medication in patient.medications:
        # A known medicine (a brand, a salt or strength of one) is read; most have no interaction to report.
        if ctx.knowledge.find_medicine(medication) is None and not ctx.knowledge.find_drug_classes(medication):
            yield _unknown(ctx, "medication", medication, Severity.WARN)
    for allergy in patient.allergies:
        if ctx.knowledge.find_allergen(allergy) is None:
            yield _unknown(ctx, "allergy", allergy, Severity.WARN)
    in_protocol = ctx.protocol.muscle_ids if ctx.protocol is not None else frozenset()
    for muscle in ctx.muscles:  # a muscle's sites would each give the same finding
        if muscle not in ctx.knowledge.targets:
            yield _unknown(ctx, "muscle", muscle, Severity.WARN)
        elif ctx.protocol is not None and muscle not in in_protocol:
            reason = ctx.request.plan.deviation_reason
            yield Finding(
                Severity.WARN,
                "muscle-not-in-protocol",
                f"{muscle} is not among the muscles of {ctx.protocol.title}"
                + (f" (deviation: {reason})" if reason else ""),
                ctx.protocol.citation,
            )
    for item in ctx.unrecognised_history:
        if item.product not in ctx.knowledge.products:
            yield _unknown(ctx, "product in the history", item.product, Severity.WARN)
        elif item.indication is not None and item.indication not in ctx.knowledge.indications:
            yield _unknown(ctx, "indication in the history", item.indication, Severity.WARN)


def _unknown(ctx: Context, kind: str, term: str, severity: Severity) -> Finding:
    near = ctx.knowledge.nearest_terms(term, kind.split()[0])
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return Finding(
        severity,
        "unrecognized-term",
        f"{kind} '{term}' is not in bont's vocabulary, so no rule could check it{hint}",
    )


# -- vials


def vial_checks(ctx: Context) -> Iterator[Finding]:
    """Vials in hand: a reconstituted vial past its beyond-use time (BOTOX, XEOMIN, DYSPORT: 24 hours
    refrigerated), a lot past its expiry date, or a vial of another product than the plan's."""
    for vial in ctx.request.vials:
        label = f"lot {vial.lot}" if vial.lot else "a vial"
        if vial.product != ctx.product.id:
            other = ctx.knowledge.products.get(vial.product)
            name = other.brand if other else vial.product
            yield Finding(
                Severity.BLOCK,
                "product-mismatch",
                f"{label} is {name}, but the plan is in {ctx.product.brand} units",
                ctx.product.boxed_warning.citation,
            )
            continue
        if vial.lot_expiry is not None and vial.lot_expiry < ctx.on:
            yield Finding(
                Severity.BLOCK,
                "lot-expired",
                f"{label} expired on {vial.lot_expiry.isoformat()}",
                ctx.product.storage_unopened.citation,
            )
        beyond_use = ctx.product.beyond_use_hours
        if vial.reconstituted_at is not None and beyond_use is not None:
            hours = (ctx.at - as_utc(vial.reconstituted_at)).total_seconds() / 3600
            if hours > beyond_use.value:
                yield limit_finding(
                    "reconstituted-vial-expired",
                    beyond_use.citation,
                    f"{label} was reconstituted {hours:.1f} hours ago; use within {beyond_use.value} hours",
                )


RULES: tuple[Rule, ...] = (
    session_dose_exceeds_maximum,
    initial_dose_exceeded,
    cumulative_dose_exceeds_maximum,
    weight_based_dose_exceeds_maximum,
    limb_dose_exceeds_maximum,
    site_dose_exceeds_maximum,
    retreatment_interval_too_short,
    other_botulinum_toxin_recently,
    age_outside_label,
    age_outside_protocol,
    off_label_use,
    unverified_figures,
    contraindication,
    neuromuscular_disorder,
    swallowing_or_breathing_risk,
    drug_interaction,
    pregnancy_or_lactation,
    other_recorded_conditions,
    unrecognized_term,
    vial_checks,
    prior_adverse_event,
)
