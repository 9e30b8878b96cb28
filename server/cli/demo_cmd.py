"""`m99kg demo`: the whole path in one command, for a newcomer.

Generates seeded synthetic claims (a realistic mix of correct and faulty ones), validates them with
the fast engine, loads claims and results into an embedded store (in memory, or --data DIR), and
prints the answers of a few analytics queries, each with the command that asks it again.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

SHOWN = (("violations-by-rule", 10), ("denial-risk-by-month", 12), ("violations-by-provider", 5),
         ("cmt-level-vs-regions", 10))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="generate claims, validate and load them, and print analytics answers")
    p.add_argument("--count", type=int, default=2000, help="claims to generate (default 2000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--data", default=None, help="load into this data folder (default: an in-memory store)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pyoxigraph as ox

    from server.store import Store, knowledge_store

    if args.count < 1:
        print("m99kg demo: --count must be at least 1", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with contextlib.ExitStack() as held:
        if args.data:  # written to: under the folder's exclusive lock, as a load
            from pathlib import Path

            from server.sparql.snapshot import data_folder

            try:
                snapshot = held.enter_context(data_folder(Path(args.data), exclusive=True))
            except (OSError, RuntimeError) as exc:  # a busy folder (StoreBusyError), an unwritable place
                print(f"m99kg demo: {exc}", file=sys.stderr)
                return 2
            store = Store(oxstore=ox.Store(str(snapshot)))
        else:
            store = knowledge_store()
        print(f"knowledge loaded in {time.perf_counter() - started:.1f} s")
        return _demo(args, store)


def _demo(args: argparse.Namespace, store) -> int:
    from server.cli.query_cmd import table
    from server.loading import load_outcomes
    from server.namedqueries import load_queries
    from server.store import Store
    from server.synth.generator import generate
    from server.validation import batch
    from server.validation.fast import FastValidator

    started = time.perf_counter()
    validator = FastValidator(Store(oxstore=store.ox))
    outcomes = batch.validate_units(batch.object_units(generate(args.count, args.seed), "generated", 250),
                                    validator=validator, keep_claims=True)
    summary = load_outcomes(outcomes, store.ox)
    elapsed = time.perf_counter() - started
    print(f"generated, validated and loaded {summary.claims} claims ({summary.results} rule results) in "
          f"{elapsed:.1f} s, {summary.claims / elapsed:.0f} claims/s\n")
    queries = load_queries()
    for name, limit in SHOWN:
        result = store.ox.query(queries[name].bind({}), use_default_graph_as_union=True)
        variables = [v.value for v in result.variables]
        rows = [[row[v] for v in variables] for row in result]
        print(f"== {name}: {queries[name].summary}")
        print(table(variables, rows[:limit]), end="")
        more = f" (first {limit} of {len(rows)})" if len(rows) > limit else ""
        again = f"m99kg query {name} --data {args.data}" if args.data else f"GET /queries/{name} (after m99kg load)"
        print(f"   again{more}: {again}\n")
    if args.data:
        store.ox.flush()
    return 0
