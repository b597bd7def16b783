"""The knowledge audit: every cited figure by grade, kind and wording, so a clinic sees exactly what rests on
what and which figures can block a session."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bont.domain.evidence import FigureKind, Grade
from bont.domain.knowledge import KnowledgeBase


@dataclass(frozen=True)
class AuditRow:
    path: str
    value: str
    grade: Grade
    source: str
    locator: str | None
    note: str | None
    kind: FigureKind | None  # for a maximum, interval or per-site figure: limit or recommendation
    wording: str | None  # the source's own words the figure rests on
    blocks: bool  # a plan beyond this figure blocks the session (a label-graded limit, worded as one)


def _show(value: object) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def audit(
    knowledge: KnowledgeBase, grade: Grade | None = None, blocking: bool = False
) -> tuple[list[AuditRow], Counter[Grade]]:
    """All figures (optionally of one grade, or only those that can block), and the count of every grade over
    the whole base."""
    rows: list[AuditRow] = []
    counts: Counter[Grade] = Counter()
    for item in knowledge.figures():
        citation = item.figure.citation
        counts[citation.grade] += 1
        blocks = citation.kind is FigureKind.LIMIT and citation.may_block
        if (grade is None or citation.grade is grade) and (blocks or not blocking):
            rows.append(
                AuditRow(
                    path=item.path,
                    value=_show(item.figure.value),
                    grade=citation.grade,
                    source=citation.source.id,
                    locator=citation.locator,
                    note=citation.note,
                    kind=citation.kind,
                    wording=citation.wording,
                    blocks=blocks,
                )
            )
    return rows, counts
