"""Benchmark: the CPU one request of the chart, the patient list and the Follow-up list costs in process,
through the whole Django stack (middleware, session, roles, view, templates), on a scale clinic (issue 15).

Each page's CPU milliseconds per request (the median of a round of requests, the best round after a first that
warms the caches) and queries are printed beside its CPU target and as a ratio
against the sign-in page of the same run. With 4 users on 2 cores a page's p99 over HTTP is about 2 to 4 times
its CPU, so these targets are what ``clinic_scale.py``'s p99 targets need.

    .venv/bin/python bench/page_cpu.py --database sqlite:////path/to/scale.sqlite3|postgresql://… [--charts 40]
        [--repeat 3] [--profile chart] [--pages DIR]

The database must be a scale clinic (``bont demo --scale``); opening charts adds reads to its access log, so
give a copy (on PostgreSQL, ``CREATE DATABASE … TEMPLATE`` the clinic). ``--profile PAGE`` prints where that
page's time goes (cProfile); ``--pages DIR`` writes each page's HTML there (CSRF tokens blanked) to compare two
versions of the code on the same data.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

# CPU per request each page needs for its p99 over HTTP (4 users, 2 cores) to meet clinic_scale.py's target.
TARGETS_MS = {"chart": 20.0, "patient list": 8.0, "Follow-up, first page": 70.0}
# The pages --profile names.
PROFILED = {
    "sign-in": "sign-in page (baseline)",
    "chart": "chart",
    "list": "patient list",
    "follow-up": "Follow-up, first page",
}
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def chart_keys(count: int) -> list[str]:
    """Charts spread over the clinic, read from the database itself."""
    from bont.clinic.models import Patient

    keys = list(Patient.objects.order_by("id").values_list("chart_key", flat=True))
    step = max(1, len(keys) // count)
    return keys[::step][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database", required=True, help="A copy of a scale clinic: sqlite:////path or postgresql://…")
    parser.add_argument("--charts", type=int, default=40, help="How many charts, spread over the clinic.")
    parser.add_argument("--repeat", type=int, default=3, help="Rounds over every page (the first warms up).")
    parser.add_argument("--profile", choices=PROFILED, help="A page to profile.")
    parser.add_argument("--pages", type=Path, help="Write each page's HTML to this folder.")
    options = parser.parse_args()
    os.environ["DATABASE_URL"] = options.database
    with tempfile.TemporaryDirectory(prefix="bont-page-cpu-") as folder:
        os.environ.setdefault("BONT_DATA_DIR", folder)
        measure(options)


def measure(options: argparse.Namespace) -> None:
    from bont.bootstrap import setup_database

    setup_database()
    from django.contrib.auth import get_user_model
    from django.db import connection  # noqa: TID251 (counting the queries of a page)
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="localhost")
    client.force_login(
        get_user_model().objects.get(username="demo-clinician"), backend="django.contrib.auth.backends.ModelBackend"
    )
    keys = chart_keys(options.charts)
    pages: dict[str, list[str]] = {
        "sign-in page (baseline)": ["/login/"],
        "chart": [f"/patients/{key}/" for key in keys],
        "patient list": ["/patients/"],
        "Follow-up, first page": ["/follow-up/"],
    }

    def get(path: str) -> Any:
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        return response

    if options.profile:
        paths = pages[PROFILED[options.profile]]
        for path in paths:
            get(path)
        profiler = cProfile.Profile(time.process_time)  # CPU, not waits for the disk
        profiler.enable()
        for _ in range(max(1, 60 // len(paths))):
            for path in paths:
                get(path)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(30)
        return
    if options.pages:
        options.pages.mkdir(parents=True, exist_ok=True)
        for name, paths in pages.items():
            for number, path in enumerate(paths):
                html = CSRF_TOKEN.sub('name="csrfmiddlewaretoken" value=""', get(path).content.decode())
                (options.pages / f"{name.split(',')[0].replace(' ', '-')}-{number}.html").write_text(html)
    print(f"page_cpu: {len(keys)} charts, {os.cpu_count()} cores, {date.today()}; CPU ms per request")
    figures: dict[str, tuple[float, float, int]] = {}
    for round_number in range(options.repeat):
        for name, paths in pages.items():
            cpu, wall = [], []
            for path in paths * max(1, len(keys) // len(paths)):  # as many requests of each page as of charts
                with CaptureQueriesContext(connection) as captured:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    get(path)
                    cpu.append((time.process_time() - started_cpu) * 1000)
                    wall.append((time.perf_counter() - started) * 1000)
                queries = len(captured.captured_queries)
            if round_number:  # the first round warms the caches
                previous = figures.get(name)
                figure = (statistics.median(cpu), statistics.median(wall), queries)
                figures[name] = figure if previous is None or figure[0] < previous[0] else previous
    baseline = figures["sign-in page (baseline)"][0]
    for name, (cpu_ms, wall_ms, queries) in figures.items():
        target = TARGETS_MS.get(name)
        verdict = "" if target is None else f" (target <= {target:.0f} ms, {'meets' if cpu_ms <= target else 'MISSES'})"
        print(
            f"{name}: {cpu_ms:.1f} ms CPU{verdict}, {wall_ms:.1f} ms wall; {cpu_ms / baseline:.1f}x the sign-in "
            f"page; {queries} queries"
        )


if __name__ == "__main__":
    main()
