"""ICD-10-CM from the ``simple_icd_10_cm`` package: the adapter of the domain's ``ConditionCodeSet`` port.

The package carries the whole code set of one CDC/NCHS release (its data folder names it, April 2026 for
1.5.0) and parses it when it is imported: about 3 s and 180 MB. So a command imports it on the first question,
not when bont starts — a command whose conditions are all codes the knowledge lists, or names, never loads it —
and every answer is cached, because the safety check asks about the same few codes again and again. A server
loads it as it starts (``load_code_set``): with several worker processes before it forks them, so that they
share it; in one process beside its first requests, so that the first chart does not wait for it.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from types import ModuleType

from bont.domain.code_sets import code_form

# Distinct codes remembered per process: a clinic's patients use a few thousand at most.
CACHED_CODES = 16_384


def _package() -> ModuleType:
    with warnings.catch_warnings():
        # 1.5.0 reads its data files with importlib.resources.read_text, deprecated since Python 3.11.
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm  # parses the code set: imported on first use only (see the module's docstring)

    package: ModuleType = simple_icd_10_cm
    return package


def load_code_set() -> None:
    """Parse the code set now rather than at the first question: a server does it before it forks its workers,
    which then share it."""
    _package()


class SimpleICD10CM:
    """ICD-10-CM as the ``simple_icd_10_cm`` package holds it. Codes are passed upper case with their dot."""

    def is_valid(self, code: str) -> bool:
        return _is_valid(code)

    def ancestors(self, code: str) -> tuple[str, ...]:
        return _ancestors(code)

    def description(self, code: str) -> str | None:
        return _description(code)


@lru_cache(maxsize=CACHED_CODES)
def _is_valid(code: str) -> bool:
    # The package also accepts undotted codes, chapters ("12") and blocks ("L00-L08"): only codes are codes.
    return code_form(code) == code and bool(_package().is_valid_item(code))


@lru_cache(maxsize=CACHED_CODES)
def _ancestors(code: str) -> tuple[str, ...]:
    if not _is_valid(code):
        return ()
    # The package's ancestors end with the block and the chapter, and a block that holds a single category has
    # that category's name (B10 above B10.0, then block B10): keep each category and subcategory once.
    above = (str(name) for name in _package().get_ancestors(code))
    return tuple(dict.fromkeys(name for name in above if code_form(name) == name and name != code))


@lru_cache(maxsize=CACHED_CODES)
def _description(code: str) -> str | None:
    return str(_package().get_description(code)) if _is_valid(code) else None
