"""The runs of the suite in processes of their own (``tests/background_runs.py``): the contract tests of
tests/contract, and the journeys through the ``bont`` commands there, against the Django adapters on SQLite and
PostgreSQL; and the browser journeys of tests/e2e. ``tests/conftest.py`` starts them when collection ends, so
that they run beside the rest of the suite, and puts these tests last: each waits for its run. The browser one is
collected only when the browser tests were (``pytest tests/integration`` alone runs no browser)."""

from __future__ import annotations

import pytest

from tests.background_runs import RUNS, started


@pytest.mark.parametrize("run", RUNS)
def test_each_run_beside_the_main_one_passes_whole(request: pytest.FixtureRequest, run: str) -> None:
    returncode, output = started(request.config)[run].finish(timeout=1800)
    assert returncode == 0, output[-6000:]
    assert " passed" in output
    assert " skipped" not in output.splitlines()[-1], "nothing is skipped in CI"
