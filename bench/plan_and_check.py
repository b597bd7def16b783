"""Benchmark: plan and check per second in one process, for a chronic migraine plan and a weight-based
pediatric spasticity plan (issue 15's target: 5,000 per second on one core).

Reported beside an in-run baseline (building the plan request alone), so that figures compare across machines.
"""

from __future__ import annotations

import timeit
from datetime import date
from decimal import Decimal

from bont.bootstrap import build_knowledge
from bont.domain.planning import PlanRequest, SideChoice
from bont.services.planning import plan_session

TARGET_PER_SECOND = 5_000
ON = date(2026, 11, 21)


def requests() -> dict[str, PlanRequest]:
    return {
        "chronic migraine, BOTOX": PlanRequest(product="BOTOX", indication="chronic-migraine", on=ON),
        "pediatric upper limb, BOTOX, 24 kg": PlanRequest(
            product="BOTOX",
            indication="upper-limb-spasticity",
            on=ON,
            age_years=Decimal(8),
            weight_kg=Decimal(24),
            side=SideChoice.LEFT,
        ),
    }


def main() -> None:
    knowledge = build_knowledge()
    for name, request in requests().items():
        plan_session(knowledge, request)  # warm the knowledge base's memoised tables
        runs = 300
        seconds = min(timeit.repeat(lambda request=request: plan_session(knowledge, request), number=runs, repeat=5))
        per_second = runs / seconds
        print(f"plan + check, {name}: {per_second:,.0f} per second (target ≥ {TARGET_PER_SECOND:,})")


if __name__ == "__main__":
    main()
