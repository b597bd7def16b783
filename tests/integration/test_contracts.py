"""The contract tests of tests/contract, and the journeys through the ``bont`` commands there, run against the
Django adapters on SQLite and PostgreSQL: one subprocess per engine, because Django is configured once per
process for one database. ``tests/conftest.py`` starts both runs when collection ends, so that they run
beside the rest of the suite, and puts these tests last: each waits for its engine's run."""

from __future__ import annotations

import pytest

from tests.contract_runs import ENGINES, started


@pytest.mark.parametrize("engine", ENGINES)
def test_the_django_adapters_keep_the_port_contracts(request: pytest.FixtureRequest, engine: str) -> None:
    returncode, output = started(request.config)[engine].finish(timeout=1800)
    assert returncode == 0, output[-6000:]
    assert " passed" in output
