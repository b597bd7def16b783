"""Shared fixtures: the real knowledge base, loaded once per test session, and one throwaway PostgreSQL server.

The runs of tests/contract per engine and of the browser journeys (``tests/background_runs.py``) need no more of
this process than a wait: when tests/integration/test_background_runs.py is among the tests selected they start
as soon as collection ends and run beside the other tests, and its tests, last, wait for them; the browser modules
of ``KEPT_IN_MAIN_RUN`` stay here, after the other tests. Otherwise the browser tests selected run in this process,
after the others.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

import pytest

from bont.bootstrap import build_knowledge
from bont.domain.knowledge import KnowledgeBase
from tests import background_runs
from tests.databases import fresh_postgres_database, fresh_sqlite_database, postgres_server, share_templates

BROWSER_TESTS = Path(__file__).parent / "e2e"
_CLEAN_UP = pytest.StashKey[ExitStack]()
_POSTGRES_URL = pytest.StashKey[str]()


def _clean_up(config: pytest.Config) -> ExitStack:
    if _CLEAN_UP not in config.stash:
        config.stash[_CLEAN_UP] = ExitStack()
    return config.stash[_CLEAN_UP]


def _postgres_server_url(config: pytest.Config) -> str:
    """A throwaway PostgreSQL server for the whole test session (or BONT_TEST_POSTGRES_URL's)."""
    if _POSTGRES_URL not in config.stash:
        config.stash[_POSTGRES_URL] = _clean_up(config).enter_context(postgres_server())
    return config.stash[_POSTGRES_URL]


_BROWSER_TESTS_ELSEWHERE = pytest.StashKey[list[str]]()


def _is_browser_test(item: pytest.Item) -> bool:
    return item.path.parent == BROWSER_TESTS and item.path.name.startswith("test_web")


# Browser journeys this process runs itself, after its other tests, with a demo server of its own: once the contract
# runs end, the browser run alone would leave a core idle. With the accessibility sweep in the browser run (f47d138)
# this process ended its own tests at 556 s and the browser run at 749 s: the sweep (about 130 s of it) moves here.
KEPT_IN_MAIN_RUN = frozenset({"test_web_deployment.py", "test_web_accessibility.py"})


def _order(item: pytest.Item) -> int:
    if item.path == background_runs.MODULE:
        return 2
    return 1 if _is_browser_test(item) else 0


def _waits_for_browser_run(item: pytest.Item) -> bool:
    return item.path == background_runs.MODULE and f"[{background_runs.BROWSER}]" in item.nodeid


@pytest.hookimpl(trylast=True)  # after -k, -m and --deselect: only the browser tests they leave move
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_order)  # stable: each module keeps its order
    if config.option.collectonly or not any(item.path == background_runs.MODULE for item in items):
        return
    # The browser tests go to a run of their own; the test that waits for it stays only when it has tests to run.
    elsewhere = [item for item in items if _is_browser_test(item) and item.path.name not in KEPT_IN_MAIN_RUN]
    moved = [item for item in items if item in elsewhere or (not elsewhere and _waits_for_browser_run(item))]
    if moved:
        config.hook.pytest_deselected(items=moved)
        items[:] = [item for item in items if item not in moved]
    config.stash[_BROWSER_TESTS_ELSEWHERE] = [item.nodeid for item in elsewhere]


def pytest_configure(config: pytest.Config) -> None:
    share_templates()  # before the runs beside this one start: they share its migrated and demo databases


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly or not any(item.path == background_runs.MODULE for item in session.items):
        return
    # The caches every process of the suite reads (the validated knowledge base, the ICD-10-CM table: 1 and 5.5 s of
    # CPU to make), written before the runs beside this one start: on a fresh machine each of their processes
    # would otherwise make its own at the same time.
    from bont.knowledge.icd10cm import load_code_set

    # A knowledge file that does not validate is not reported here, where it would stop the run before any test:
    # the tests that load the knowledge name it.
    with contextlib.suppress(Exception):
        build_knowledge()
        load_code_set()
    folder = Path(tempfile.mkdtemp(prefix="bont-background-runs-"))
    postgres_url = _postgres_server_url(config)
    clean_up = _clean_up(config)
    runs: dict[str, background_runs.Run] = {}
    clean_up.callback(background_runs.remove_unless_failed, folder, runs)  # after each run is stopped (below)
    browser_tests: list[str] = config.stash[_BROWSER_TESTS_ELSEWHERE]
    runs.update(background_runs.start(folder, postgres_url, browser_tests))
    for run in runs.values():
        clean_up.callback(run.stop)
    config.stash[background_runs.STARTED] = runs


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """What each run beside this one did, since its tests are counted there, not here."""
    for name, run in config.stash.get(background_runs.STARTED, {}).items():
        terminalreporter.write_line(f"run beside this one, {name}: {run.summary}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _CLEAN_UP in session.config.stash:
        session.config.stash[_CLEAN_UP].close()  # any run still going, its files, then the server


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return build_knowledge()


@pytest.fixture(scope="session")
def postgres_server_url(pytestconfig: pytest.Config) -> str:
    return _postgres_server_url(pytestconfig)


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
