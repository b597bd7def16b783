"""Benchmark: plan and check per second in one process, for a chronic migraine plan and a weight-based
pediatric spasticity plan (issue 15's target: 5,000 per second on one core).

The target is a rate on one core, so the figure is CPU time of this process (``time.process_time``): other
programs sharing the machine slow the wall clock, not this. Every call plans and checks the request again; what
plans of one protocol share is worked out once and kept with the knowledge base (its tables, and the planner's
``PlanMemo``: the protocol a request names, its rows as they stand, its muscles as placed at one dilution, the
vials for an amount), while the safety check, the session caps, the notes and the verdict are worked out on every
call.
"""

from __future__ import annotations

import time
import timeit
from datetime import date
from decimal import Decimal
from functools import partial

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
        runs = 500
        seconds = min(
            timeit.repeat(partial(plan_session, knowledge, request), number=runs, repeat=7, timer=time.process_time)
        )
        per_second = runs / seconds
        print(
            f"plan + check, {name}: {per_second:,.0f} per second on one core, {per_second / TARGET_PER_SECOND:.2f}× "
            f"the target (target ≥ {TARGET_PER_SECOND:,} per second)"
        )


if __name__ == "__main__":
    main()
