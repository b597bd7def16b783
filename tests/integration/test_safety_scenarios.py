"""The safety scenario suite: one JSON case per file in tests/scenarios, each with the expected verdict, the
exact set of warning and blocking codes, and every warning and blocking finding with its message, so that
the numbers in a message and the count of findings are pinned (information findings are listed only where
they matter)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bont.domain.findings import Severity
from bont.domain.knowledge import KnowledgeBase
from bont.domain.safety import check
from bont.interop.check_document import read_check
from bont.services.clock import SystemClock

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.json"))
UTC_CLINIC = SystemClock("UTC")  # the scenarios' times carry no offset: they are read as UTC on every machine


def test_the_suite_has_at_least_sixty_cases() -> None:
    assert len(SCENARIOS) >= 60


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(knowledge: KnowledgeBase, path: Path) -> None:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    report = check(knowledge, read_check(json.dumps(case["input"]), UTC_CLINIC, knowledge))
    expected = case["expected"]
    serious = sorted({f.code for f in report.findings if f.severity is not Severity.INFO})
    info = {f.code for f in report.findings if f.severity is Severity.INFO}
    details = "\n".join(f"{f.severity} {f.code}: {f.message}" for f in report.findings)
    assert (report.verdict.value, serious) == (expected["verdict"], expected["codes"]), details
    assert set(expected.get("info", [])) <= info, details
    pinned = [
        {"severity": str(f.severity), "code": f.code, "message": f.message}
        for f in report.findings
        if f.severity is not Severity.INFO
    ]
    assert pinned == expected["findings"], details
    for finding in report.findings:
        assert finding.message
        if finding.severity is Severity.BLOCK:
            assert finding.source is not None, details
            assert finding.source.may_block, details
