"""Findings: what a plan or a safety check reports, each with a stable code and its source."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bont.domain.evidence import Citation


class Severity(StrEnum):
    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One thing a clinician should know: what, why, the numbers, and where that comes from."""

    severity: Severity
    code: str  # stable: other programs rely on it
    message: str
    source: Citation | None = None
    # For a figure that is not yet verified: what the clinician must explicitly acknowledge (the figure and
    # its status) before the session can be recorded.
    acknowledgement: str | None = None
