"""`m99kg serve`: the HTTP service (SPARQL, named queries, code cards, validation, pages)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve SPARQL, named queries, code cards and validation over HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8099)
    p.add_argument("--data", default="var", help="folder for the on-disk snapshot of the knowledge graphs")
    p.add_argument("--timeout", type=float, default=10.0, help="time limit of one query, in seconds")
    p.add_argument("--row-limit", type=int, default=100_000, help="most rows (or triples) one query may return")
    p.add_argument("--workers", type=int, default=2, help="query worker processes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.web.config import Config
    from server.web.serve import serve

    serve(Config(host=args.host, port=args.port, data_dir=Path(args.data), query_timeout=args.timeout,
                 row_limit=args.row_limit, workers=args.workers))
    return 0
