"""`m99kg code CODE… [--json]`: print code cards."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("code", help="print the code card of ICD-10-CM codes")
    p.add_argument("codes", nargs="+", metavar="CODE", help="a code, with or without the dot (M99.04, M9904)")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from server.codecard import CodeCards, UnknownCodeError
    from server.codecard_text import render
    from server.codes import CodeFormatError
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
