"""The knowledge audit: every cited figure by grade, so a clinic sees exactly what rests on what."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bont.domain.evidence import Grade
from bont.domain.knowledge import KnowledgeBase


@dataclass(frozen=True)
class AuditRow:
    path: str
    value: str
    grade: Grade
    source: str
    locator: str | None
    note: str | None


def _show(value: object) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def audit(knowledge: KnowledgeBase, grade: Grade | None = None) -> tuple[list[AuditRow], Counter[Grade]]:
    """All figures (optionally of one grade), and the count of every grade over the whole base."""
    rows: list[AuditRow] = []
    counts: Counter[Grade] = Counter()
    for item in knowledge.figures():
        citation = item.figure.citation
        counts[citation.grade] += 1
        if grade is None or citation.grade is grade:
            rows.append(
                AuditRow(
                    path=item.path,
                    value=_show(item.figure.value),
                    grade=citation.grade,
                    source=citation.source.id,
                    locator=citation.locator,
                    note=citation.note,
                )
            )
    return rows, counts
