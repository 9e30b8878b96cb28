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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
