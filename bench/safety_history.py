"""Benchmark: checking a patient with twenty years of history against a patient with one visit.

Prints the ratio of the two times; about 1 means the check does not slow down as the history grows (issue 15's
target: at most 1.2). Times are CPU time of this process, taken in turns, so that other programs on the machine
skew both alike.
"""

from __future__ import annotations

import time
import timeit
from datetime import date, timedelta
from decimal import Decimal

from bont.bootstrap import build_knowledge
from bont.domain.safety import Administration, CheckRequest, Patient, SessionPlan, check

SESSION = date(2026, 11, 21)
TARGET_RATIO = 1.2


def request(visits: int) -> CheckRequest:
    history = tuple(
        Administration(SESSION - timedelta(days=91 * (i + 1)), "onabotulinumtoxinA", "chronic-migraine", Decimal(155))
        for i in range(visits)
    )
    patient = Patient(
        birth_date=date(1970, 1, 1),
        weight_kg=Decimal(70),
        conditions=("G70.00", "J44.9"),
        medications=("baclofen", "metformin"),
    )
    return CheckRequest(SESSION, patient, SessionPlan("onabotulinumtoxinA", "chronic-migraine", Decimal(155)), history)


def main() -> None:
    knowledge = build_knowledge()
    one, twenty_years = request(1), request(80)  # quarterly sessions for 20 years
    check(knowledge, twenty_years)  # the knowledge base's tables are built once, on first use
    runs = 300
    base, long = float("inf"), float("inf")
    for _ in range(15):
        base = min(base, timeit.timeit(lambda: check(knowledge, one), number=runs, timer=time.process_time))
        long = min(long, timeit.timeit(lambda: check(knowledge, twenty_years), number=runs, timer=time.process_time))
    print(f"check with 20 years of history / with one visit: {long / base:.2f}x (target ≤ {TARGET_RATIO}x)")


if __name__ == "__main__":
    main()
