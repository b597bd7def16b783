"""The runs of the suite that go on in processes of their own, beside the main run, so that both cores work:

- ``tests/contract`` against the Django adapters, one process per engine (Django is configured once per process,
  for one database);
- the browser journeys (``tests/e2e/test_web*.py``): most of their time the test waits for Chromium and the
  server, which a process of their own spends beside the main run instead of after it.

``tests/conftest.py`` starts them as soon as the main run has collected
``tests/integration/test_background_runs.py``, whose tests, last in the main run, wait for them. A run of only
some modules (``pytest tests/e2e``) keeps its browser tests in process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import migrated_postgres_database, migrated_sqlite_database

ROOT = Path(__file__).parent.parent
MODULE = ROOT / "tests" / "integration" / "test_background_runs.py"
ENGINES = ("sqlite", "postgresql")
BROWSER = "browser"
RUNS = (*ENGINES, BROWSER)


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    output: Path
    summary: str = "not waited for"  # the run's last line ("… passed in … s") once it has been waited for

    def finish(self, timeout: float) -> tuple[int, str]:
        """Wait for the run; its exit code and its output."""
        returncode = self.process.wait(timeout=timeout)
        output = self.output.read_text(encoding="utf-8", errors="replace")
        lines = output.strip().splitlines()
        self.summary = lines[-1].strip("= ") if lines else "no output"
        return returncode, output

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pytest(folder: Path, arguments: Sequence[str], env: dict[str, str]) -> Run:
    folder.mkdir(parents=True)
    output = folder / "pytest.log"
    with output.open("wb") as log:  # a file, not a pipe: an undrained pipe could stall the run
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(folder / "tmp"),
             *arguments],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )  # fmt: skip
    return Run(process, output)


def start(folder: Path, postgres_server_url: str, browser_tests: Sequence[str]) -> dict[str, Run]:
    """Start one contract run per engine, each on a database of its own (a migrated copy: the run's own migration
    would cost ten seconds of CPU beside the main run), and one run of ``browser_tests`` (node ids)
    when there are any; each run's output goes to a file under ``folder``. The PostgreSQL run starts last: its
    template is migrated while the others already run."""
    runs: dict[str, Run] = {}

    def contract(engine: str, database: Callable[[Path], str]) -> None:
        own = folder / engine
        own.mkdir()
        url = database(own)
        runs[engine] = _pytest(own / "run", [str(ROOT / "tests" / "contract")], {"BONT_CONTRACT_DATABASE_URL": url})

    contract("sqlite", migrated_sqlite_database)
    if browser_tests:
        runs[BROWSER] = _pytest(folder / BROWSER, browser_tests, {})
    contract("postgresql", lambda _: migrated_postgres_database(postgres_server_url))
    return runs


def remove_unless_failed(folder: Path, runs: dict[str, Run]) -> None:
    """Remove the runs' folder once they have ended, but keep it when one did not pass: its whole log is there
    (the path is printed), where the test that waited for it shows only the end."""
    failed = [str(run.output) for run in runs.values() if run.process.poll() != 0]
    if failed:
        print(f"\nthe logs of the runs beside this one that did not pass are kept: {', '.join(failed)}")
        return
    shutil.rmtree(folder, ignore_errors=True)


STARTED = pytest.StashKey[dict[str, Run]]()


def started(config: pytest.Config) -> dict[str, Run]:
    """The runs ``tests/conftest.py`` started for this test session."""
    return config.stash[STARTED]
