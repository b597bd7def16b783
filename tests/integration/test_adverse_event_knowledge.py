"""The adverse-event terms are knowledge data: a broken entry in adverse-events.yaml fails loudly at load
time, naming the file and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bont.domain.errors import KnowledgeError
from bont.knowledge import load_knowledge
from tests.integration.knowledge_files import edit

FILE = "adverse-events.yaml"

BREAKAGES: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "unknown indication",
        lambda d: edit(d / FILE, "indications: [sialorrhea, cervical-dystonia]", "indications: [sialorhea]"),
        "terms.11.concerns.0: unknown indication 'sialorhea'",
    ),
    (
        "unknown muscle",
        lambda d: edit(d / FILE, "targets: [frontalis, corrugator, procerus]", "targets: [frontalis, corugator]"),
        "terms.6.concerns.1: unknown muscle 'corugator'",
    ),
    (
        "a synonym of two terms",
        lambda d: edit(d / FILE, "aliases: [xerostomia]", "aliases: [xerostomia, double vision]"),
        "terms.11: 'double vision' already names the term 'diplopia'",
    ),
    (
        "a local term that concerns nothing",
        lambda d: edit(
            d / FILE, "    concerns:\n      - indications: [cervical-dystonia]\n  - id: dry-mouth", "  - id: dry-mouth"
        ),
        "terms.10: a local reaction names the treatments it concerns",
    ),
    (
        "an unknown kind",
        lambda d: edit(d / FILE, "\n    kind: distant-spread", "\n    kind: systemic"),
        "terms.0.kind",
    ),
    (
        "an unknown source",
        lambda d: edit(d / FILE, "source: ich-e2a", "source: ich-e2b"),
        "seriousness: unknown source 'ich-e2b'",
    ),
]


@pytest.mark.parametrize(("breakage", "where"), [(b, w) for _, b, w in BREAKAGES], ids=[n for n, _, _ in BREAKAGES])
def test_a_broken_adverse_event_file_names_the_file_and_field(
    data_dir: Path, breakage: Callable[[Path], None], where: str
) -> None:
    breakage(data_dir)
    with pytest.raises(KnowledgeError) as failure:
        load_knowledge(data_dir)
    assert str(failure.value).startswith(f"{FILE}: "), failure.value
    assert where in str(failure.value)


def test_the_knowledge_audit_lists_every_term_with_its_grade(data_dir: Path) -> None:
    knowledge = load_knowledge(data_dir)
    paths = {figure.path: figure.figure.citation.grade for figure in knowledge.figures()}
    assert str(paths["adverse-event/ptosis.spread"]) == "label"
    assert str(paths["adverse-event/urinary-retention.kind"]) == "label-secondary"
    assert "adverse-event/seriousness" in paths
