"""Latency and throughput of the HTTP service under concurrent loopback clients.

Starts `m99kg serve` itself (subprocess, free port on 127.0.0.1, a temporary --data folder unless
--data is given), warms it up, then for each concurrency level (default 1, 8, 32) and each request
kind runs that many client threads, each with its own keep-alive http.client connection, until the
cell's request count is sent or its time is up (requests in flight are finished; nothing runs
unbounded). Request kinds:

  sparql    GET /sparql, a small SELECT (the title of M99.04)
  named     GET /queries/pairings-for-code?code=M99.04
  code      GET /codes/M99.04 (the code card: about twenty named queries in the server process)
  validate  POST /validate with one generated claim, a different one each request (seeded; what a
            billing system sends: concurrent requests carry different claims)
  validate-same  POST /validate with examples/clean-medicare-claim.json every time
  validate-x12   POST /validate with one generated claim as an 837P interchange (application/edi-x12),
            a different one each request

Validation runs the fast engine in the server process (about 20 ms of CPU for a batch of one
claim, most of it Oxigraph parsing the 46 rule queries; concurrent requests share a batch, see
server/validation/coalesce.py; the same claim sent by many clients at once is validated once per
batch), so its cells have their own size: --validate-requests per
level (default 4; give 400 or more for p50/p99 at 32 clients), and a level above that runs with as
many clients as requests; a level that would repeat the previous one is skipped.
Every response must be 200; anything else counts as an error and is reported. Latency is per
request as the client sees it (send to last byte); p50/p99 are nearest-rank; requests/s is completed
requests over the cell's wall time. The clients are Python threads in one process on the same
machine, so at high concurrency they compete with the server for the CPUs: the figures are what
this machine does end to end, not the server alone.

Run: .venv/bin/python bench/service_latency.py [--levels 1,8,32] [--duration 8] [--requests 1000]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import EXAMPLE_CLAIM, Server

TITLE_QUERY = ("SELECT ?title WHERE { <http://purl.bioontology.org/ontology/ICD10CM/M99.04> "
               "<http://www.w3.org/2004/02/skos/core#prefLabel> ?title }")


@dataclass(frozen=True)
class Kind:
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    bodies: tuple[bytes, ...] = ()  # when given, each request sends the next one (round robin)


KINDS = [
    Kind("sparql", "GET", "/sparql?" + urlencode({"query": TITLE_QUERY}),
         headers={"Accept": "application/sparql-results+json"}),
    Kind("named", "GET", "/queries/pairings-for-code?code=M99.04"),
    Kind("code", "GET", "/codes/M99.04"),
    Kind("validate", "POST", "/validate", None, {"Content-Type": "application/json"}),
    Kind("validate-same", "POST", "/validate", EXAMPLE_CLAIM.read_bytes(), {"Content-Type": "application/json"}),
    Kind("validate-x12", "POST", "/validate", None, {"Content-Type": "application/edi-x12"}),
]


def generated_bodies(count: int, seed: int = 7) -> tuple[bytes, ...]:
    """`count` different one-claim bodies from the seeded claims generator."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from server.synth.generator import generate

    return tuple(json.dumps(claim).encode() for claim in generate(count, seed))


