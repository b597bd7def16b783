"""ICD-10-CM from the ``simple_icd_10_cm`` package: the adapter of the domain's ``ConditionCodeSet`` port.

The package carries the whole code set of one CDC/NCHS release (its data folder names it, April 2026 for 1.5.0) and
parses it when it is imported: about 4 s and 180 MB. What the port asks of it (is a code valid, its title, its
categories and subcategories) is therefore kept as a table of its own in bont's cache folder, one file per package
version and extraction code, written the first time a process needs it and read back by every later one in a
fraction of the time. It is read on the first question, not when bont starts — a command whose conditions are all
codes the knowledge lists, or names, never reads it — and every answer is cached, because the safety check asks
about the same few codes again and again. A server reads it as it starts (``load_code_set``): with several worker
processes before it forks them, so that they share it; in one process beside its first requests, so that the
first chart does not wait for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import warnings
from functools import cache, lru_cache
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

from bont.domain.code_sets import code_form

# Distinct codes remembered per process: a clinic's patients use a few thousand at most.
CACHED_CODES = 16_384


def _package() -> ModuleType:
    with warnings.catch_warnings():
        # 1.5.0 reads its data files with importlib.resources.read_text, deprecated since Python 3.11.
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm  # parses the code set: imported only to build the cached table

    package: ModuleType = simple_icd_10_cm
    return package


def _from_package() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every code of the package (categories, subcategories, seven-character codes: not chapters or blocks) with
    its title and its categories and subcategories, nearest first."""
    package = _package()
    table = {}
    for name in package.get_all_codes(True):
        code = str(name)
        if code_form(code) != code:
            continue  # chapters ("12") and blocks ("L00-L08") are not codes
        # The package's ancestors end with the block and the chapter, and a block that holds a single category has
        # that category's name (B10 above B10.0, then block B10): keep each category and subcategory once.
        above = (str(each) for each in package.get_ancestors(code))
        ancestors = tuple(dict.fromkeys(each for each in above if code_form(each) == each and each != code))
        table[code] = (str(package.get_description(code)), ancestors)
    return table


def table_file() -> Path:
    """The cached table of this package version and of the code that extracts it (this module and the domain's
    code form), in the user's cache folder (owner-only)."""
    from platformdirs import user_cache_dir

    from bont.domain import code_sets

    extraction = hashlib.sha256()
    for module in (__file__, code_sets.__file__):
        extraction.update(Path(module).read_bytes())
    name = f"simple-icd-10-cm-{version('simple-icd-10-cm')}-{extraction.hexdigest()[:12]}.json"
    return Path(user_cache_dir("bont", appauthor=False)) / "icd10cm" / name


def _read(path: Path) -> dict[str, tuple[str, tuple[str, ...]]] | None:
    try:
        with path.open(encoding="utf-8") as file:
            if os.fstat(file.fileno()).st_uid != os.getuid():
                return None  # only a file this user wrote
            stored = json.load(file)
        return {code: (title, tuple(ancestors)) for code, (title, ancestors) in stored.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None  # missing, damaged or of another layout: built again


def _write(path: Path, table: dict[str, tuple[str, tuple[str, ...]]]) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, written = tempfile.mkstemp(dir=path.parent, suffix=".tmp")  # owner-only
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(table, file, separators=(",", ":"))
            os.replace(written, path)  # atomic: a concurrent reader sees no file or the whole one
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(written)
    except OSError:
        return  # a read-only home: bont works as before, only reads the package each time


# One thread builds the table; the others wait for it. A server loads it beside its first requests: were a request
# to import the package while that thread is importing it, a deadlock between their import locks (the package reads
# its data with importlib.resources) lets Python hand one of them the package half initialised — and a table of part
# of the codes, kept for the life of the process: a chart showed a code without its title.
_BUILDING = threading.Lock()


def _table() -> dict[str, tuple[str, tuple[str, ...]]]:
    with _BUILDING:
        return _built_table()


@cache
def _built_table() -> dict[str, tuple[str, tuple[str, ...]]]:
    path = table_file()
    if not path.is_absolute():  # no home folder to cache in (a relative path would land in the working folder)
        return _from_package()
    table = _read(path)
    if table is None:
        table = _from_package()
        _write(path, table)
    return table


def load_code_set() -> None:
    """Read the code set now rather than at the first question: a server does it before it forks its workers,
    which then share it."""
    _table()


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
    return code in _table()


@lru_cache(maxsize=CACHED_CODES)
def _ancestors(code: str) -> tuple[str, ...]:
    found = _table().get(code)
    return () if found is None else found[1]


@lru_cache(maxsize=CACHED_CODES)
def _description(code: str) -> str | None:
    found = _table().get(code)
    return None if found is None else found[0]
