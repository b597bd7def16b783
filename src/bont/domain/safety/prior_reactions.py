"""The patient's earlier adverse events: a reaction that may come back with this session.

A sign of distant spread of toxin effect (the boxed warning of every product: dysphagia, breathing
difficulty, generalised weakness, dysphonia, dysarthria, and ptosis or diplopia far from the injected site)
warns before any toxin, whatever the product and indication. A local reaction (urinary retention after an
intradetrusor injection, ptosis after eyelid or forehead injections, neck weakness after cervical dystonia
treatment) warns before the same kind of treatment and is noted before any other. Which term is which, and the
label section each rests on, is knowledge data (``adverse-events.yaml``). A serious event still warns (it is
not a contraindication in any label), and its message says that it was serious. A term bont cannot match is
reported as an unrecognised term, never ignored.
"""

from __future__ import annotations

from collections.abc import Iterator

from bont.domain.adverse_events import AdverseEventTerm, ReactionKind, Treatments
from bont.domain.evidence import Citation, Cited
from bont.domain.findings import Finding, Severity
from bont.domain.safety.context import Context
from bont.domain.safety.model import PriorAdverseEvent

CODE = "prior-adverse-event"


def prior_adverse_event(ctx: Context) -> Iterator[Finding]:
    """Earlier adverse events that matter to this session: distant spread of toxin effect before any toxin
    (boxed warning, "Distant Spread of Toxin Effect"); a local reaction before the same kind of treatment
    (e.g. urinary retention before intradetrusor injection, BOTOX warnings; ptosis before blepharospasm,
    BOTOX blepharospasm administration). Each finding cites the section its term rests on."""
    for event in sorted(ctx.request.adverse_events, key=lambda e: e.on):
        term = ctx.knowledge.find_adverse_event_term(event.term)
        yield from _unknown_names(ctx, event)
        if term is None:
            yield _unrecognised(ctx, "adverse event", event.term, "adverse")
            continue
        what = f"{_name(term, event.term)} on {event.on.isoformat()} {_after(ctx, event)} ({_grading(event)})"
        spread = _read_as_spread(ctx, term, event)
        matched = next(
            ((concern, reason) for concern in term.concerns if (reason := _plan_matches(ctx, concern.value))), None
        )
        if spread is not None:
            citation, why = spread
            also = ""
            if term.kind is ReactionKind.DISTANT_SPREAD and matched is not None:
                also = f"; more so because {matched[1]}, where it is also a local effect"
            yield Finding(
                Severity.WARN,
                CODE,
                f"{what}: a sign of distant spread of toxin effect{why}, which may recur after any botulinum "
                f"toxin{also}",
                citation,
            )
        elif matched is not None:
            concern, reason = matched
            yield Finding(
                Severity.WARN, CODE, f"{what}: a local reaction that may recur, because {reason}", concern.citation
            )
        else:
            yield Finding(
                Severity.INFO,
                CODE,
                f"{what}: a local reaction to {_treatments(ctx, term.concerns)}; not relevant to this session",
                term.citation,
            )


def _read_as_spread(ctx: Context, term: AdverseEventTerm, event: PriorAdverseEvent) -> tuple[Citation, str] | None:
    """The citation (and a reason) when the event reads as distant spread; None for a local reaction. A local
    term that the boxed warning also lists is distant spread after a treatment it does not concern."""
    if term.kind is ReactionKind.DISTANT_SPREAD:
        return term.citation, ""
    if term.spread is None:
        return None
    if event.indication is None or event.indication not in ctx.knowledge.indications:
        return term.spread, " (the treatment it followed is not recorded, so it may have spread)"
    if any(_treatment_matches(ctx, event.indication, concern.value) for concern in term.concerns):
        return None
    return term.spread, f" (it followed a treatment far from where {term.name.lower()} is a local effect)"


