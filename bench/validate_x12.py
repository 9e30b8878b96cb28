"""837P at scale: how fast the X12 reader is, and X12 in -> JSON report out beside JSON in.

Generates seeded synthetic claims (server.synth), keeps those an 837P can carry (no findings, no
visit number: the writer refuses what the format has no element for), and writes them as ONE 837P
interchange (transaction sets of at most --claims-per-set claims, 5,000 as the TR3 recommends),
the same interchange as a single transaction set, and a JSON Lines file. Then prints:

- the reader's stages on that file, in this process: the envelope check, the pyx12 walk, the
  grouping into claims and their JSON objects; claims per second;
- reading the file with its transaction sets read in 2 processes (server.claims.x12_split) beside
  one process, and whether both give the same claims;
- the reader's memory: the peak RSS of a fresh process reading the file, above its RSS before;
- reading a one-claim 837P (a `POST /validate` body) with pyx12's maps kept, and parsed again for
  the file as pyx12 alone does;
- `m99kg validate`'s pipeline (batch.units -> validate_units -> JSON Lines to /dev/null, with as
  many reader processes as workers, as the CLI runs it) on the 837P file, on it as one transaction
  set, on the same claims as a folder of --files smaller 837P files, and on the JSON Lines file,
  with 1 and 2 worker processes; claims per second and the ratio X12 / JSON.

Run: .venv/bin/python bench/validate_x12.py [--claims 10000] [--files 20] [--seed 42] [--batch-size 1000]
     [--claims-per-set 5000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def x12_claims(count: int, seed: int) -> list[dict]:
    """`count` generated claims that an 837P can carry (the generator's others are skipped)."""
    from server.claims.x12_write import writable_claims
    from server.synth.generator import generate

    kept = list(itertools.islice(writable_claims(generate(count * 3, seed)), count))
    if len(kept) < count:
        raise SystemExit(f"only {len(kept)} of {count * 3} generated claims fit an 837P; lower --claims")
    return kept


def reader_stages(text: str) -> dict[str, float]:
    """Seconds per stage of server.claims.x12 on one interchange."""
    from server.claims import x12

    start = time.perf_counter()
    env = x12._envelope(text.lstrip(), "bench.837")
    envelope = time.perf_counter()
    segments = list(x12._walk(text.lstrip(), env, "bench.837"))
    walk = time.perf_counter()
    objects = [x12._claim_object(c, env) for c in x12._group(segments, env, "bench.837")]
    done = time.perf_counter()
    assert objects
    return {"envelope": envelope - start, "pyx12 walk": walk - envelope, "claims": done - walk}


def split_reading(text: str) -> tuple[float, float, bool]:
    """(seconds in one process, seconds with the transaction sets read in 2 processes, same result)."""
    from server.claims.x12 import claim_objects_from_x12
    from server.claims.x12_split import claim_objects_split

    start = time.perf_counter()
    one_errors: list = []
    one = claim_objects_from_x12(text, "bench.837", one_errors)
    middle = time.perf_counter()
    two_errors: list = []
    two = claim_objects_split(text, "bench.837", two_errors, workers=2)
    end = time.perf_counter()
    same = one == two and [str(e) for e in one_errors] == [str(e) for e in two_errors]
    return middle - start, end - middle, same


def one_claim_ms(text: str, repeat: int = 30) -> tuple[float, float]:
    """ms to read a one-claim 837P: with the maps kept, and with them parsed for the file."""
    import pyx12.x12context

    from server.claims import x12

    x12.claim_objects_from_x12(text, "one.837", [])
    real = x12._loaded_maps()._module
    times = []
    for fresh in (False, True):
        start = time.perf_counter()
        for _ in range(repeat):
            if fresh:
                pyx12.x12context.map_if = real  # the next read parses the maps again
            x12.claim_objects_from_x12(text, "one.837", [])
        times.append((time.perf_counter() - start) / repeat * 1000)
    return times[0], times[1]


def _reader_memory(path: str, warm_up: str, answer) -> None:
    from procmem import peak_rss_mib, rss_mib

    from server.claims.x12 import claim_objects_from_x12

    claim_objects_from_x12(warm_up, "warm-up.837", [])  # imports pyx12 and loads its map: not the file's cost
    text = Path(path).read_text(encoding="utf-8")
    before = rss_mib()
    objects, _ = claim_objects_from_x12(text, path, [])
    answer.put((before, peak_rss_mib(), len(objects)))


def reader_memory(path: Path, warm_up: str) -> tuple[float, float, int]:
    """(RSS before reading, peak RSS after, claims read) of a fresh process, MiB."""
    ctx = mp.get_context("spawn")
    answer = ctx.Queue()
    proc = ctx.Process(target=_reader_memory, args=(str(path), warm_up, answer))
    proc.start()
    result = answer.get()
    proc.join()
    return result


def pipeline(path: Path, workers: int, batch_size: int) -> tuple[float, int, int]:  # path: a file or folder
    """(seconds, reports, input errors) of batch validation of one file, reports written as JSON Lines."""
    from server.claims.errors import ClaimInputError
    from server.validation import batch
    from server.validation.output import ReportWriter

    errors: list[ClaimInputError] = []
    reports = 0
    with open(os.devnull, "w") as out:
        writer = ReportWriter(out, "jsonl")
        start = time.perf_counter()
        work = batch.units([path], None, batch_size, errors, read_workers=workers)
        for outcome in batch.validate_units(work, "fast", workers):
            errors += outcome.errors
            for report in outcome.reports:
                writer.add(report)
                reports += 1
        writer.close()
        return time.perf_counter() - start, reports, len(errors)


def main() -> None:
    from server.claims.x12_write import CLAIMS_PER_SET, write_837p

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--files", type=int, default=20, help="the claims also as this many 837P files")
    parser.add_argument("--claims-per-set", type=int, default=CLAIMS_PER_SET, help="claims per transaction set")
    args = parser.parse_args()
    claims = x12_claims(args.claims, args.seed)
    with tempfile.TemporaryDirectory(prefix="m99kg-x12-") as tmp:
        x12_path, json_path = Path(tmp) / "claims.837", Path(tmp) / "claims.jsonl"
        text = write_837p(claims, claims_per_set=args.claims_per_set)
        x12_path.write_text(text, encoding="utf-8")
        one_set = Path(tmp) / "one-set.837"
        one_set.write_text(write_837p(claims, claims_per_set=len(claims)), encoding="utf-8")
        json_path.write_text("".join(json.dumps(c) + "\n" for c in claims), encoding="utf-8")
        folder = Path(tmp) / "files"
        folder.mkdir()
        per_file = -(-len(claims) // args.files)
        for n, start in enumerate(range(0, len(claims), per_file)):
            (folder / f"claims-{n:04d}.837").write_text(write_837p(claims[start:start + per_file]), encoding="utf-8")
        size = len(text.encode()) / 2**20
        print(f"machine: {os.cpu_count()} cores; seed {args.seed}; {len(claims)} claims, one 837P interchange of "
              f"{size:.1f} MiB ({text.count('~')} segments, {text.count('ST*837*')} transaction sets)")

        stages = reader_stages(text)
        total = sum(stages.values())
        print("\nthe X12 reader (server.claims.x12), one process:")
        for name, seconds in stages.items():
            print(f"  {name:<12} {seconds:7.2f} s  {seconds / len(claims) * 1000:6.3f} ms per claim")
        print(f"  {'total':<12} {total:7.2f} s  {len(claims) / total:6.0f} claims/s")
        one_process, two_processes, same = split_reading(text)
        print(f"  read in one process: {one_process:.2f} s ({len(claims) / one_process:.0f} claims/s); its transaction "
              f"sets in 2 processes: {two_processes:.2f} s ({len(claims) / two_processes:.0f} claims/s, "
              f"×{one_process / two_processes:.2f}); the same claims, wheres and errors: {same}")
        kept, fresh = one_claim_ms(write_837p(claims[:1]))
        print(f"  one-claim file: {kept:.1f} ms with pyx12's maps kept, {fresh:.1f} ms parsing them for the file")
        before, peak, read = reader_memory(x12_path, write_837p(claims[:1]))
        print(f"  memory: a fresh process reading the file peaks {peak - before:.0f} MiB above its RSS before "
              f"({before:.0f} -> {peak:.0f} MiB; {(peak - before) / size:.1f} MiB per MiB of X12; {read} claims)")

        one = Path(tmp) / "one.jsonl"
        one.write_text(json.dumps(claims[0]) + "\n", encoding="utf-8")
        print(f"\nbatch validation, file in -> JSON Lines report out (batches of {args.batch_size}); claims/s "
              "leaves out the start-up (loading the knowledge in each worker: one claim's run)")
        print(f"  {'input':<12} {'workers':>7} {'start-up':>8} {'seconds':>8} {'claims/s':>9} {'reports':>8} "
              f"{'errors':>7}")
        rates: dict[tuple[str, int], float] = {}
        for workers in (1, 2):
            startup = pipeline(one, workers, args.batch_size)[0]
            for name, path in (("JSON Lines", json_path), ("837P", x12_path), ("837P 1 set", one_set),
                               (f"837P ×{args.files}", folder)):
                seconds, reports, errors = pipeline(path, workers, args.batch_size)
                rates[name, workers] = reports / max(seconds - startup, 1e-9)
                print(f"  {name:<12} {workers:>7} {startup:8.1f} {seconds:8.1f} {rates[name, workers]:9.0f} "
                      f"{reports:>8} {errors:>7}")
        for workers in (1, 2):
            for name in ("837P", "837P 1 set", f"837P ×{args.files}"):
                ratio = rates[name, workers] / rates["JSON Lines", workers]
                print(f"  {name} / JSON Lines, {workers} worker(s): {ratio:.2f}")


if __name__ == "__main__":
    main()
