"""Clinical code systems as small validated value types.

A code is checked for its shape when it is made, so that a mistyped ICD-10-CM or HCPCS code fails at
load time rather than on a claim. Shape is all that is checked here; whether a code is current is a
matter for its cited source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, order=True)
class _Code:
    value: str
    system: ClassVar[str]
    pattern: ClassVar[re.Pattern[str]]

    def __post_init__(self) -> None:
        if not self.pattern.fullmatch(self.value):
            raise ValueError(f"'{self.value}' is not a valid {type(self).__name__} code")

    def __str__(self) -> str:
        return self.value


class ICD10CMCode(_Code):
    """ICD-10-CM diagnosis code, e.g. ``G43.709``, ``G35.A``, ``L74.510``."""

    system = "http://hl7.org/fhir/sid/icd-10-cm"
    pattern = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")


class HCPCSCode(_Code):
    """HCPCS Level II code, e.g. ``J0585``."""

    system = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
    pattern = re.compile(r"[A-V][0-9]{4}")


class CPTCode(_Code):
    """CPT procedure code, e.g. ``64615`` (add-on codes are written without the plus sign)."""

    system = "http://www.ama-assn.org/go/cpt"
    pattern = re.compile(r"[0-9]{4}[0-9FTU]")


class NDC(_Code):
    """US National Drug Code in one of its hyphenated forms, e.g. ``0023-1145-01`` or product ``0023-1145``."""

    system = "http://hl7.org/fhir/sid/ndc"
    pattern = re.compile(r"[0-9]{4,5}-[0-9]{3,4}(-[0-9]{1,2})?")
