"""Benchmark: loading and validating the knowledge base, as a ratio to a bare YAML parse of the same files.

Prints ratios, not seconds, so results compare across machines.
"""

from __future__ import annotations

import timeit

import yaml

from bont.knowledge import DEFAULT_DATA_DIR, load_knowledge

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the parser the knowledge loader uses


def parse_only() -> None:
    for path in DEFAULT_DATA_DIR.rglob("*.yaml"):
        yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)


def main() -> None:
    repeats = 5
    baseline = min(timeit.repeat(parse_only, number=1, repeat=repeats))
    full = min(timeit.repeat(load_knowledge, number=1, repeat=repeats))
    print(f"load_knowledge / YAML parse alone: {full / baseline:.2f}x")


if __name__ == "__main__":
    main()
