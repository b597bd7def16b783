"""The composition root: builds bont's parts the same way for the CLI, the tests and (later) the web app.

Nothing is loaded at import time.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from bont.domain.knowledge import KnowledgeBase
from bont.knowledge import load_knowledge

KNOWLEDGE_DIR_VARIABLE = "BONT_KNOWLEDGE_DIR"


def knowledge_dir() -> Path | None:
    """A clinic's own copy of the knowledge files, if ``BONT_KNOWLEDGE_DIR`` names one."""
    configured = os.environ.get(KNOWLEDGE_DIR_VARIABLE)
    return Path(configured) if configured else None


@cache
def build_knowledge(data_dir: Path | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base once per process."""
    return load_knowledge(data_dir if data_dir is not None else knowledge_dir())
