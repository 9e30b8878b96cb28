"""`m99kg load PATH… [--data DIR | --store URL] [--spark MASTER]`: validate claims and store them with their results.

Exit 0 when every claim loaded (whatever its findings), 2 when some input could not be read (the
claims that could are loaded) or the store cannot be written.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from server.cli.validate_cmd import FORMATS

if TYPE_CHECKING:
    import pyoxigraph as ox


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("load", help="validate claims and store claims and results for analytics",
                       description="Each batch is one transaction; loading a claim again replaces it.")
    p.add_argument("files", nargs="+", metavar="PATH", help="claim files, or folders to read recursively")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--data", default="var", help="the service's data folder (embedded store; default var)")
    where.add_argument("--store", metavar="URL", help="a SPARQL 1.1 server (Oxigraph layout: URL/query, "
                                                      "URL/update, URL/store)")
    p.add_argument("--no-store-content", action="store_true",
                   help="keep only codes, dates, payer, provider and results: no patient, no findings")
    p.add_argument("--input-format", choices=FORMATS, default=None)
    p.add_argument("--batch-size", type=int, default=1000, help="claims per transaction")
    p.add_argument("--workers", type=int, default=1, help="validation processes (one per core is fastest)")
    p.add_argument("--bulk", action="store_true",
                   help="first load into a data folder without claims, through Oxigraph's bulk loader: several "
                        "times faster for large backfills, but NOT transactional (an interrupted bulk load leaves "
                        "part of the claims)")
    from server.spark.load import add_arguments

    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.claims.errors import ClaimInputError
    from server.loading import StoreNotEmptyError, load_outcomes
    from server.remote.protocol import RemoteError
    from server.validation import batch

    if args.bulk and (args.store or args.spark):
        print("m99kg load: --bulk loads an embedded data folder (--data), without --store or --spark", file=sys.stderr)
        return 2
    if args.store:  # a bad URL or incomplete credentials: say so before any claim is read
        from server.remote.protocol import Endpoints

        try:
            Endpoints.from_base(args.store)
        except ValueError as exc:
            print(f"m99kg load: {exc}", file=sys.stderr)
            return 2
    if args.spark or args.spark_conf or args.partitions is not None:
        from server.spark.load import run_spark_load

        return run_spark_load(args)
    errors: list[ClaimInputError] = []
    work = batch.units([Path(f) for f in args.files], args.input_format, max(1, args.batch_size), errors,
                       read_workers=args.workers)
    outcomes = batch.validate_units(work, "fast", args.workers, keep_claims=True)

    def collect(stream):
        for outcome in stream:
            errors.extend(outcome.errors)
            yield outcome

    started = time.perf_counter()
    try:
        if args.store:
            from server.remote.store import RemoteStore

            summary = load_outcomes(collect(outcomes), RemoteStore.at(args.store, timeout=600),
                                    not args.no_store_content)
        else:
            summary = _load_embedded(Path(args.data), collect(outcomes), not args.no_store_content, args.bulk)
    except (OSError, RuntimeError, RemoteError, StoreNotEmptyError) as exc:  # a busy folder, the store's I/O errors
        print(f"m99kg load: {exc}", file=sys.stderr)
        return 2
    for exc in errors:
        print(f"m99kg load: {exc}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    unit = "batches (bulk load)" if args.bulk else "transactions"
    print(f"loaded {summary.claims} claims with {summary.results} results in {summary.batches} {unit} "
          f"({summary.triples} triples, {elapsed:.1f} s, {summary.claims / max(elapsed, 1e-9):.0f} claims/s)")
    return 2 if errors else 0


def _load_embedded(directory, outcomes, store_content: bool, bulk: bool = False):
    from server.loading import bulk_load_outcomes, load_outcomes

    with embedded_store(directory) as store:
        return (bulk_load_outcomes if bulk else load_outcomes)(outcomes, store, store_content)


@contextlib.contextmanager
def embedded_store(directory: Path) -> Iterator[ox.Store]:
    """The data folder's store, opened for writing under its exclusive lock (flushed and closed at the end)."""
    import pyoxigraph as ox

    from server.sparql.snapshot import data_folder

    with data_folder(directory, exclusive=True) as snapshot:
        store = ox.Store(str(snapshot))
        try:
            yield store
        finally:
            store.flush()
            del store
