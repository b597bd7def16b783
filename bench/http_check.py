"""Benchmark: ``POST /api/check`` (a chronic migraine plan of 31 sites, with a history, bearer-token
authentication) against a bare Django view through the same server and middleware, on a real ``bont serve``
with several concurrent clients, for one worker process and for several (issue 15's target: the check at
≥ 50 % of the bare view's throughput). An empty operation behind the API's token authentication and role check
is reported beside it: what the API costs before any clinical work.

The baselines exist only in this benchmark's Django settings (``bench/http_site.py``). Each round measures the
three in turn, so that a busy machine slows them alike; the ratio is the median round's. Clients are separate
processes keeping their connection open, as a clinic's API client would. Beside the throughput ratio (the
target's), the ratio of the server's CPU time per request (Linux ``/proc``), which the clients and other work
on the machine disturb far less.
Run: ``.venv/bin/python bench/http_check.py [--workers N] [--clients N] [--seconds S] [--rounds N]
[--database-url postgresql://...]``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from multiprocessing.pool import Pool
from pathlib import Path

ROOT = Path(__file__).parent.parent
BONT = str(Path(sys.executable).with_name("bont"))
TARGET = 0.50  # POST /api/check over the bare view
ON = date(2026, 11, 21)
USERNAME = "bench-clinician"


def check_document() -> bytes:
    """A fictional adult's chronic migraine plan as bont plans it (BOTOX, 155 U in 31 sites), after two
    sessions 12 and 24 weeks earlier."""
    from bont.bootstrap import build_knowledge
    from bont.domain.planning import PlanRequest
    from bont.services import documents
    from bont.services.planning import plan_session

    knowledge = build_knowledge()
    plan = documents.plan_document(
        plan_session(knowledge, PlanRequest(product="BOTOX", indication="chronic-migraine", on=ON)), knowledge
    )
    sites = [
        {"muscle": site["muscle"], "units": site["units"], **({"side": site["side"]} if site["side"] else {})}
        for site in plan["sites"]
    ]
    history = [
        {"date": (ON - timedelta(weeks=weeks)).isoformat(), "product": "onabotulinumtoxinA",
         "indication": "chronic-migraine", "units": 155}
        for weeks in (12, 24)
    ]  # fmt: skip
    document = {
        "date": ON.isoformat(),
        "patient": {"birth_date": "1979-05-02", "sex": "female", "weight_kg": 61, "conditions": [],
                    "medications": ["amitriptyline"], "allergies": []},
        "history": history,
        "plan": {"product": "onabotulinumtoxinA", "indication": "chronic-migraine", "sites": sites},
    }  # fmt: skip
    return json.dumps(document).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bont(env: dict[str, str], *args: str) -> str:
    return subprocess.run([BONT, *args], env=env, check=True, capture_output=True, text=True).stdout


@contextmanager
def serving(env: dict[str, str], workers: int) -> Iterator[tuple[int, int]]:
    """``bont serve --workers N`` on a free port, until the block ends; yields the port and the server's pid."""
    port = _free_port()
    server = subprocess.Popen(
        [BONT, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.3)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def _client(port: int, path: str, body: bytes, headers: dict[str, str], seconds: float) -> int:
    """Requests answered 200 in ``seconds`` by one client on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    answered = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: {response.status}")
        answered += 1
    connection.close()
    return answered


def server_cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) the server and its worker processes have used so far."""
    total, pending = 0.0, [pid]
    while pending:
        process = pending.pop()
        with contextlib.suppress(FileNotFoundError):  # a worker that has just ended
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
            pending += [int(child) for child in Path(f"/proc/{process}/task/{process}/children").read_text().split()]
    return total


def throughput(pool: Pool, clients: int, server: tuple[int, int], path: str, body: bytes, token: str,
               seconds: float) -> tuple[float, float]:  # fmt: skip
    """Requests per second that ``clients`` concurrent clients get answered, and the server's CPU seconds per
    request."""
    port, pid = server
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    pool.starmap(_client, [(port, path, body, headers, 0.3)] * clients)  # warm every worker and connection
    cpu = server_cpu_seconds(pid)
    answered = sum(pool.starmap(_client, [(port, path, body, headers, seconds)] * clients))
    return answered / seconds, (server_cpu_seconds(pid) - cpu) / answered


PATHS = ("/bench/bare", "/api/check", "/bench-api/empty")  # measured in this order in every round


def _report(rounds: list[dict[str, tuple[float, float]]]) -> str:
    """The median round's ratios to the bare view: of throughput, and of server CPU time per request."""

    def ratio(path: str) -> tuple[float, float]:
        throughputs = statistics.median(run[path][0] / run["/bench/bare"][0] for run in rounds)
        cpu = statistics.median(run["/bench/bare"][1] / run[path][1] for run in rounds)
        return throughputs, cpu

    (check, check_cpu), (empty, empty_cpu) = ratio("/api/check"), ratio("/bench-api/empty")
    bare = statistics.median(run["/bench/bare"][0] for run in rounds)
    return (
        f"POST /api/check {check:.1%} of a bare view's throughput ({bare:,.0f}/s; target ≥ {TARGET:.0%}), "
        f"{check_cpu:.1%} by server CPU per request; an empty authenticated operation {empty:.1%}, by CPU "
        f"{empty_cpu:.1%} (reported)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="the several (default: cores)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--seconds", type=float, default=1.5, help="of each measurement (default 1.5)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server (default 5)")
    parser.add_argument("--database-url", help="an empty database to serve (default: a new SQLite file)")
    options = parser.parse_args()
    body = check_document()
    with tempfile.TemporaryDirectory(prefix="bont-bench-http-") as folder:
        env = {
            **os.environ,
            "DATABASE_URL": options.database_url or f"sqlite:///{Path(folder) / 'bont.sqlite3'}",
            "BONT_DATA_DIR": folder,
            "DJANGO_SETTINGS_MODULE": "bench.http_site",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        _bont(env, "user", "add", USERNAME, "--role", "clinician")
        token = _bont(env, "user", "token", USERNAME).strip().rsplit(" ", 1)[-1]
        print(f"{options.clients} clients, {options.seconds:g} s per measurement, median of {options.rounds} rounds")
        with multiprocessing.Pool(options.clients) as pool:
            for workers in dict.fromkeys((1, options.workers)):
                with serving(env, workers) as server:
                    rounds = [
                        {
                            path: throughput(pool, options.clients, server, path, body, token, options.seconds)
                            for path in PATHS
                        }
                        for _ in range(options.rounds)
                    ]
                    print(f"{workers} worker{'s' if workers > 1 else ''}: {_report(rounds)}")


if __name__ == "__main__":
    main()