def x12_bodies(count: int, seed: int = 7) -> tuple[bytes, ...]:
    """`count` different one-claim 837P interchanges (generated claims that an 837P can carry)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from server.claims.x12_write import writable_claims, write_837p
    from server.synth.generator import generate

    return tuple(write_837p([claim]).encode()
                 for claim in itertools.islice(writable_claims(generate(count * 6, seed)), count))


@dataclass
class Cell:
    kind: str
    clients: int
    latencies: list[float]
    errors: list[str]
    wall: float

    def row(self) -> list[str]:
        lat = sorted(self.latencies)
        if not lat:
            return [self.kind, str(self.clients), "0", str(len(self.errors)), "-", "-", "-", "-"]

        def pct(p: float) -> float:
            return lat[max(0, math.ceil(p / 100 * len(lat)) - 1)]

        return [self.kind, str(self.clients), str(len(lat)), str(len(self.errors)),
                f"{statistics.fmean(lat) * 1000:.1f}", f"{pct(50) * 1000:.1f}", f"{pct(99) * 1000:.1f}",
                f"{len(lat) / self.wall:.1f}"]


def run_cell(port: int, kind: Kind, clients: int, max_requests: int, duration: float) -> Cell:
    """`clients` threads, each with one keep-alive connection, share a budget of requests and a deadline."""
    lock = threading.Lock()
    budget = [max_requests]
    latencies: list[float] = []
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    sent = [0]

    def take() -> bytes | bool | None:
        """False when the cell is over; else the body of the next request."""
        with lock:
            if budget[0] <= 0 or time.perf_counter() >= deadline[0]:
                return False
            budget[0] -= 1
            sent[0] += 1
            return kind.bodies[sent[0] % len(kind.bodies)] if kind.bodies else kind.body

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        mine, bad = [], []
        barrier.wait()
        while (body := take()) is not False:
            start = time.perf_counter()
            try:
                conn.request(kind.method, kind.path, body=body, headers=kind.headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    bad.append(f"{resp.status} {data[:80]!r}")
                    continue
            except (OSError, http.client.HTTPException) as exc:
                bad.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                continue
            mine.append(time.perf_counter() - start)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + duration
    start = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    return Cell(kind.name, clients, latencies, errors, time.perf_counter() - start)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{len(os.sched_getaffinity(0))} CPUs available (nproc; {os.cpu_count()} online), {model}, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def loadavg() -> str:
    """Other work on the machine skews every figure; the load average says how much there was."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,8,32", help="concurrent clients per cell, comma-separated")
    parser.add_argument("--duration", type=float, default=8.0, help="time limit of one cell, seconds")
    parser.add_argument("--requests", type=int, default=1000, help="most requests of one cell (sparql, named, code)")
    parser.add_argument("--validate-requests", type=int, default=4, help="requests of one /validate cell")
    parser.add_argument("--validate-duration", type=float, default=120.0, help="time limit of one /validate cell")
    parser.add_argument("--kinds", default=",".join(k.name for k in KINDS), help="request kinds to run")
    parser.add_argument("--workers", type=int, default=2, help="query workers (m99kg serve --workers)")
    parser.add_argument("--data", type=Path, help="--data folder for the server (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    kinds = [k for k in KINDS if k.name in args.kinds.split(",")]
    bodies = {"validate": generated_bodies, "validate-x12": x12_bodies}
    kinds = [replace(k, bodies=bodies[k.name](2 * args.validate_requests + 10)) if k.name in bodies else k
             for k in kinds]

    with tempfile.TemporaryDirectory(prefix="m99kg-bench-") as tmp:
        server = Server(args.data or Path(tmp) / "data", workers=args.workers)
        ready = server.start()
        print(f"server up in {ready:.1f} s on port {server.port} (--workers {args.workers})", flush=True)
        try:
            for kind in kinds:  # warm-up: first-use loading, worker caches, connection set-up
                run_cell(server.port, kind, 1, 2 if kind.name.startswith("validate") else 20, 60.0)
            cells = []
            load_before = loadavg()
            for kind in kinds:
                heavy = kind.name.startswith("validate")
                count = args.validate_requests if heavy else args.requests
                duration = args.validate_duration if heavy else args.duration
                done = set()
                for level in levels:
                    clients = min(level, count)  # more clients than requests would only idle
                    if clients in done:
                        continue
                    done.add(clients)
                    cell = run_cell(server.port, kind, clients, count, duration)
                    cells.append(cell)
                    print("  " + " ".join(cell.row()), flush=True)
        finally:
            server.stop()

    print(f"\nmachine: {machine()}")
    print(f"load average (1, 5, 15 min) before the cells: {load_before}; after: {loadavg()}")
    print("| endpoint | clients | requests | errors | mean ms | p50 ms | p99 ms | requests/s |")
    print("|---|---|---|---|---|---|---|---|")
    for cell in cells:
        print("| " + " | ".join(cell.row()) + " |")
    errors = [e for c in cells for e in c.errors]
    if errors:
        print(f"\n{len(errors)} errors, first: {errors[0]}")
    if args.json:
        args.json.write_text(json.dumps([{"kind": c.kind, "clients": c.clients, "latencies": c.latencies,
                                          "errors": c.errors, "wall": c.wall} for c in cells], indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
