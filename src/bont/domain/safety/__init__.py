"""The safety check: a plan against the label, the patient and everything injected before.

``check`` is a pure function over domain objects; every rule is a small function in ``rules`` whose
docstring names its source.
"""

from bont.domain.safety.engine import SafetyReport, Verdict, check
from bont.domain.safety.model import (
    Administration,
    CheckRequest,
    Patient,
    PriorAdverseEvent,
    SessionPlan,
    SessionSite,
    VialInUse,
)

__all__ = [
    "Administration",
    "CheckRequest",
    "Patient",
    "PriorAdverseEvent",
    "SafetyReport",
    "SessionPlan",
    "SessionSite",
    "Verdict",
    "VialInUse",
    "check",
]
