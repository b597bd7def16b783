"""Benchmark: the clinic's pages at a real clinic's size (issue 15), over HTTP with concurrent users.

Generates a fictional clinic (``bont demo --scale``, default 100,000 patients and about 2,000,000 sessions) in a
new database (SQLite, or a throwaway PostgreSQL server), starts the real server on it (``bont serve --workers 2``)
and has several users, each signed in with a session of their own on a kept-alive connection of their own, open
the chart, the patient list, the Follow-up list, the research page and a year's billing export at the same time.
Each figure (p99 or median, with the median beside it) is printed beside its target and as a ratio against the
sign-in page, the lightest page the same server serves, measured in the same run.

    .venv/bin/python bench/clinic_scale.py [--patients N] [--engine sqlite|postgresql] [--users 4] [--workers 2]
        [--database URL] [--figures FILE]

With ``--figures FILE`` each figure is also written to FILE as it comes.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.cookies
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BONT = str(Path(sys.executable).with_name("bont"))
PASSWORD = "demo-password"  # the demo clinic's, printed by `bont demo`
GENERATION_TARGET_SECONDS = 180
GENERATION_TARGET_PER_SECOND = 10_000
TIMEOUT_SECONDS = 600  # a page slower than this is reported as such, not waited for
SLOW_MS = 10_000  # a page that takes this long once (and 20 times its target) is not asked for again


@dataclass(frozen=True)
class Page:
    name: str
    path: Callable[[int], str]  # the address for the n-th request
    user: str
    requests: int  # per user
    target_ms: float
    statistic: str  # "p99" or "median"


class Browser:
    """One user's signed-in session on one kept-alive connection, with its own cookies, as a browser keeps
    them."""

    def __init__(self, server: str, username: str, keep_alive: bool = True) -> None:
        self.server = server
        self.keep_alive = keep_alive
        address = urllib.parse.urlsplit(server)
        self.connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=TIMEOUT_SECONDS)
        self.cookies: dict[str, str] = {}
        status, form = self.exchange("GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.decode())
        assert status == 200, "no sign-in page"
        assert token, "no sign-in form"
        body = urllib.parse.urlencode(
            # On to a light page, not the role's landing page: that may be one of the pages measured here.
            {"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD, "next": "/password/"}
        ).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"{server}/login/"}
        status, _ = self.exchange("POST", "/login/", body, headers)
        assert status == 302, f"{username} could not sign in"
        assert "sessionid" in self.cookies, f"{username} was given no session"

    def exchange(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                 keep: bool = True) -> tuple[int, bytes]:  # fmt: skip
        """The answer's status and (with ``keep``) body; the cookies it sets are kept for the next request."""
        headers = {**(headers or {}), "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        if not self.keep_alive:
            self.connection.close()  # a connection per request, as a reverse proxy opens one to the server
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if method != "GET":
                raise
            # The server closed the connection while it was idle (gunicorn keeps one 2 s): asked again on a new
            # one, as a browser does.
            self.connection.close()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        chunks = []
        while chunk := response.read(1 << 16):  # a year's billing export is read through, not kept
            if keep:
                chunks.append(chunk)
        for header in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in http.cookies.SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, b"".join(chunks)

    def read(self, path: str) -> str:
        status, content = self.exchange("GET", path)
        assert status == 200, (path, status)
        return content.decode()

    def timed(self, path: str) -> float:
        """Milliseconds to read the whole answer; raises on anything but 200."""
        started = time.perf_counter()
        status, _ = self.exchange("GET", path, keep=False)
        took = (time.perf_counter() - started) * 1000
        assert status == 200, (path, status)
        return took


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def database(engine: str, folder: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{folder / 'scale.sqlite3'}"
        return
    sys.path.insert(0, str(ROOT))  # the tests' throwaway PostgreSQL server
    from tests.databases import fresh_postgres_database, postgres_server

    with postgres_server() as server:
        yield fresh_postgres_database(server)


def chart_keys(url: str, count: int) -> list[str]:
    """Charts spread over the clinic, read from the database itself (as a clinician would have them open)."""
    query = "SELECT chart_key FROM clinic_patient ORDER BY id"
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
            keys = [row[0] for row in connection.execute(query)]
    else:
        import psycopg

        with psycopg.connect(url) as connection:
            keys = [row[0] for row in connection.execute(query)]
    step = max(1, len(keys) // count)
    return keys[::step][:count]


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path, workers: int) -> Iterator[str]:
    """``bont serve --workers N`` on the clinic, until the block ends; yields its address."""
    port = _free_port()
    with open(log, "w") as output:
        process = subprocess.Popen(
            [BONT, "serve", "--port", str(port), "--workers", str(workers)], env=env, stdout=output, stderr=output
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/login/", timeout=5):
                        break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError(f"the server did not start; see {log}") from None
                    time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def concurrently(browsers: list[Browser], page: Page) -> list[float]:
    """Every user asks for the page ``page.requests`` times, all users at once; the latencies in ms."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def user(browser: Browser, number: int) -> None:
        for n in range(page.requests):
            try:
                took = browser.timed(page.path(number * page.requests + n))
            except (OSError, AssertionError) as error:
                with lock:
                    failures.append(str(error))
                return
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=user, args=(b, i)) for i, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{page.name}: {failures[0]}")
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="server processes (bont serve --workers)")
    parser.add_argument("--figures", type=Path, help="Also write the figures to this file, as they come.")
    parser.add_argument(
        "--connection-per-request",
        dest="keep_alive",
        action="store_false",
        help="Each request on a new connection, as behind a reverse proxy (a kept-alive connection stays with the "
        "server process that accepted it, so 4 users may all land on one).",
    )
    parser.add_argument("--pages", help="Measure only the pages whose names start with these words, comma-separated.")
    parser.add_argument(
        "--database", help="Measure this scale clinic's database (a DATABASE_URL) instead of a new one."
    )
    options = parser.parse_args()
    lines: list[str] = []

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)
        if options.figures is not None:
            options.figures.parent.mkdir(parents=True, exist_ok=True)
            options.figures.write_text("\n".join(lines) + "\n", encoding="utf-8")  # as they come

    folder = Path(tempfile.mkdtemp(prefix="bont-scale-"))
    try:
        with (
            database(options.engine, folder)
            if options.database is None
            else contextlib.nullcontext(options.database) as url
        ):
            measure(options, folder, url, report)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(options: argparse.Namespace, folder: Path, url: str, report: Callable[[str], None]) -> None:
    env = {**os.environ, "DATABASE_URL": url, "BONT_DATA_DIR": str(folder)}
    if options.database is None:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        made = subprocess.run(
            [BONT, "demo", "--scale", str(options.patients)], env=env, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()[0]
        if made.returncode != 0:
            raise SystemExit(f"bont demo --scale failed:\n{made.stdout}\n{made.stderr}")
        loaded = re.search(r"([\d,]+) sessions per second", made.stdout)
        sessions = re.search(r"([\d,]+) sessions,", made.stdout)
        report(
            f"clinic_scale on {options.engine}, {options.patients:,} patients, "
            f"{sessions.group(1) if sessions else '?'} sessions, {options.users} concurrent users, "
            f"{os.cpu_count()} cores, {date.today()}"
        )
        for step in made.stdout.splitlines():
            if step.endswith(" s)"):  # its progress, with the time since it started
                report(f"  bont demo --scale: {step}")
        report(
            f"generation (bont demo --scale, with migrations and process start): {seconds:.1f} s "
            f"(target < {GENERATION_TARGET_SECONDS} s at 100,000 patients); writing "
            f"{loaded.group(1) if loaded else '?'} sessions per second (target >= {GENERATION_TARGET_PER_SECOND:,}); "
            f"load average {load_before:.1f} before, {load_after:.1f} after (the machine's other work slows it)"
        )
    else:
        report(
            f"clinic_scale on {options.engine} ({options.database}), {options.users} concurrent users, "
            f"{os.cpu_count()} cores, {date.today()}"
        )
    keys = chart_keys(url, 400)
    year = date.today().year - 1
    pages: tuple[Page, ...] = (
        Page("sign-in page (baseline)", lambda n: "/login/", "demo-clinician", 25, 0, "median"),
        Page("chart", lambda n: f"/patients/{keys[n % len(keys)]}/", "demo-clinician", 50, 50, "p99"),
        Page("patient list", lambda n: "/patients/", "demo-clinician", 25, 30, "p99"),
        Page("Follow-up, first page", lambda n: "/follow-up/", "demo-clinician", 3, 200, "p99"),
        Page("research page", lambda n: "/research/", "demo-researcher", 3, 200, "p99"),
        Page(
            f"billing export, year {year}",
            lambda n: f"/billing/export.csv?start={year}-01-01&end={year}-12-31",
            "demo-billing",
            1,
            5_000,
            "p99",
        ),
    )
    if options.pages:  # the sign-in baseline always
        chosen = tuple(word.strip() for word in options.pages.split(","))
        pages = (pages[0], *(page for page in pages[1:] if page.name.startswith(chosen)))
    report(
        f"served by bont serve --workers {options.workers}; each user on "
        + ("a kept-alive connection of their own" if options.keep_alive else "a new connection per request")
    )
    with serving(env, folder / "server.log", options.workers) as server:
        browsers: dict[str, list[Browser]] = {}
        baseline = 0.0
        for page in pages:
            try:
                if page.user not in browsers:
                    browsers[page.user] = [Browser(server, page.user, options.keep_alive) for _ in range(options.users)]
                    for n, browser in enumerate(browsers[page.user]):
                        # A worker's first chart reads its templates and the clinic's code: in no figure.
                        browser.read(f"/patients/{keys[-1 - n]}/" if page.user == "demo-clinician" else "/password/")
                alone = browsers[page.user][0].timed(page.path(0))  # also loads the page's own code
                if alone > max(SLOW_MS, 20 * page.target_ms):
                    report(
                        f"{page.name}: one request alone took {alone:,.0f} ms (target <= {page.target_ms:,.0f} "
                        f"ms, MISSES); not repeated with {options.users} users"
                    )
                    continue
                latencies = concurrently(browsers[page.user], page)
            except (RuntimeError, OSError, AssertionError) as failed:
                report(f"{page.name}: FAILED ({failed})")
                continue
            figure = percentile(latencies, 0.99) if page.statistic == "p99" else statistics.median(latencies)
            if not baseline:
                baseline = figure
                report(
                    f"{page.name}: median {figure:.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms over "
                    f"{len(latencies)} requests"
                )
                continue
            verdict = "meets" if figure <= page.target_ms else "MISSES"
            report(
                f"{page.name}: {page.statistic} {figure:,.0f} ms (target <= {page.target_ms:,.0f} ms, {verdict}); "
                f"median {statistics.median(latencies):,.0f} ms; {figure / baseline:,.1f}x the sign-in page; "
                f"{len(latencies)} requests"
            )


if __name__ == "__main__":
    main()
