"""Benchmark: a year's billing export at a real clinic's size, in process (issue 15): the whole CSV of one year
(``bont.services.billing.billing_csv`` on the Django adapter), alone and four at once (one process each, as the
server's workers), as a ratio against reading the year's sessions joined to their patients with the bare
database cursor in the same run (the least any export of those sessions reads), with the rows the export reads
itself (the sessions' claim inputs) beside it.

    .venv/bin/python bench/billing_export.py --database DATABASE_URL [--year 2025] [--repeat 3] [--at-once 4]

The database is a scale clinic (``bont demo --scale 100000``, migrated to 0022); it is only read. Each figure is
the median of ``--repeat`` runs after one to warm the caches; wall time, with the CPU time beside it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

TARGET_SECONDS = 5.0
CHUNK = 2_000


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    from bont.bootstrap import setup_database

    setup_database(migrate=False)


def _read(sql: str, parameters: list[Any]) -> int:
    from django.db import connection  # noqa: TID251 (the baseline: the bare cursor, no ORM)

    rows = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        while chunk := cursor.fetchmany(CHUNK):
            rows += len(chunk)
    return rows


def sessions_read(start: date, end: date) -> int:
    """The baseline: the sessions given in the range joined to their patients, as the sessions table holds them."""
    return _read(
        "SELECT s.id, s.date, p.mrn, p.family_name, p.given_name, s.product, s.indication, s.guidance,"
        " s.total_units, s.units_discarded, s.protocol, s.clinician_id FROM clinic_treatmentsession s"
        " JOIN clinic_patient p ON p.id = s.patient_id WHERE s.date >= %s AND s.date <= %s"
        " AND s.withdrawn_reason = '' ORDER BY s.date, s.id",
        [start, end],
    )


def claim_inputs_read(start: date, end: date) -> int:
    """What the export reads of each session: its claim inputs (day, patient, clinician, claim content), in order."""
    return _read(
        "SELECT date, session_id, patient_id, clinician_id, content_id FROM clinic_sessionclaiminputs"
        " WHERE date >= %s AND date <= %s ORDER BY date, session_id",
        [start, end],
    )


def export(start: date, end: date) -> int:
    """The export's CSV read through; returns its bytes."""
    from bont.bootstrap import billing_records, build_knowledge
    from bont.services.billing import billing_csv

    return sum(len(row) for row in billing_csv(billing_records(), build_knowledge(), start, end))


def timed(work: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds of ``repeat`` runs after one, and what the work returned."""
    result = work()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def _one_worker(url: str, start: date, end: date) -> float:
    _setup(url)
    export(start, start)  # a worker that has served before: its knowledge loaded
    started = time.perf_counter()
    export(start, end)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database", required=True, help="A scale clinic's DATABASE_URL (read only).")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--at-once", type=int, default=4)
    options = parser.parse_args()
    start, end = date(options.year, 1, 1), date(options.year, 12, 31)
    _setup(options.database)
    base_wall, base_cpu, sessions = timed(lambda: sessions_read(start, end), options.repeat)
    read_wall, read_cpu, _ = timed(lambda: claim_inputs_read(start, end), options.repeat)
    wall, cpu, size = timed(lambda: export(start, end), options.repeat)
    print(
        f"billing_export: year {options.year}, {sessions:,} sessions, {size / 1e6:,.0f} MB of CSV, "
        f"{os.cpu_count()} cores, {date.today()}; medians of {options.repeat} runs after one"
    )
    print(f"sessions joined to their patients, bare cursor (baseline): {base_wall:.2f} s (CPU {base_cpu:.2f} s)")
    print(f"their claim inputs, bare cursor (what the export reads): {read_wall:.2f} s (CPU {read_cpu:.2f} s)")
    verdict = "meets" if wall <= TARGET_SECONDS else "MISSES"
    print(
        f"year's export alone: {wall:.2f} s (CPU {cpu:.2f} s; target <= {TARGET_SECONDS:.0f} s, {verdict}); "
        f"{wall / base_wall:.1f}x the baseline"
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(options.at_once) as pool:
        took = pool.starmap(_one_worker, [(options.database, start, end)] * options.at_once)
    slowest = max(took)
    verdict = "meets" if slowest <= TARGET_SECONDS else "MISSES"
    print(
        f"{options.at_once} at once, one process each: slowest {slowest:.2f} s (median {statistics.median(took):.2f} s;"
        f" target <= {TARGET_SECONDS:.0f} s, {verdict}); {slowest / base_wall:.1f}x the baseline"
    )


if __name__ == "__main__":
    main()
