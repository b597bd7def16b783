"""Benchmark: checking a patient with twenty years of history against a patient with one visit.

Prints the ratio of the two times; about 1 means the check does not slow down as the history grows.
"""

from __future__ import annotations

import timeit
from datetime import date, timedelta
from decimal import Decimal

from bont.bootstrap import build_knowledge
from bont.domain.safety import Administration, CheckRequest, Patient, SessionPlan, check

SESSION = date(2026, 11, 21)


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
    runs = 300
    base = min(timeit.repeat(lambda: check(knowledge, one), number=runs, repeat=5))
    long = min(timeit.repeat(lambda: check(knowledge, twenty_years), number=runs, repeat=5))
    print(f"check with 20 years of history / with one visit: {long / base:.2f}x")


if __name__ == "__main__":
    main()
