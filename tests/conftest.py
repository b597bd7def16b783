"""Shared fixtures: the real knowledge base, loaded once per test session."""

from __future__ import annotations

import pytest

from bont.bootstrap import build_knowledge
from bont.domain.knowledge import KnowledgeBase


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return build_knowledge()
