"""`m99kg validate FILE|FOLDER…`: validate claims of any format and write the report.

Exit 0: every claim conforms (warnings allowed); 1: a claim has a violation; 2: some input could
not be read (the claims that could are still validated and reported).
"""

from __future__ import annotations

import argparse
import sys

FORMATS = ("json", "jsonld", "turtle", "fhir", "x12")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate claim files and folders (JSON, JSON Lines, JSON-LD, Turtle, "
                                        "FHIR R4, X12 837P)",
                       description="Exit 0: every claim conforms (warnings allowed); 1: a claim has a violation; "
                                   "2: some input could not be read.")
    p.add_argument("files", nargs="+", metavar="PATH", help="claim files, or folders to read recursively")
    p.add_argument("--format", choices=("json", "jsonl", "text", "turtle"), default="text",
                   help="report format: the JSON report, JSON Lines (one claim per line, for large batches), "
                        "a worklist for people, or the SHACL report graph")
    p.add_argument("--input-format", choices=FORMATS, default=None,
                   help="claim format (default: detected from each file's content)")
    p.add_argument("--engine", choices=("fast", "reference"), default="fast",
                   help="fast: the shapes compiled to Oxigraph queries; reference: pySHACL claim by claim")
    p.add_argument("--batch-size", type=int, default=1000, help="claims validated together")
    p.add_argument("--workers", type=int, default=1, help="worker processes (one per core is fastest)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (there is none unless stderr is a "
                                                                "terminal)")
    from server.spark.cli import add_arguments

    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.claims.errors import ClaimInputError
    from server.validation import batch
    from server.validation.output import ReportWriter

    if args.spark or args.output:
        from server.spark.cli import run_spark

        return run_spark(args)
    errors: list[ClaimInputError] = []
    work = batch.units([Path(f) for f in args.files], args.input_format, max(1, args.batch_size), errors,
                       read_workers=args.workers)
    progress = None
    if sys.stderr.isatty() and not args.no_progress:
        from tqdm import tqdm

        progress = tqdm(unit=" claims", file=sys.stderr, dynamic_ncols=True)
    keep_all = args.format in ("text", "turtle")
    writer = None if keep_all else ReportWriter(sys.stdout, args.format)
    reports = []
    for outcome in batch.validate_units(work, args.engine, args.workers if not keep_all else 1):
        errors += outcome.errors
        for report in outcome.reports:
            if writer is not None:
                writer.add(report)
            else:
                reports.append(report)
        if progress is not None:
            progress.update(len(outcome.reports))
    if progress is not None:
        progress.close()
    for exc in errors:
        print(f"m99kg validate: {exc}", file=sys.stderr)
    if writer is not None:
        writer.close([str(e) for e in errors])
        tally = writer.tally
        if tally.claims == 0:
            return 2
        conforms = tally.conforms
    else:
        if not reports:
            return 2
        conforms = _write_whole(reports, args)
    if errors:
        return 2
    return 0 if conforms else 1


def _write_whole(reports: list, args: argparse.Namespace) -> bool:
    """Text worklist or SHACL graph: formats that need the whole report at once."""
    from server.validation.engine import Report
    from server.validation.render import worklist

    if args.format == "text":
        report = Report(reports, lambda: None)
        sys.stdout.write(worklist(report))
        return report.conforms
    from server.store import Store
    from server.validation.compile import compile_shapes
    from server.validation.engine import Validator
    from server.validation.fast import report_graph

    report = Report(reports, lambda: report_graph(reports, compile_shapes(Validator(Store()).shapes)))
    sys.stdout.write(report.graph.serialize(format="turtle"))
    return report.conforms
