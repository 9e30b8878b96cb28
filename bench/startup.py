"""How long `m99kg serve` takes to answer /healthz, cold and warm, and how much memory it holds.

cold  an empty --data folder: the server builds the on-disk snapshot (bulk load of every graph)
      before it starts its query workers;
warm  the same folder again: the snapshot is current and is only opened.

Time is measured from starting the process until GET /healthz answers 200 (polled every 20 ms), so
it includes Python's start-up and imports. Memory is read from /proc/<pid>/status of the server and
every process under it (query workers, multiprocessing's helper): VmHWM is each process's peak
resident set, VmRSS its current one. The tree's "peak" is the sum of the per-process peaks, an upper
bound (the peaks need not coincide). Memory is read twice: when /healthz first answers, and after
one request to each endpoint (a code card, a SPARQL query, a validation), since some parts load on
first use. Run: .venv/bin/python bench/startup.py [--repeat 3]

The `Server` class is also what bench/service_latency.py uses to start and stop the service.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
M99KG = Path(sys.executable).parent / "m99kg"
EXAMPLE_CLAIM = ROOT / "examples" / "clean-medicare-claim.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children() -> dict[int, list[int]]:
    """ppid -> pids, from /proc/<pid>/stat (field 4)."""
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out.setdefault(ppid, []).append(int(entry))
    return out


def process_tree(pid: int) -> list[int]:
    children, tree, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children.get(p, [])
    return tree


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of one process, in KiB (empty if it has gone)."""
    out = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                out[name] = int(value.split()[0])
    return out


def describe(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(c.decode(errors="replace") for c in cmd if c)
    if "serve" in text and "m99kg" in text:
        return "server"
    if "resource_tracker" in text:
        return "resource tracker"
    if "multiprocessing" in text or "spawn_main" in text:
        return "query worker"
    return text[:40]


class Server:
    """`m99kg serve` in a subprocess on a free loopback port, stopped by its own pid and children's pids."""

    def __init__(self, data_dir: Path, workers: int = 2, timeout: float = 10.0, port: int | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.args = [str(M99KG), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data", str(data_dir),
                     "--workers", str(workers), "--timeout", str(timeout)]
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's output, kept as long as the Server

    def start(self, ready_within: float = 180.0) -> float:
        """Start and wait for /healthz; return the seconds it took."""
        env = dict(os.environ)
        env.pop("M99KG_TOKEN", None)
        started = time.perf_counter()
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = started + ready_within
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                tail = self.log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{tail}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.get("/healthz")[0] == 200:
                    return time.perf_counter() - started
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the server did not answer /healthz within {ready_within:g} s")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def reported_ready(self) -> float | None:
        """The server's own "ready in N s" log figure (snapshot + workers + app, without interpreter start-up)."""
        import re

        self.log.seek(0)
        m = re.search(rb"ready in ([0-9.]+) s", self.log.read())
        return float(m.group(1)) if m else None

    def memory(self) -> list[tuple[int, str, dict[str, int]]]:
        assert self.proc is not None
        return [(pid, describe(pid), memory_kib(pid)) for pid in process_tree(self.proc.pid)]

    def stop(self) -> None:
        """SIGINT first (waitress stops, the pool closes its workers), then SIGKILL whatever of our tree is left."""
        if self.proc is None or self.proc.poll() is not None:
            return
        tree = process_tree(self.proc.pid)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for pid in tree[1:]:  # workers are normally gone with the server; only ours, by pid
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def touch_every_endpoint(server: Server) -> None:
    """One request to each endpoint, so lazily loaded parts count in the memory figures."""
    assert server.get("/codes/M99.04")[0] == 200
    assert server.get("/sparql?query=ASK%7B%7D")[0] == 200
    assert server.get("/queries/pairings-for-code?code=M99.04")[0] == 200
    status, _ = server.request("POST", "/validate", EXAMPLE_CLAIM.read_bytes(), {"Content-Type": "application/json"})
    assert status == 200


def loadavg() -> str:
    """Other work on the machine skews the times; the load average says how much there was."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _mib(kib: int) -> str:
    return f"{kib / 1024:7.1f}"


def measure(kind: str, data_dir: Path, workers: int) -> dict:
    server = Server(data_dir, workers=workers)
    try:
        seconds = server.start()
        at_ready = server.memory()
        touch_every_endpoint(server)
        after = server.memory()
        logged = server.reported_ready()
    finally:
        server.stop()
    return {"kind": kind, "seconds": seconds, "logged": logged, "at_ready": at_ready, "after_requests": after}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind (median reported)")
    parser.add_argument("--workers", type=int, default=2, help="query workers (m99kg serve --workers)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    runs = []
    load_before = loadavg()
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="m99kg-startup-") as tmp:
            data = Path(tmp) / "data"
            runs.append(measure("cold", data, args.workers))  # empty folder: builds the snapshot
            runs.append(measure("warm", data, args.workers))  # same folder: snapshot current
        print(f"run {i + 1}: cold {runs[-2]['seconds']:.2f} s, warm {runs[-1]['seconds']:.2f} s", flush=True)

    cpus = len(os.sched_getaffinity(0))
    print(f"\nmachine: {cpus} CPUs available (nproc), Python {sys.version.split()[0]}; "
          f"m99kg serve --workers {args.workers}; {args.repeat} runs each")
    print(f"load average (1, 5, 15 min) before: {load_before}; after: {loadavg()}\n")
    print("| start | until /healthz (median) | min | max | server's own \"ready in\" (median) |")
    print("|---|---|---|---|---|")
    for kind in ("cold", "warm"):
        t = [r["seconds"] for r in runs if r["kind"] == kind]
        logged = [r["logged"] for r in runs if r["kind"] == kind and r["logged"] is not None]
        own = f"{statistics.median(logged):.1f} s" if logged else "not logged"
        print(f"| {kind} | {statistics.median(t):.2f} s | {min(t):.2f} s | {max(t):.2f} s | {own} |")

    print("\nmemory (MiB) of the last run of each kind, per process:")
    print("| start | process | VmHWM at ready | VmRSS at ready | VmHWM after requests | VmRSS after requests |")
    print("|---|---|---|---|---|---|")
    for kind in ("cold", "warm"):
        last = [r for r in runs if r["kind"] == kind][-1]
        after = {pid: mem for pid, _name, mem in last["after_requests"]}
        totals = [0, 0, 0, 0]
        for pid, name, mem in last["at_ready"]:
            later = after.get(pid, {})
            row = [mem.get("VmHWM", 0), mem.get("VmRSS", 0), later.get("VmHWM", 0), later.get("VmRSS", 0)]
            totals = [a + b for a, b in zip(totals, row, strict=True)]
            print(f"| {kind} | {name} | " + " | ".join(_mib(v) for v in row) + " |")
        print(f"| {kind} | **all** | " + " | ".join(_mib(v) for v in totals) + " |")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
