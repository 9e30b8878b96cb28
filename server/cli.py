"""The `m99kg` command line. Thin: parse arguments, call the library, print, choose the exit code.

Exit codes: 0 success, 1 a finding (reserved for validation), 2 bad input or a failed build.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from server.codes import CodeFormatError


def _cmd_build(args: argparse.Namespace) -> int:
    from server.build import pipeline
    from server.build.m99module import BuildError

    try:
        if args.check:
            stale = pipeline.check()
            if stale:
                print("out of date: " + ", ".join(stale) + " (run `m99kg build`)", file=sys.stderr)
                return 2
            print("generated files are up to date")
            return 0
        counts = pipeline.build()
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 2
    for name, n in counts.items():
        print(f"{name}: {n} triples")
    return 0


def _cmd_code(args: argparse.Namespace) -> int:
    from server.codecard import CodeCards, UnknownCodeError
    from server.codecard_text import render
    from server.store import knowledge_store

    cards = CodeCards.over(knowledge_store(shapes=False))
    status = 0
    rendered = []
    for text in args.codes:
        try:
            card = cards.card(text)
        except (CodeFormatError, UnknownCodeError) as exc:
            print(f"m99kg code: {exc}", file=sys.stderr)
            status = 2
            continue
        rendered.append(card)
        if not args.json:
            sys.stdout.write(render(card))
    if args.json and rendered:
        json.dump(rendered[0] if len(rendered) == 1 else rendered, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    return status


def _cmd_validate(args: argparse.Namespace) -> int:
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


def _cmd_rules(args: argparse.Namespace) -> int:
    from server.validation.catalogue import markdown, rules

    if args.markdown:
        sys.stdout.write(markdown())
        return 0
    for r in rules():
        print(f"{r.severity:<9} {r.id:<34} {r.name}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.web.config import Config
    from server.web.serve import serve

    serve(Config(host=args.host, port=args.port, data_dir=Path(args.data), query_timeout=args.timeout,
                 row_limit=args.row_limit, workers=args.workers))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="m99kg", description="ICD-10-CM M99 knowledge graph")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="regenerate ontology/generated/ from the official sources")
    p.add_argument("--check", action="store_true", help="only report whether the generated files are current")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("code", help="print the code card of ICD-10-CM codes")
    p.add_argument("codes", nargs="+", metavar="CODE", help="a code, with or without the dot (M99.04, M9904)")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(func=_cmd_code)

    p = sub.add_parser("validate", help="validate claim files (JSON form, JSON-LD, Turtle)",
                       description="Exit 0: every claim conforms (warnings allowed); 1: a claim has a violation; "
                                   "2: some input could not be read.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=("json", "text", "turtle"), default="text", help="report format")
    p.add_argument("--input-format", choices=("json", "jsonld", "turtle"), default=None,
                   help="claim format (default: detected from the content)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("rules", help="list the claim rules (from the shapes)")
    p.add_argument("--markdown", action="store_true", help="print the catalogue as Markdown (docs/rules.md)")
    p.set_defaults(func=_cmd_rules)

    p = sub.add_parser("serve", help="serve SPARQL, named queries, code cards and validation over HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8099)
    p.add_argument("--data", default="var", help="folder for the on-disk snapshot of the knowledge graphs")
    p.add_argument("--timeout", type=float, default=10.0, help="time limit of one query, in seconds")
    p.add_argument("--row-limit", type=int, default=100_000, help="most rows (or triples) one query may return")
    p.add_argument("--workers", type=int, default=2, help="query worker processes")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
