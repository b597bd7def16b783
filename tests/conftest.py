"""Shared fixtures: the real knowledge base, loaded once per test session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bont.bootstrap import build_knowledge
from bont.domain.knowledge import KnowledgeBase
from tests.databases import fresh_postgres_database, fresh_sqlite_database, postgres_server


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return build_knowledge()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each engine in turn."""
    if request.param == "sqlite":
        return fresh_sqlite_database(tmp_path)
    return fresh_postgres_database(request.getfixturevalue("postgres_server_url"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the shipped knowledge files, to edit."""
    from bont.knowledge import DEFAULT_DATA_DIR

    copy = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, copy)
    return copy
