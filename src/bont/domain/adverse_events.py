"""Adverse events as bont reads them: how intense an event was, whether it was serious, and what kind of
reaction its term names.

**Severity and seriousness are two different things.** Severity is the intensity of the event (mild,
moderate, severe); seriousness is the regulatory judgement of its outcome: an event is serious when it results
in death, is life-threatening, needs inpatient hospitalisation or prolongs it, results in persistent or
significant disability or incapacity, is a congenital anomaly or birth defect, or is another important medical
event (ICH E2A, II.B; 21 CFR 312.32(a)). A severe headache need not be serious; a mild event that led to a
hospital admission is. The criteria, with their citation, are knowledge data (``adverse-events.yaml``).

An adverse-event term is either a sign of **distant spread** of toxin effect (the boxed warning of every
product: swallowing and breathing difficulties, generalised weakness, diplopia, ptosis, dysphonia,
dysarthria...), which may follow any toxin given anywhere, or a **local** reaction of one kind of treatment
(urinary retention after intradetrusor injection, ptosis after injections around the eye or forehead), which
matters before the same kind of treatment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bont.domain.evidence import Citation, Cited
from bont.domain.protocols import Route


class EventSeverity(StrEnum):
    """The intensity of an adverse event (not its seriousness)."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class ReactionKind(StrEnum):
    DISTANT_SPREAD = "distant-spread"  # a sign of the toxin's effect spreading: matters before any toxin
    LOCAL = "local"  # an effect at or near the injected site: matters before the same kind of treatment


@dataclass(frozen=True)
class Treatments:
    """A kind of treatment, as indications, routes and injected muscles: any one of them matches."""

    indications: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdverseEventTerm:
    """A recognised adverse-event term, its synonyms and what it means for the next toxin.

    ``citation`` is what the term's kind rests on. ``concerns`` are the treatments the term is a local effect
    of, each with its own source: for a local term, the treatments it warns before; for a distant-spread term,
    where it is also a local effect (dysphagia after neck injections). ``spread`` is set on a local term that
    the boxed warning also lists as a sign of distant spread (ptosis, diplopia): after a treatment it does
    not concern, or an unrecorded one, the event is read as distant spread.
    """

    id: str
    name: str
    kind: ReactionKind
    aliases: tuple[str, ...]
    citation: Citation
    concerns: tuple[Cited[Treatments], ...] = ()
    spread: Citation | None = None

    @property
    def key(self) -> str:
        return self.id


@dataclass(frozen=True)
class Seriousness:
    """The regulatory criteria that make an adverse event serious, with their source."""

    criteria: tuple[str, ...]
    citation: Citation

    @property
    def text(self) -> str:
        return "; ".join(self.criteria)
