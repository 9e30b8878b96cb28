"""Load generated claims into an on-disk store, then time the analytics queries two ways.

1. Generates N seeded claims (server.synth) and loads them with their validation results into a
   fresh data folder, as `m99kg load --data DIR --workers W` does (one transaction per batch; with
   --bulk as `m99kg load --bulk` does): prints the load rate. With --keep DIR the folder is kept;
   if it already holds claims (a previous --keep run), the load is skipped and only the queries run.
2. Starts `m99kg serve --data DIR` and the Oxigraph server (`oxigraph serve-read-only`, from the
   `oxigraph` PyPI package) over the SAME store folder, and runs every analytics named query through
   both /sparql endpoints (same query text, union default graph on both): --warmup untimed runs
   (the first one printed as the cold time; the service has two query processes, each with its own
   cache), then --repeat timed runs. Prints the median time per query and the ratio m99kg /
   Oxigraph (the target is <= 1.25).

Run: .venv/bin/python bench/load_analytics.py [--claims 100000] [--workers 2] [--repeat 3] [--bulk]
     [--keep DIR] [--load-only] [--queries NAME,...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from procmem import tree_rss_mib  # noqa: E402

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def timed_query(endpoint: str, query: str, union: bool) -> float:
    params = {"query": query}
    if union:
        params["union-default-graph"] = ""
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(endpoint, data=data, headers={"Accept": "application/sparql-results+json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()
    return time.perf_counter() - start


def main() -> None:
    import pyoxigraph as ox

    from server.loading import bulk_load_outcomes, load_outcomes
    from server.namedqueries import load_queries
    from server.namespaces import GRAPH_CLAIMS
    from server.sparql.snapshot import data_folder
    from server.synth.generator import generate
    from server.validation import batch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="use (and keep) this data folder instead of a temporary one")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per query and endpoint first (the "
                                                                  "first is printed as the cold time)")
    parser.add_argument("--bulk", action="store_true", help="load with Oxigraph's bulk loader (m99kg load --bulk)")
    parser.add_argument("--queries", help="comma-separated analytics query names (default: all)")
    parser.add_argument("--load-only", action="store_true", help="stop after the load (with --keep: time the "
                                                                 "queries in a later, quiet run)")
    args = parser.parse_args()
    data = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="m99kg-bench-"))
    print(f"machine: {os.cpu_count()} cores; {args.claims} claims; data folder {data}")
    try:
        with data_folder(data, exclusive=True) as snapshot:  # brought up to date with the knowledge first
            store = ox.Store(str(snapshot))
            loaded = sum(1 for _ in store.query(f"SELECT ?c WHERE {{ GRAPH <{GRAPH_CLAIMS}> {{ ?c a "
                                                 "<https://w3id.org/m99kg/vocab#Claim> } }"))
            if loaded:
                print(f"load: skipped, the folder holds {loaded} claims already")
            else:
                units = batch.object_units(generate(args.claims, args.seed), "bench", args.batch_size)
                start = time.perf_counter()
                load = bulk_load_outcomes if args.bulk else load_outcomes
                marks = {"next": 0, "peak": 0.0}

                def progress(done) -> None:  # the claims validated and written so far, and the memory
                    if done.claims >= marks["next"]:
                        rss = tree_rss_mib()
                        marks["peak"] = max(marks["peak"], rss)
                        marks["next"] += max(args.claims // 20, args.batch_size)
                        print(f"  {done.claims:>9} claims  {time.perf_counter() - start:8.1f} s  RSS of this process "
                              f"and the validation workers {rss:7.1f} MiB", flush=True)

                summary = load(batch.validate_units(units, "fast", args.workers, keep_claims=True), store,
                               progress=progress)
                store.flush()
                elapsed = time.perf_counter() - start
                print(f"load{' (bulk)' if args.bulk else ''}: {summary.claims} claims, {summary.results} results, "
                      f"{summary.triples} triples in {elapsed:.1f} s = {summary.claims / elapsed:.0f} claims/s "
                      f"({args.workers} validation processes); RSS at most {marks['peak']:.0f} MiB at the marks")
            del store
        if args.load_only:
            return

        ours_port, ox_port = free_port(), free_port()
        ours = subprocess.Popen([str(BIN / "m99kg"), "serve", "--data", str(data), "--port", str(ours_port),
                                 "--timeout", "600", "--query-memory", "0"],  # as unbounded as the Oxigraph server
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        theirs = subprocess.Popen([str(BIN / "oxigraph"), "serve-read-only", "--location", str(snapshot),
                                   "--bind", f"127.0.0.1:{ox_port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait(f"http://127.0.0.1:{ours_port}/healthz")
            wait(f"http://127.0.0.1:{ox_port}/query?query=ASK%7B%7D")
            queries = {n: q for n, q in load_queries().items() if "analytics" in q.tags
                       and (not args.queries or n in args.queries.split(","))}
            print(f"\nmedian of {args.repeat} after {args.warmup} warm-up run(s) on each endpoint")
            print(f"{'query':<26} {'m99kg ms':>10} {'Oxigraph ms':>12} {'ratio':>7}")
            for name, named in sorted(queries.items()):
                text = named.bind({})
                ours_url, ox_url = f"http://127.0.0.1:{ours_port}/sparql", f"http://127.0.0.1:{ox_port}/query"
                cold = (timed_query(ours_url, text, False), timed_query(ox_url, text, True))
                for _ in range(args.warmup - 1):  # the service has several worker processes, each its own cache
                    timed_query(ours_url, text, False)
                    timed_query(ox_url, text, True)
                a = [timed_query(ours_url, text, False) for _ in range(args.repeat)]
                b = [timed_query(ox_url, text, True) for _ in range(args.repeat)]
                ma, mb = statistics.median(a), statistics.median(b)
                print(f"{name:<26} {ma * 1000:>10.1f} {mb * 1000:>12.1f} {ma / mb:>7.2f}   "
                      f"(first run {cold[0] * 1000:.0f} / {cold[1] * 1000:.0f} ms)")
        finally:
            for p in (ours, theirs):
                p.terminate()
                p.wait(10)
    finally:
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