def _treatment_matches(ctx: Context, indication_id: str, treatments: Treatments) -> bool:
    """Whether an earlier treatment for this indication is of this kind (by indication, route or muscle)."""
    if indication_id in treatments.indications:
        return True
    protocols = ctx.knowledge.indications[indication_id].protocols
    routes = {protocol.route for protocol in protocols}
    muscles = {row.muscle for protocol in protocols for row in protocol.muscles}
    return bool(routes & set(treatments.routes) or muscles & set(treatments.targets))


def _plan_matches(ctx: Context, treatments: Treatments) -> str:
    """Why this session is of this kind (its indication, a route of its indication, or a muscle planned: the
    protocol's standard muscles when the plan gives no sites); empty when it is not."""
    if ctx.indication.id in treatments.indications:
        return f"this session is for {ctx.indication.name.lower()}"
    routes = [route for route in treatments.routes if route in ctx.routes]
    if routes:
        article = "an" if str(routes[0])[0] in "aeiou" else "a"
        return f"this session is {article} {routes[0]} injection"
    muscles = set(ctx.muscles)
    if not muscles and ctx.protocol is not None:
        muscles = {row.muscle for row in ctx.protocol.muscles if not row.optional}
    injected = [target for target in treatments.targets if target in muscles]
    return f"this session injects the {_either(_target_names(ctx, injected), 'and')}" if injected else ""


def _treatments(ctx: Context, concerns: tuple[Cited[Treatments], ...]) -> str:
    """The kinds of treatment in words: "blepharospasm or hemifacial spasm injections, or injections into the
    orbicularis oculi or frontalis"."""
    indications = [i for concern in concerns for i in concern.value.indications]
    routes = [str(r) for concern in concerns for r in concern.value.routes]
    targets = [t for concern in concerns for t in concern.value.targets]
    parts = []
    if indications:
        parts.append(f"{_either([_indication_name(ctx, i) for i in dict.fromkeys(indications)])} injections")
    if routes:
        parts.append(f"{_either(list(dict.fromkeys(routes)))} injection")
    if targets:
        parts.append(f"injections into the {_either(_target_names(ctx, list(dict.fromkeys(targets))))}")
    return ", or ".join(parts)


def _target_names(ctx: Context, targets: list[str]) -> list[str]:
    return [ctx.knowledge.targets[t].name.lower() if t in ctx.knowledge.targets else t for t in targets]


def _either(names: list[str], word: str = "or") -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def _name(term: AdverseEventTerm, recorded: str) -> str:
    same = {term.id, term.name.casefold()}
    shown = recorded.strip()
    return term.name if shown.casefold() in same else f"{term.name} ({shown})"


def _after(ctx: Context, event: PriorAdverseEvent) -> str:
    if event.product is None and event.indication is None:
        return "after an unrecorded treatment"
    product = ctx.knowledge.products.get(event.product or "")
    brand = product.brand if product is not None else event.product
    parts = [f"after {brand}" if brand else "after a treatment"]
    if event.indication is not None:
        parts.append(f"for {_indication_name(ctx, event.indication)}")
    return " ".join(parts)


def _grading(event: PriorAdverseEvent) -> str:
    return f"{event.severity}, {'serious' if event.serious else 'not serious'}"


def _indication_name(ctx: Context, indication_id: str) -> str:
    indication = ctx.knowledge.indications.get(indication_id)
    return indication.name.lower() if indication is not None else indication_id


def _unknown_names(ctx: Context, event: PriorAdverseEvent) -> Iterator[Finding]:
    if event.product is not None and event.product not in ctx.knowledge.products:
        yield _unrecognised(ctx, "product of an adverse event", event.product, "product")
    if event.indication is not None and event.indication not in ctx.knowledge.indications:
        yield _unrecognised(ctx, "indication of an adverse event", event.indication, "indication")


def _unrecognised(ctx: Context, kind: str, term: str, vocabulary: str) -> Finding:
    """As ``rules.unrecognized_term`` reports a condition or medicine: what was not matched, and near terms."""
    near = ctx.knowledge.nearest_terms(term, vocabulary)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return Finding(
        Severity.WARN,
        "unrecognized-term",
        f"{kind} '{term}' is not in bont's vocabulary, so no rule could check it{hint}",
    )
