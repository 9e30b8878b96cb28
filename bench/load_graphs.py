"""How long, and how much memory, loading every graph (full code set included) takes.

Each variant runs in a fresh child process so its peak resident memory (ru_maxrss) is its own:
  oxigraph-memory   the embedded default: pyoxigraph in memory (what `m99kg code` and the tests use)
  oxigraph-disk     pyoxigraph on disk (RocksDB) in a temporary folder
  rdflib-memory     the baseline: rdflib's own in-memory Dataset, same files, same graphs
The ratio column compares wall time with rdflib's. Run: .venv/bin/python bench/load_graphs.py [--repeat N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _files():
    from server import resources

    return resources.knowledge_files()


def _run(variant: str, out: mp.Queue) -> None:
    files = _files()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if variant.startswith("oxigraph"):
        from server.store import Store

        tmp = tempfile.mkdtemp() if variant == "oxigraph-disk" else None
        store = Store(Path(tmp) if tmp else None)
        for path, graph in files:
            store.load_turtle(path, graph)
        triples = len(store.ox)
    else:
        import rdflib

        ds = rdflib.Dataset()
        for path, graph in files:
            ds.graph(rdflib.URIRef(graph)).parse(path, format="turtle")
        triples = len(ds)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put((variant, elapsed, triples, peak / 1024, (peak - base_rss) / 1024))


def measure(variant: str) -> tuple[str, float, int, float, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(variant, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (the median is reported)")
    parser.add_argument("--skip-rdflib", action="store_true", help="skip the slow rdflib baseline")
    args = parser.parse_args()
    variants = ["oxigraph-memory", "oxigraph-disk"] + ([] if args.skip_rdflib else ["rdflib-memory"])
    rows = {}
    for variant in variants:
        runs = [measure(variant) for _ in range(args.repeat if variant != "rdflib-memory" else 1)]
        rows[variant] = (statistics.median(r[1] for r in runs), runs[0][2], max(r[3] for r in runs),
                         max(r[4] for r in runs))
    baseline = rows.get("rdflib-memory", (None,))[0]
    print(f"{'variant':<17} {'load s':>8} {'triples':>9} {'peak RSS MiB':>13} {'RSS added MiB':>14} {'vs rdflib':>10}")
    for variant, (secs, triples, peak, added) in rows.items():
        ratio = f"{baseline / secs:.1f}x" if baseline else "-"
        print(f"{variant:<17} {secs:>8.2f} {triples:>9} {peak:>13.0f} {added:>14.0f} {ratio:>10}")


if __name__ == "__main__":
    main()
