"""The ICD-10-CM code set as a port: which codes exist, the codes above a code, and a code's title.

The domain does not hold ICD-10-CM's ~98,000 codes; an adapter does (``bont.knowledge.icd10cm``, given to the
``KnowledgeBase`` when the knowledge is loaded). The domain knows only how a code is written, and one fact of
ICD-10-CM's structure: a code's ancestors (its categories and subcategories) are codes that its own characters
begin with, so ``L03`` and ``L03.2`` stand above ``L03.221`` (the ICD-10-CM Tabular List, CDC/NCHS: a category
of three characters, subcategories of four to six, a seventh-character extension).
"""

from __future__ import annotations

import re
from typing import Protocol

# Any string with the shape of a code, with or without its dot, in any case: "L03.221", "l03221", "C4A".
_CODE_SHAPE = re.compile(r"([A-Z][0-9][0-9A-Z])\.?([0-9A-Z]{1,4})?")
# A term plainly meant as a code: a letter and two digits (a category) with up to four more characters, or any
# code shape written with its dot. Clinical abbreviations such as "T2DM" or "H1N1" are not.
_PLAINLY_A_CODE = re.compile(r"[A-Z][0-9]{2}\.?[0-9A-Z]{0,4}|[A-Z][0-9][0-9A-Z]\.[0-9A-Z]{1,4}")


# Why a term written as a code is refused where it is entered (the message never repeats the term: patient data).
UNKNOWN_CODE = (
    "is written as an ICD-10-CM code, but ICD-10-CM has no such code; give a current code or the condition's name"
)


class ConditionCodeSet(Protocol):
    """A diagnosis code system with its hierarchy. Codes are passed written as ``code_form`` writes them."""

    def is_valid(self, code: str) -> bool:
        """Whether the code set holds ``code`` (a chapter's block is not a code)."""
        ...

    def ancestors(self, code: str) -> tuple[str, ...]:
        """The categories and subcategories above ``code``, nearest first (``L03.22``, ``L03.2``, ``L03``);
        empty when the code set does not hold ``code``."""
        ...

    def description(self, code: str) -> str | None:
        """The code's title (``Cellulitis of neck``), or None when the code set does not hold it."""
        ...


class ShapeOnlyCodeSet:
    """A code set that knows only how codes are written: every term plainly meant as a code is taken as valid,
    no code has ancestors or a title. The default of a knowledge base built without the ICD-10-CM adapter."""

    def is_valid(self, code: str) -> bool:
        return looks_like_code(code)

    def ancestors(self, code: str) -> tuple[str, ...]:
        return ()

    def description(self, code: str) -> str | None:
        return None


def code_form(term: str) -> str | None:
    """``term`` written as the code set writes its codes, upper case with the dot after the category
    (``l03221`` → ``L03.221``), when it has the shape of a code; None for anything else."""
    match = _CODE_SHAPE.fullmatch(term.strip().upper())
    if match is None:
        return None
    category, rest = match.groups()
    return f"{category}.{rest}" if rest else category


def looks_like_code(term: str) -> bool:
    """Whether ``term`` is plainly meant as an ICD-10-CM code (``L03.999``, ``l03221``, ``G70``), so that a
    code the code set does not hold is an error rather than free text (``T2DM``, ``myasthenia gravis``)."""
    return _PLAINLY_A_CODE.fullmatch(term.strip().upper()) is not None


def undotted(code: str) -> str:
    return code.replace(".", "")
