"""`m99kg validate FILE…`: validate claim files and print the report."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate claim files (JSON form, JSON-LD, Turtle)",
                       description="Exit 0: every claim conforms (warnings allowed); 1: a claim has a violation; "
                                   "2: some input could not be read.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=("json", "text", "turtle"), default="text", help="report format")
    p.add_argument("--input-format", choices=("json", "jsonld", "turtle"), default=None,
                   help="claim format (default: detected from the content)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.claims.errors import ClaimInputError
    from server.claims.readers import read_path
    from server.store import knowledge_store
    from server.validation.engine import Validator
    from server.validation.render import worklist

    errors: list[ClaimInputError] = []
    claims = []
    for name in args.files:
        try:
            claims += read_path(Path(name), args.input_format, errors)
        except ClaimInputError as exc:
            errors.append(exc)
    for exc in errors:
        print(f"m99kg validate: {exc}", file=sys.stderr)
    if not claims:
        return 2
    report = Validator(knowledge_store(shapes=False)).validate(claims)
    if args.format == "json":
        json.dump(report.as_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.format == "turtle":
        sys.stdout.write(report.graph.serialize(format="turtle"))
    else:
        sys.stdout.write(worklist(report))
    if errors:
        return 2
    return 0 if report.conforms else 1
