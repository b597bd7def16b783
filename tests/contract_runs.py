"""The runs of ``tests/contract`` against the Django adapters, one process per engine (Django is configured once
per process, for one database): ``tests/conftest.py`` starts them as soon as the main run has collected
``tests/integration/test_contracts.py``, so that they run beside the rest of the suite, and that module's
tests wait for them at the end."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import fresh_postgres_database, migrated_sqlite_database

ROOT = Path(__file__).parent.parent
MODULE = ROOT / "tests" / "integration" / "test_contracts.py"
ENGINES = ("sqlite", "postgresql")


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    output: Path

    def finish(self, timeout: float) -> tuple[int, str]:
        """Wait for the run; its exit code and its output."""
        returncode = self.process.wait(timeout=timeout)
        return returncode, self.output.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start(folder: Path, postgres_server_url: str) -> dict[str, Run]:
    """Start one run per engine, each on a database of its own (on SQLite a migrated copy: the run's own migration
    would cost ten seconds of CPU beside the main run), with its output in a file under ``folder``."""
    runs: dict[str, Run] = {}
    for engine in ENGINES:
        own = folder / engine
        own.mkdir(parents=True)
        url = migrated_sqlite_database(own) if engine == "sqlite" else fresh_postgres_database(postgres_server_url)
        output = own / "pytest.log"
        with output.open("wb") as log:  # a file, not a pipe: an undrained pipe could stall the run
            process = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(own / "tmp"),
                 str(ROOT / "tests" / "contract")],
                env={**os.environ, "BONT_CONTRACT_DATABASE_URL": url, "PYTHONPATH": str(ROOT)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )  # fmt: skip
        runs[engine] = Run(process, output)
    return runs


STARTED = pytest.StashKey[dict[str, "Run"]]()


def started(config: pytest.Config) -> dict[str, Run]:
    """The runs ``tests/conftest.py`` started for this test session."""
    return config.stash[STARTED]
