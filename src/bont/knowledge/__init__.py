"""bont's cited knowledge base: the data files and the loader that validates them into domain objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bont.knowledge.loader import DEFAULT_DATA_DIR, load_knowledge

__all__ = ["DEFAULT_DATA_DIR", "load_knowledge"]


def __getattr__(name: str) -> Any:
    # The loader (YAML, pydantic) is imported on first use: a knowledge base read back from bont's cache holds
    # the ICD-10-CM adapter of this package but needs no loader.
    if name in __all__:
        from bont.knowledge import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'bont.knowledge' has no attribute {name!r}")
