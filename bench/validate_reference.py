"""How fast the reference engine (pySHACL, one claim at a time) validates the example claims.

Validates every claim of examples/ (the clean claim and each rule's fires/passes pair) with all
the rules of shapes/claims-*.ttl and prints claims per second and the per-claim median and p95.
This is the baseline the fast engine (performance issue) is measured against.
Run: .venv/bin/python bench/validate_reference.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from server.claims.readers import read_path
    from server.store import knowledge_store
    from server.validation.engine import Validator, claim_shape_files

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    files = sorted((ROOT / "examples").rglob("*.json"))
    files = [f for f in files if f.name != "expected.json"]
    claims = [c for f in files for c in read_path(f)]
    validator = Validator(knowledge_store(shapes=False))
    validator.validate(claims[:1])  # parse shapes and reference graph once, outside the timing
    times = []
    for _ in range(args.repeat):
        for claim in claims:
            start = time.perf_counter()
            validator.validate([claim])
            times.append(time.perf_counter() - start)
    times.sort()
    print(f"rules: {sum(1 for _ in claim_shape_files())} files; claims: {len(claims)} x {args.repeat}")
    print(f"pySHACL per claim: median {statistics.median(times) * 1000:.0f} ms, "
          f"p95 {times[int(len(times) * 0.95) - 1] * 1000:.0f} ms, {len(times) / sum(times):.2f} claims/s")


if __name__ == "__main__":
    main()
