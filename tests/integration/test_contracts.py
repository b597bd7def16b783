"""The contract tests of tests/contract, run against the Django adapters on SQLite and PostgreSQL: one
subprocess per engine, because Django is configured once per process for one database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent


def test_the_django_adapters_keep_the_port_contracts(database_url: str) -> None:
    environment = {**os.environ, "BONT_CONTRACT_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "contract")],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
