"""Batch validation, side by side: pySHACL per claim (the reference), pySHACL per batch, the fast engine.

Generates seeded synthetic claims (server.synth), then prints for each engine: claims per second,
peak memory (RSS of this process and its workers), and the ratio to the reference. The fast engine
runs JSON in -> JSON report out (parse, validate, write JSON Lines to /dev/null), on one core and on
both. The pySHACL engines are slow, so they validate a smaller sample (--reference-claims).
With --check N the fast engine's reports are compared with pySHACL's on N claims (0 differences
expected); with --stream N the fast engine validates N claims as a stream (in --workers processes)
and prints the RSS as it goes (this process, and with its workers), to show memory bounded by the
batch size.

Run: .venv/bin/python bench/validate_batch.py [--claims 20000] [--reference-claims 40] [--check 0]
     .venv/bin/python bench/validate_batch.py --stream 1000000 [--workers 2]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from procmem import rss_mib, tree_rss_mib  # noqa: E402


def peak_mib() -> tuple[float, float]:
    """(this process's peak RSS, the largest peak of a finished child), MiB."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def fast_run(claims: list[dict], workers: int, batch_size: int) -> float:
    from server.validation import batch
    from server.validation.output import ReportWriter

    out = io.StringIO() if len(claims) < 5000 else open(os.devnull, "w")  # noqa: SIM115 - closed below
    writer = ReportWriter(out, "jsonl")
    start = time.perf_counter()
    for outcome in batch.validate_units(batch.object_units(claims, "bench", batch_size), "fast", workers):
        for report in outcome.reports:
            writer.add(report)
    writer.close()
    elapsed = time.perf_counter() - start
    out.close()
    return elapsed


def main() -> None:
    from server.synth.generator import generate

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=20000, help="claims for the fast engine")
    parser.add_argument("--reference-claims", type=int, default=40, help="claims for the pySHACL runs")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--check", type=int, default=0, help="compare with pySHACL on this many claims")
    parser.add_argument("--stream", type=int, default=0, help="only stream this many claims through the fast engine")
    parser.add_argument("--workers", type=int, default=1, help="validation processes for --stream")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; seed {args.seed}")

    if args.stream:
        from server.validation import batch

        start, done, mark, tree_peak = time.perf_counter(), 0, 0, 0.0
        units = batch.object_units(generate(args.stream, args.seed), "stream", args.batch_size)
        for outcome in batch.validate_units(units, "fast", args.workers):
            done += len(outcome.reports)
            if done >= mark:
                tree = tree_rss_mib()
                tree_peak = max(tree_peak, tree)
                print(f"  {done:>9} claims  {time.perf_counter() - start:8.1f} s  RSS {rss_mib():7.1f} MiB, "
                      f"with workers {tree:7.1f} MiB", flush=True)
                mark += max(args.stream // 20, args.batch_size)
        elapsed = time.perf_counter() - start
        print(f"stream: {done} claims in {elapsed:.1f} s ({done / elapsed:.0f} claims/s); peak RSS "
              f"{peak_mib()[0]:.0f} MiB, with workers {tree_peak:.0f} MiB at the marks")
        return

    claims = list(generate(max(args.claims, args.reference_claims), args.seed))
    sample = claims[:args.reference_claims]
    rows = []

    from server.store import knowledge_store
    from server.validation.engine import Validator
    from server.validation.fast import FastValidator

    store = knowledge_store(shapes=False)
    ref = Validator(store)
    from server.claims.jsonform import claims_from_objects

    graphs = claims_from_objects(sample, "bench", [])
    ref.validate(graphs[:1])
    start = time.perf_counter()
    for g in graphs:
        ref.validate([g])
    per_claim = len(graphs) / (time.perf_counter() - start)
    rows.append(("pySHACL per claim (reference)", len(graphs), per_claim))

    import rdflib

    from server.validation import rdfconv
    from server.validation.engine import pyshacl_validate
    from server.validation.extract import codes_named, extract

    start = time.perf_counter()
    data = rdflib.Graph()
    for t in ref.reference:
        data.add(t)
    codes: set[str] = set()
    for g in graphs:
        rdfconv.add_triples(data, g.triples)
        codes |= codes_named(g.triples)
    rdfconv.add_triples(data, extract(store, codes))
    pyshacl_validate(data, ref.shapes)
    rows.append(("pySHACL per batch", len(graphs), len(graphs) / (time.perf_counter() - start)))

    fast_claims = claims[:args.claims]
    FastValidator(store).validate(graphs[:5])
    one = fast_run(fast_claims, 1, args.batch_size)
    rows.append(("fast engine, 1 process", len(fast_claims), len(fast_claims) / one))
    two = fast_run(fast_claims, 2, args.batch_size)
    rows.append(("fast engine, 2 processes", len(fast_claims), len(fast_claims) / two))

    print(f"\n{'engine':<32} {'claims':>8} {'claims/s':>10} {'x reference':>12}")
    for name, n, rate in rows:
        print(f"{name:<32} {n:>8} {rate:>10.1f} {rate / per_claim:>12.1f}")
    own, child = peak_mib()
    # the workers are the forkserver's children, not ours, so getrusage cannot see them: --stream shows them
    print(f"peak RSS: this process {own:.0f} MiB" + (f", largest worker {child:.0f} MiB" if child else ""))

    if args.check:
        from server.validation.differential import compare_json, fast_json, reference_json

        subset = claims[:args.check]
        start = time.perf_counter()
        n, diffs = compare_json(reference_json(subset, workers=2), fast_json(subset, FastValidator(store)))
        print(f"\ndifferential on {len(subset)} claims: {n} differ ({time.perf_counter() - start:.0f} s)")
        for d in diffs[:5]:
            print(d)


if __name__ == "__main__":
    main()
