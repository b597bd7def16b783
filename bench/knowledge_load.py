"""Benchmark: loading and validating the knowledge base, as a ratio to a bare YAML parse of the same files.

Prints ratios, not seconds, so results compare across machines. The target (issue 15): the load costs little
more than parsing its files, about 1x. Times are CPU time of this process, so that other programs on the
machine do not skew them.
"""

from __future__ import annotations

import time
import timeit

import yaml

from bont.knowledge import DEFAULT_DATA_DIR, load_knowledge

TARGET_RATIO = 1.0
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the parser the knowledge loader uses


def parse_only() -> None:
    for path in DEFAULT_DATA_DIR.rglob("*.yaml"):
        yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)


def main() -> None:
    baseline, full = float("inf"), float("inf")
    for _ in range(7):  # in turns, so that other programs on the machine skew both alike
        baseline = min(baseline, timeit.timeit(parse_only, number=1, timer=time.process_time))
        full = min(full, timeit.timeit(load_knowledge, number=1, timer=time.process_time))
    print(f"load_knowledge / YAML parse alone: {full / baseline:.2f}x (target close to {TARGET_RATIO:.0f}x)")


if __name__ == "__main__":
    main()
