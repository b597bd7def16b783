"""Benchmark: the wall time of knowledge-only ``bont`` commands against ``python -c "import bont"``.

Each command runs as its own process, as a clinician runs it; the runs are interleaved with the baseline's so
that a busy machine slows both alike, and the median of each is compared. Prints ratios, not seconds: of wall
time (the target), and of CPU time (user and system), which other work on the machine disturbs less. Every
process keeps its compiled bytecode (in a folder of its own), as an installed bont does, even where
PYTHONDONTWRITEBYTECODE is set. Typer's own floor (``typer_floor.py``: Typer parsing ``bont plan``'s options and
doing nothing) is measured beside them, so that a reader sees how much of a command is Typer's.
Run: ``.venv/bin/python bench/cli_startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BONT = str(Path(sys.executable).with_name("bont"))
BASELINE = (sys.executable, "-c", "import bont")
FLOOR = (sys.executable, str(Path(__file__).with_name("typer_floor.py")))
COMMANDS = {
    "bont plan --product BOTOX --indication chronic-migraine": (
        (BONT, "plan", "--product", "BOTOX", "--indication", "chronic-migraine"),
        "<= 3x",
    ),
    "bont knowledge validate": ((BONT, "knowledge", "validate"), "none (reported)"),
    # Typer alone parsing the same options, doing nothing: the floor under any Typer command (see typer_floor.py).
    "Typer's floor: bont plan's options, no bont": (
        (*FLOOR, "plan", "--product", "BOTOX", "--indication", "chronic-migraine"),
        "none (the floor)",
    ),
}


def run(command: tuple[str, ...], environment: dict[str, str]) -> tuple[float, float]:
    """The wall time and the CPU time of one run of ``command``."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=environment)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="bont-bytecode-") as bytecode:
        environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        environment["PYTHONPYCACHEPREFIX"] = bytecode
        for command in (BASELINE, *(command for command, _ in COMMANDS.values())):
            run(command, environment)  # compile the bytecode, warm the file cache and bont's knowledge cache
        baseline: list[tuple[float, float]] = []
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
        for _ in range(runs):
            baseline.append(run(BASELINE, environment))
            for name, (command, _) in COMMANDS.items():
                times[name].append(run(command, environment))
    base_wall, base_cpu = (statistics.median(column) for column in zip(*baseline, strict=True))
    print(
        f'python -c "import bont" (the baseline): median wall {base_wall * 1000:.0f} ms, '
        f"CPU {base_cpu * 1000:.0f} ms over {runs} runs"
    )
    for name, (_, target) in COMMANDS.items():
        wall, cpu = (statistics.median(column) for column in zip(*times[name], strict=True))
        print(
            f"{name} / import bont: {wall / base_wall:.1f}x wall (target {target}), {cpu / base_cpu:.1f}x CPU  "
            f"(median wall {wall * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    main()
