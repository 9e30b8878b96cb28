"""`m99kg build [--check]`: regenerate ontology/generated/ from the official sources."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="regenerate ontology/generated/ from the official sources")
    p.add_argument("--check", action="store_true", help="only report whether the generated files are current")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
