"""Benchmark: the Follow-up list at a real clinic's size, in process (issue 15): the first page and a later one
(page 100), each with its number of queries, as a ratio against the patient list's first page of the same
clinic read in the same run (one indexed page of patients and their session counts).

    .venv/bin/python bench/follow_up_list.py [--database DATABASE_URL] [--patients N] [--repeat 5]

Without ``--database`` a fictional clinic of ``--patients`` patients (default 100,000) is generated first
(``bont demo --scale``, a few minutes) in a new SQLite database. A database given is migrated first: bringing a
clinic older than migration 0013 up to date fills its Follow-up summary, and that time is reported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

BONT = str(Path(sys.executable).with_name("bont"))
TARGET_MS = 200
LATER_PAGE = 100


def timed(read: Callable[[], Any], repeat: int) -> tuple[float, int]:
    """The median milliseconds of ``repeat`` reads (after one to warm the caches), and the queries of one."""
    from django.db import connection  # noqa: TID251 (counting the queries of a page)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        read()
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), len(captured.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database", help="A scale clinic's DATABASE_URL (default: generate one).")
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bont-follow-up-"))
    try:
        url = options.database
        if url is None:
            url = f"sqlite:///{folder / 'scale.sqlite3'}"
            environment = {**os.environ, "DATABASE_URL": url, "BONT_DATA_DIR": str(folder)}
            made = subprocess.run(
                [BONT, "demo", "--scale", str(options.patients)], env=environment, capture_output=True, check=False
            )
            if made.returncode != 0:
                raise SystemExit(f"bont demo --scale failed:\n{made.stderr.decode()}")
        os.environ["DATABASE_URL"] = url
        measure(options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(options: argparse.Namespace) -> None:
    from bont.bootstrap import build_knowledge, clock, setup_database

    knowledge, today = build_knowledge(), clock().today()
    started = time.perf_counter()
    setup_database()  # migrates: an older clinic's Follow-up summary is filled here
    migrated = time.perf_counter() - started
    from bont.clinic.follow_up_records import DjangoFollowUpRecords
    from bont.clinic.patient_records import DjangoPatientRegistry
    from bont.services.follow_up import follow_up_page

    records, registry = DjangoFollowUpRecords(), DjangoPatientRegistry()
    first = follow_up_page(records, knowledge, today)
    print(
        f"follow_up_list: {first.treated_total:,} patients treated, {first.assessments_total:,} assessments due, "
        f"{os.cpu_count()} cores, {date.today()}; medians of {options.repeat} reads after one"
    )
    print(f"migrating the clinic (the Follow-up summary filled when it was older than 0013): {migrated:.1f} s")
    baseline, baseline_queries = timed(lambda: registry.search("", 50), options.repeat)
    print(f"patient list, first page (baseline): {baseline:.1f} ms, {baseline_queries} queries")
    for page in (1, LATER_PAGE):
        took, queries = timed(partial(follow_up_page, records, knowledge, today, page), options.repeat)
        verdict = "meets" if took <= TARGET_MS else "MISSES"
        print(
            f"Follow-up, page {page}: {took:.1f} ms (target <= {TARGET_MS} ms, {verdict}); "
            f"{took / baseline:.1f}x the patient list; {queries} queries"
        )


if __name__ == "__main__":
    main()
