"""The differential check at scale: the fast engine's reports against pySHACL's, claim by claim.

pySHACL needs 0.5 to 0.8 s per generated claim per core (125 to 210 s per chunk of 500 on two cores,
by machine), so 100,000 claims take 7 to 11 hours here. The check is therefore resumable:
the seeded claims are cut into chunks, pySHACL's per-claim JSON reports of each finished chunk are
kept in --cache DIR (one JSON Lines file per chunk, written atomically), and a later run skips the
chunks already there. A chunk file records a fingerprint of everything the reference's report
depends on (the knowledge graphs and shapes, the claim reading rules and context, the validation
and reading code, the pySHACL and rdflib versions) and of its claims; a chunk whose fingerprint no
longer matches is computed again.

The cache is large and lives on one machine; the ledger (--ledger, bench/differential-ledger.jsonl
in the repository) travels with the code. It records, for every reference chunk computed, the
chunk's key (the fingerprint and its claims) and the SHA-256 of pySHACL's reports as written in
the cache. A chunk recorded there but not in the cache is not computed again: the fast engine's
reports of its claims, written the same way, must have the same digest (a different digest is a
difference; --ignore-ledger computes such chunks again to show it). Entries of another fingerprint
are dropped when the ledger is next written: they are about sources that no longer exist.

Each run: computes reference chunks until --minutes is up (0: none, only compare), then validates
every cached or recorded chunk's claims with the fast engine in batches of 1,000 and compares the
reports exactly (focus nodes, rules, severities, codes, messages): claim by claim against the
cache, by digest against the ledger. Prints the claims checked, the claims that differ (and the
first differences), and how often each rule fired in the checked claims. Exit 1 when any differ.

Run: .venv/bin/python bench/differential.py --claims 100000 --cache /work/differential [--minutes 60]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import itertools
import json
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# What the reference's report on generated claims depends on besides the knowledge files
# (server.resources.knowledge_files): the claim context and reading rules, and every module of server/
# that the reference path imports (generate -> claims_from_objects -> pySHACL -> JSON report), so that
# a change to, say, the FHIR or X12 reader does not throw away hours of cached reference reports.
# tests/test_bench_differential.py fails when the reference path imports a module not listed here.
_SOURCES = ["ontology/claim-context.jsonld", "ontology/claim-rules",
            "server/__init__.py", "server/namespaces.py", "server/resources.py", "server/store.py",
            "server/claims/__init__.py", "server/claims/errors.py", "server/claims/graph.py",
            "server/claims/jsonform.py",
            "server/validation/__init__.py", "server/validation/engine.py", "server/validation/extract.py",
            "server/validation/rdfconv.py", "server/validation/output.py", "server/validation/differential.py",
            "server/validation/querycache.py", "server/synth"]
#: imported on that path only for the fast engine's side of the comparison, which is not cached
FAST_SIDE = ["server/validation/fast.py", "server/validation/compile.py"]


def reference_fingerprint() -> str:
    from server import resources

    h = hashlib.sha256()
    files = [path for path, _graph in resources.knowledge_files()]
    for name in _SOURCES:
        path = ROOT / name
        files += sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if path.is_dir() else [path]
    for path in files:
        h.update(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}\0".encode())
        h.update(path.read_bytes())
    h.update(f"pyshacl {version('pyshacl')} rdflib {version('rdflib')}".encode())
    return h.hexdigest()


def chunk_key(fingerprint: str, objects: list[dict]) -> str:
    h = hashlib.sha256(fingerprint.encode())
    for obj in objects:
        h.update(json.dumps(obj, sort_keys=True).encode())
    return h.hexdigest()


def read_chunk(path: Path, key: str) -> list[dict] | None:
    """The cached reference reports of a chunk, or None when missing or stale."""
    try:
        with path.open(encoding="utf-8") as fh:
            head = json.loads(fh.readline())
            if head.get("key") != key:
                return None
            return [json.loads(line) for line in fh]
    except (OSError, ValueError):
        return None


def report_lines(reports: list[dict]) -> list[str]:
    """Reports as the cache writes them, one JSON text per claim (the digest is taken over these)."""
    return [json.dumps(report, ensure_ascii=False, sort_keys=True) + "\n" for report in reports]


def digest(reports: list[dict]) -> str:
    h = hashlib.sha256()
    for line in report_lines(reports):
        h.update(line.encode())
    return h.hexdigest()


def write_chunk(path: Path, key: str, reports: list[dict]) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"key": key, "claims": len(reports)}) + "\n")
        fh.writelines(report_lines(reports))
    tmp.replace(path)


def read_ledger(path: Path) -> dict[str, dict]:
    """Chunk key -> ledger entry ({"chunk", "seed", "claims", "key", "fingerprint", "sha256"})."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    entries = {}
    for number, line in enumerate(text.splitlines(), 1):
        try:
            entry = json.loads(line)
            entries[entry["key"]] = entry
        except (ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}:{number}: not a ledger entry ({exc})") from None
    return entries


def write_ledger(path: Path, entries: dict[str, dict], fingerprint: str) -> None:
    """The entries of `fingerprint`, ordered by seed and chunk, written atomically. Entries another run
    wrote to the file since this one read it are kept (two runs may share a checkout)."""
    entries = {**read_ledger(path), **entries}
    keep = sorted((e for e in entries.values() if e["fingerprint"] == fingerprint),
                  key=lambda e: (e["seed"], e["chunk"]))
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in keep), encoding="utf-8")
    tmp.replace(path)


