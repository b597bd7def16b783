"""Clinical code systems as small validated value types.

A code is checked for its shape when it is made, so that a mistyped ICD-10-CM or HCPCS code fails at
load time rather than on a claim. Shape is all that is checked here; whether a code is current is a
matter for its cited source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

SNOMED_CT = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class Coding:
    """One code of a code system (a terminology exchanged in FHIR), with the system's display text for it."""

    system: str
    code: str
    display: str


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

    @property
    def eleven_digit(self) -> str | None:
        """The 11-digit form claims take, in 5-4-2 segments: a 10-digit package code (4-4-2, 5-3-2 or 5-4-1)
        gets a leading zero in its short segment (``0023-1145-01`` → ``00023-1145-01``, ``72960-112-01`` →
        ``72960-0112-01``; Texas Vendor Drug Program, Drug Format). None for a product code without its
        package segment, or a code of fewer than 10 digits."""
        segments = self.value.split("-")
        if len(segments) != 3 or len("".join(segments)) < 10:
            return None
        labeler, product, package = segments
        return f"{labeler.zfill(5)}-{product.zfill(4)}-{package.zfill(2)}"


def npi_check_digit(first_nine: str) -> int:
    """The NPI check digit of its first nine digits: the Luhn formula (modulus 10 "double-add-double") as if
    the NPI were prefixed by 80840, which adds the constant 24 (CMS, Requirements for NPI Check Digit)."""
    total = 24
    for position, char in enumerate(reversed(first_nine)):
        digit = int(char) * (2 if position % 2 == 0 else 1)  # double the rightmost and every second digit
        total += digit - 9 if digit > 9 else digit
    return (10 - total % 10) % 10


class NPI(_Code):
    """US National Provider Identifier: ten digits, the last a Luhn check digit (``1234567893``)."""

    system = "http://hl7.org/fhir/sid/us-npi"
    pattern = re.compile(r"[0-9]{10}")

    def __post_init__(self) -> None:
        super().__post_init__()
        if npi_check_digit(self.value[:9]) != int(self.value[9]):
            raise ValueError(f"'{self.value}' is not a valid NPI: its check digit does not match")
