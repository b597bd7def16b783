"""bont's cited knowledge base: the data files and the loader that validates them into domain objects."""

from bont.knowledge.loader import DEFAULT_DATA_DIR, load_knowledge

__all__ = ["DEFAULT_DATA_DIR", "load_knowledge"]
