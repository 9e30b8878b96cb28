"""`m99kg rules [--markdown]`: list the claim rules (read from the shapes)."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="list the claim rules (from the shapes)")
    p.add_argument("--markdown", action="store_true", help="print the catalogue as Markdown (docs/rules.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from server.validation.catalogue import markdown, rules

    if args.markdown:
        sys.stdout.write(markdown())
        return 0
    for r in rules():
        print(f"{r.severity:<9} {r.id:<34} {r.name}")
    return 0
