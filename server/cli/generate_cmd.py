"""`m99kg generate`: seeded synthetic claims (clean and faulty) as JSON, JSON Lines, FHIR or 837P."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import sys
from pathlib import Path

#: FHIR and 837P hold a whole batch in memory; beyond this many claims --per-file is required
MAX_SINGLE_BATCH = 100_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate synthetic claims (seeded; a share of them faulty)",
                       description="Generate seeded synthetic claims: realistic clean claims and, with probability "
                                   "--fault-rate, claims with faults that named rules report. The same seed gives the "
                                   "same output, byte for byte.")
    p.add_argument("--count", type=int, required=True, help="number of claims")
    p.add_argument("--seed", type=int, required=True, help="random seed (same seed, same claims)")
    p.add_argument("--fault-rate", type=float, default=0.35, help="share of faulty claims, 0-1 (default 0.35)")
    p.add_argument("--format", choices=("json", "jsonl", "fhir", "x12"), default="json", help="output format")
    p.add_argument("--out", help="output file, or folder with --per-file (default: standard output)")
    p.add_argument("--per-file", type=int, metavar="K", help="write files of K claims each into the --out folder")
    p.add_argument("--labels", metavar="FILE",
                   help="also write JSON Lines {id, rules, operators}: the rules each claim's faults should trigger")
    p.add_argument("--start", default=None, help="first service date YYYY-MM-DD (default 2024-10-01)")
    p.add_argument("--span-days", type=int, default=None, help="days over which service dates spread (default 540)")
    p.add_argument("--providers", type=int, default=60, help="size of the provider pool (default 60)")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"m99kg generate: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from server.synth.generator import generate_detailed
    from server.synth.writers import FORMATS, FormatUnavailable, check_available

    if args.count < 0:
        return _fail(f"--count: expected a non-negative number, got {args.count}")
    if not 0.0 <= args.fault_rate <= 1.0:
        return _fail(f"--fault-rate: expected a number from 0 to 1, got {args.fault_rate}")
    if args.per_file is not None and (args.per_file < 1 or not args.out):
        return _fail("--per-file K needs K >= 1 and --out FOLDER")
    ext, write, streams = FORMATS[args.format]
    if not streams and args.per_file is None and args.count > MAX_SINGLE_BATCH:
        return _fail(f"--format {args.format} holds a whole batch in memory: for more than {MAX_SINGLE_BATCH:,} "
                     "claims use --per-file K --out FOLDER")
    options: dict = {"providers": args.providers}
    if args.start:
        try:
            options["start_date"] = dt.date.fromisoformat(args.start)
        except ValueError:
            return _fail(f"--start: {args.start!r} is not a date YYYY-MM-DD")
    if args.span_days is not None:
        options["span_days"] = args.span_days
    try:
        check_available(args.format)
        stream = generate_detailed(args.count, args.seed, args.fault_rate, **options)
    except (FormatUnavailable, ValueError) as exc:
        return _fail(str(exc))

    left_out = 0
    if args.format == "x12":
        # some faults have no place in an 837P (a 13th diagnosis, a 5th pointer, a claim without
        # lines): such claims are left out of X12 output, and counted, rather than ending the run
        from server.claims.x12_write import refusal

        def writable(items):
            nonlocal left_out
            for s in items:
                if refusal(s.claim) is None:
                    yield s
                else:
                    left_out += 1

        stream = writable(stream)

    labels = open(args.labels, "w", encoding="utf-8") if args.labels else None  # noqa: SIM115
    faulty = 0

    def claims(items):
        nonlocal faulty
        for s in items:
            if s.rules:
                faulty += 1
            if labels:
                labels.write(json.dumps({"id": s.claim["id"], "rules": list(s.rules), "operators": list(s.operators)},
                                        separators=(",", ":")) + "\n")
            yield s.claim

    try:
        if args.per_file is not None:
            folder = Path(args.out)
            folder.mkdir(parents=True, exist_ok=True)
            written = files = 0
            it = iter(stream)
            while True:
                chunk = list(itertools.islice(it, args.per_file))
                if not chunk and files:
                    break
                files += 1
                with open(folder / f"claims-{files:05d}{ext}", "w", encoding="utf-8", newline="") as out:
                    written += write(claims(chunk), out)
                if len(chunk) < args.per_file:
                    break
            where = f"{files} file(s) in {folder}"
        elif args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as out:
                written = write(claims(stream), out)
            where = args.out
        else:
            written = write(claims(stream), sys.stdout)
            sys.stdout.flush()
            where = "standard output"
    except FormatUnavailable as exc:
        return _fail(str(exc))
    except ValueError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or args.out}: {exc.strerror}")
    finally:
        if labels:
            labels.close()
    skipped = (f"; {left_out} generated claims were left out because an 837P cannot carry them "
               "(more than 12 diagnoses, more than 4 pointers on a line...)") if left_out else ""
    print(f"m99kg generate: {written} claims ({faulty} with faults) to {where}{skipped}", file=sys.stderr)
    return 0