def ledger_entry(fingerprint: str, seed: int, chunk: int, key: str, reports: list[dict]) -> dict:
    return {"chunk": chunk, "seed": seed, "claims": len(reports), "key": key, "fingerprint": fingerprint,
            "sha256": digest(reports)}


def main() -> int:
    from server.store import knowledge_store
    from server.synth.generator import generate
    from server.validation.differential import compare_json, fast_json, reference_runner
    from server.validation.fast import FastValidator

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk", type=int, default=500, help="claims per cached reference chunk")
    parser.add_argument("--cache", type=Path, required=True, help="folder of the reference chunks (kept)")
    parser.add_argument("--ledger", type=Path, default=ROOT / "bench" / "differential-ledger.jsonl",
                        help="digests of the reference chunks computed so far (kept in the repository)")
    parser.add_argument("--ignore-ledger", action="store_true",
                        help="compute again the chunks that are only in the ledger")
    parser.add_argument("--minutes", type=float, default=60.0, help="time for new reference chunks in this run")
    parser.add_argument("--workers", type=int, default=2, help="pySHACL processes")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    fingerprint = reference_fingerprint()
    claims = generate(args.claims, args.seed)
    chunks = []
    while batch := list(itertools.islice(claims, args.chunk)):
        chunks.append(batch)
    keys = [chunk_key(fingerprint, c) for c in chunks]
    paths = [args.cache / f"seed{args.seed}-chunk{i:05d}.jsonl" for i in range(len(chunks))]
    cached = {i: reports for i in range(len(chunks)) if (reports := read_chunk(paths[i], keys[i])) is not None}
    ledger = read_ledger(args.ledger)
    unrecorded = [i for i in sorted(cached) if keys[i] not in ledger]
    for i in unrecorded:  # computed by a run that had no ledger, or by another checkout
        ledger[keys[i]] = ledger_entry(fingerprint, args.seed, i, keys[i], cached[i])
    if unrecorded:
        write_ledger(args.ledger, ledger, fingerprint)
    recorded = set() if args.ignore_ledger else \
        {i for i in range(len(chunks)) if keys[i] in ledger and i not in cached}
    print(f"{args.claims} claims (seed {args.seed}) in {len(chunks)} chunks of {args.chunk}; "
          f"{len(cached)} chunks cached in {args.cache}, {len(recorded)} more recorded in {args.ledger}",
          flush=True)

    deadline = time.monotonic() + args.minutes * 60
    todo = [i for i in range(len(chunks)) if i not in cached and i not in recorded]
    if todo and args.minutes > 0:
        with reference_runner(args.workers, chunk=25) as reference_json:
            for i in todo:
                if time.monotonic() >= deadline:
                    break
                start = time.perf_counter()
                reports = reference_json(chunks[i])
                write_chunk(paths[i], keys[i], reports)
                ledger[keys[i]] = ledger_entry(fingerprint, args.seed, i, keys[i], reports)
                write_ledger(args.ledger, ledger, fingerprint)
                cached[i] = reports
                print(f"  reference chunk {i}: {len(chunks[i])} claims in {time.perf_counter() - start:.0f} s "
                      f"({len(cached) + len(recorded)}/{len(chunks)} chunks)", flush=True)

    done = sorted(cached.keys() | recorded)
    objects = [obj for i in done for obj in chunks[i]]
    start = time.perf_counter()
    fast_all = fast_json(objects, FastValidator(knowledge_store(shapes=False)))
    rate = len(objects) / (time.perf_counter() - start)
    fast_all = [json.loads(json.dumps(r, ensure_ascii=False, sort_keys=True)) for r in fast_all]  # as cached
    n, diffs, bad, fired, clean, offset = 0, [], [], collections.Counter(), 0, 0
    for i in done:
        fast = fast_all[offset:offset + len(chunks[i])]
        offset += len(chunks[i])
        if i in cached:
            reference = cached[i]
            m, d = compare_json(reference, fast)
            n, diffs = n + m, diffs + d
        elif digest(fast) == ledger[keys[i]]["sha256"]:
            reference = fast  # the same reports, byte for byte
        else:
            bad.append(i)
            diffs.append(f"chunk {i}: the fast engine's reports differ from pySHACL's recorded in the ledger "
                         f"(run with --ignore-ledger to compute the chunk again and see the claims)")
            continue
        fired.update(r["rule"] for report in reference for r in report["results"])
        clean += sum(1 for report in reference if not report["results"])
    print(f"\ndifferential: {len(objects)} of {args.claims} claims checked ({len(done)} chunks: "
          f"{len(cached)} against pySHACL's reports in the cache, {len(recorded)} against the ledger's digests), "
          f"{n} differ{f' and {len(bad)} recorded chunks differ' if bad else ''}; "
          f"fast engine {rate:.0f} claims/s on one process")
    print(f"claims without any result: {clean}; rules that fired: {len(fired)}")
    for rule, count in sorted(fired.items()):
        print(f"  {rule:<40} {count:>7}")
    for d in diffs[:5]:
        print(d)
    return 1 if n or bad else 0


if __name__ == "__main__":
    sys.exit(main())
