"""Benchmark: the safety check for a patient on eleven everyday medicines (brands, salts and strengths as
clinics write them) against the same patient on none.

Prints the ratio of the two times: the cost the medicine vocabulary adds to every check. Times are CPU time of
this process, taken in turns, so that other programs on the machine skew both alike.
"""

from __future__ import annotations

import time
import timeit
from datetime import date
from decimal import Decimal

from bont.bootstrap import build_knowledge
from bont.domain.safety import CheckRequest, Patient, SessionPlan, check

SESSION = date(2026, 11, 21)
MEDICINES = (
    "Topamax 50 mg",
    "propranolol hydrochloride",
    "amitriptyline 10 mg",
    "candesartan",
    "Imitrex",
    "naproxen sodium",
    "Aimovig",
    "gabapentin 300 mg",
    "mirabegron",
    "Flomax",
    "sertraline",
)


def request(medications: tuple[str, ...]) -> CheckRequest:
    patient = Patient(birth_date=date(1970, 1, 1), weight_kg=Decimal(70), medications=medications)
    return CheckRequest(SESSION, patient, SessionPlan("onabotulinumtoxinA", "chronic-migraine", Decimal(155)))


def main() -> None:
    knowledge = build_knowledge()
    none, eleven = request(()), request(MEDICINES)
    check(knowledge, eleven)  # the normalised tables are built once, on first use
    runs = 300
    base, with_medicines = float("inf"), float("inf")
    for _ in range(7):  # in turns, so that other programs on the machine skew both alike
        base = min(base, timeit.timeit(lambda: check(knowledge, none), number=runs, timer=time.process_time))
        with_medicines = min(
            with_medicines, timeit.timeit(lambda: check(knowledge, eleven), number=runs, timer=time.process_time)
        )
    print(f"check with eleven everyday medicines / with none: {with_medicines / base:.2f}x")


if __name__ == "__main__":
    main()
