"""One live server on the fictional demo clinic and one Chromium for every browser test module: the modules share
them, as the people of one clinic do (the demo clinic itself is copied from the one the test session loaded)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.databases import demo_sqlite_database
from tests.e2e.browser import CHROMIUM, CHROMIUM_FLAGS, COMMAND_PROCESSES, serving


@pytest.fixture(scope="session", autouse=True)
def _close_command_processes() -> Iterator[None]:
    yield
    while COMMAND_PROCESSES:
        COMMAND_PROCESSES.popitem()[1].close()


@pytest.fixture(scope="session")
def database_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("web")
    # Each of the demo clinic's few patients is a k-anonymity class of one: at the default k every research export
    # is refused (the unit and access tests see that); here k = 1, so the browser test downloads one.
    return {**os.environ, "DATABASE_URL": demo_sqlite_database(folder), "BONT_RESEARCH_MIN_K": "1"}


@pytest.fixture(scope="session")
def server(database_env: dict[str, str]) -> Iterator[str]:
    with serving(database_env, "--demo") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()
