"""`m99kg serve`: the HTTP service (SPARQL, named queries, code cards, validation, pages)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve SPARQL, named queries, code cards and validation over HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8099)
    where = p.add_mutually_exclusive_group()
    # default None, not "var": argparse would not see `--data var --store URL` as a conflict
    where.add_argument("--data", default=None,
                       help="folder for the on-disk snapshot of the knowledge graphs (default: var)")
    where.add_argument("--store", metavar="URL",
                       help="use this SPARQL 1.1 server as the store instead of a snapshot: URL/query, URL/update "
                            "and URL/store (Oxigraph's layout) unless given below; see docs/remote-store.md")
    p.add_argument("--store-query-url", metavar="URL", help="the remote query endpoint (or M99KG_STORE_QUERY_URL)")
    p.add_argument("--store-update-url", metavar="URL", help="the remote update endpoint (or M99KG_STORE_UPDATE_URL)")
    p.add_argument("--store-gsp-url", metavar="URL",
                   help="the remote Graph Store Protocol endpoint (or M99KG_STORE_GSP_URL)")
    p.add_argument("--no-sync", action="store_true",
                   help="with --store: do not check or upload the knowledge graphs (the store is managed elsewhere)")
    p.add_argument("--timeout", type=float, default=10.0, help="time limit of one query, in seconds")
    p.add_argument("--row-limit", type=int, default=100_000, help="most rows (or triples) one query may return")
    p.add_argument("--query-memory", type=int, default=4096, metavar="MIB",
                   help="memory one query worker may use, in MiB (0: no limit); a query past it gets 503")
    p.add_argument("--workers", type=int, default=2,
                   help="query worker processes (with --store: queries forwarded at once)")
    p.add_argument("--threads", type=int, default=32,
                   help="request threads (concurrent /validate requests on them share one validation batch)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from server.remote.protocol import Endpoints, RemoteError
    from server.sparql.snapshot import StoreBusyError
    from server.web.config import Config
    from server.web.serve import serve

    if args.query_memory != 0 and args.query_memory < 512:
        print("m99kg serve: --query-memory is 0 (no limit) or at least 512 MiB (a worker's query stack is 256 MiB)",
              file=sys.stderr)
        return 2
    if not args.store and (args.store_query_url or args.store_update_url or args.store_gsp_url or args.no_sync):
        print("m99kg serve: --store-*-url and --no-sync need --store URL", file=sys.stderr)
        return 2
    if args.store:
        try:
            Endpoints.from_base(args.store, args.store_query_url, args.store_update_url, args.store_gsp_url)
        except ValueError as exc:
            print(f"m99kg serve: {exc}", file=sys.stderr)
            return 2
    config = Config(host=args.host, port=args.port, data_dir=Path(args.data or "var"), query_timeout=args.timeout,
                    row_limit=args.row_limit, workers=args.workers, threads=args.threads, store_url=args.store,
                    query_memory_mb=args.query_memory,
                    store_query_url=args.store_query_url, store_update_url=args.store_update_url,
                    store_gsp_url=args.store_gsp_url, store_sync=not args.no_sync)
    try:
        serve(config)
    except RemoteError as exc:
        print(f"m99kg serve: cannot use the store: {exc}", file=sys.stderr)
        return 2
    except StoreBusyError as exc:
        print(f"m99kg serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a data folder that cannot be made or read, a port already taken
        print(f"m99kg serve: {exc}", file=sys.stderr)
        return 2
    return 0
