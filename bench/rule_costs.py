"""Time each compiled rule of the fast engine over a batch of generated claims.

Shows which rules dominate the fast engine's time and whether a rule's cost grows faster than the
batch (a query Oxigraph plans badly once `$this` is free). Prints seconds per rule for two batch
sizes, the cost in ms per 1,000 claims at the large size, and the per-claim cost ratio between the
sizes (about 1.0 = linear; much more = superlinear). Each time is the best of --repeat runs, since
a shared machine makes single runs noisy.
Run: .venv/bin/python bench/rule_costs.py [--small 100] [--large 1000] [--seed 5] [--top 15] [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from server.claims.jsonform import claims_from_objects
    from server.store import knowledge_store
    from server.synth.generator import generate
    from server.validation.fast import FastValidator

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs per rule and size")
    args = parser.parse_args()
    fast = FastValidator(knowledge_store(shapes=False))
    claims = claims_from_objects(list(generate(args.large, args.seed)), "bench", [])
    timings: dict[int, dict[str, float]] = {}
    for size in (args.small, args.large):
        ws = fast.workspace()
        ws.load(claims[:size])
        timings[size] = {}
        for rule in fast.compilation.rules:
            best = float("inf")
            for _ in range(max(1, args.repeat)):
                start = time.perf_counter()
                for _ in ws.query(rule.query):
                    pass
                best = min(best, time.perf_counter() - start)
            timings[size][rule.rule] = best
        ws.clear()
    small, large = timings[args.small], timings[args.large]
    scale = args.large / args.small
    per_k = 1000 / args.large * 1000  # seconds at the large size -> ms per 1,000 claims
    print(f"{'rule':<34} {args.small:>7} claims {args.large:>7} claims  ms/1k claims  growth per claim")
    for rule in sorted(large, key=large.get, reverse=True)[:args.top]:
        growth = large[rule] / max(small[rule], 1e-6) / scale
        print(f"{rule:<34} {small[rule]:>12.3f}s {large[rule]:>12.3f}s  {large[rule] * per_k:12.1f}  {growth:8.1f}x")
    print(f"{'all rules':<34} {sum(small.values()):>12.3f}s {sum(large.values()):>12.3f}s  "
          f"{sum(large.values()) * per_k:12.1f}  {sum(large.values()) / sum(small.values()) / scale:8.1f}x")
    print(f"per claim at {args.large}: {sum(large.values()) / args.large * 1000:.2f} ms")


if __name__ == "__main__":
    main()
