"""bont: decision support for the therapeutic use of botulinum toxin.

bont is not a prescriber. Every dose, limit, interval and code it shows comes from a cited source in its
knowledge base; the treating clinician decides.

From Python (notebooks, benchmarks)::

    import bont
    bont.plan(indication="chronic-migraine", product="BOTOX")   # what `bont plan --json` prints
    bont.check(document)                                         # what `bont check --json` prints

Both raise ``bont.InputError`` (a ``ValueError`` whose ``field`` names the field or option) for bad input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bont.domain.errors import FieldError as InputError

if TYPE_CHECKING:
    from bont.python_api import check, plan

__all__ = ["InputError", "check", "plan"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Loaded on first use: `import bont` stays cheap, and the CLI and web app never load this module.
    if name in ("check", "plan"):
        from bont import python_api

        return getattr(python_api, name)
    raise AttributeError(f"module 'bont' has no attribute {name!r}")
