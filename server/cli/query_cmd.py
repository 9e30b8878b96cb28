"""`m99kg query NAME [--param k=v ...] [--format table|csv|json] [--list]`: run a named query.

The same named queries as GET /queries/<name> (queries/*.rq), run over an in-memory knowledge
store, so an analyst gets the answer without starting the service. Parameters are bound exactly
as the service binds them (typed terms, never spliced text); csv and json are the SPARQL 1.1 CSV
and JSON results the service sends, written by the same code. The table is for reading: IRIs
shortened with the project prefixes, long cells cut (use csv or json for the full text).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import textwrap

import pyoxigraph as ox

from server.namespaces import PREFIXES

FORMATS = ("table", "csv", "json")
#: Table cells longer than this are cut with an ellipsis; csv and json keep everything.
MAX_CELL = 60


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("query", help="run a named SPARQL query of queries/ (--list shows them)",
                       description="Run a named query over the knowledge graph. Exit 2 for an unknown "
                                   "query or a missing or bad parameter.")
    p.add_argument("name", nargs="?", metavar="NAME", help="the query's name (see --list)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="K=V",
                   help="a parameter value; repeat for several parameters (a list parameter may be given "
                        "as k=a,b,c or repeated)")
    p.add_argument("--format", "-f", choices=FORMATS, default="table",
                   help="table (default, for reading), csv (SPARQL CSV results), json (SPARQL JSON results)")
    p.add_argument("--list", action="store_true", help="list the named queries with their parameters and exit")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="query this data folder (knowledge and the claims and results `m99kg load` stored there); "
                        "default: the knowledge graph in memory")
    p.set_defaults(func=run)


class UsageError(ValueError):
    """Bad command-line input: reported on stderr with exit 2."""


def parse_params(pairs: list[str], list_params: set[str]) -> dict[str, str]:
    """`k=v` strings to a dict; a list parameter given more than once collects its values."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--param {pair!r}: expected NAME=VALUE")
        if key in values:
            if key not in list_params:
                raise UsageError(f"--param {key} is given twice")
            values[key] = f"{values[key]},{value}"
        else:
            values[key] = value
    return values


def run(args: argparse.Namespace) -> int:
    from server.namedqueries import LIST_SUFFIX, ParameterError, QueryDefinitionError, load_queries

    try:
        queries = load_queries()
    except QueryDefinitionError as exc:
        return _fail(str(exc))
    if args.list:
        sys.stdout.write(listing(queries))
        return 0
    if not args.name:
        return _fail("name a query (m99kg query --list shows them)")
    named = queries.get(args.name)
    if named is None:
        return _fail(f"no query named {args.name!r}; known: {', '.join(sorted(queries))}")
    try:
        values = parse_params(args.param, {p.name for p in named.params if p.type.endswith(LIST_SUFFIX)})
        sparql = named.bind(values)
    except (UsageError, ParameterError) as exc:
        return _fail(str(exc))

    with contextlib.ExitStack() as held:
        try:
            store = _store(args.data, held)
        except (OSError, RuntimeError) as exc:  # RuntimeError: StoreBusyError, a load is writing the folder
            return _fail(f"cannot open {args.data}: {exc}")
        return _answer(store, sparql, args)


def _answer(store: ox.Store, sparql: str, args: argparse.Namespace) -> int:
    from server.sparql import results as res

    result = store.query(sparql, use_default_graph_as_union=True, prefixes=PREFIXES)
    if isinstance(result, ox.QueryBoolean):
        out = res.write_ask(bool(result), "json" if args.format == "json" else "csv")
        sys.stdout.write(out.decode())
        return 0
    if not isinstance(result, ox.QuerySolutions):  # CONSTRUCT or DESCRIBE: a graph, written as Turtle
        sys.stdout.write(res.write_graph(list(result), ox.RdfFormat.TURTLE).decode())
        return 0
    variables = [v.value for v in result.variables]
    rows = [[solution[v] for v in variables] for solution in result]
    if args.format == "table":
        sys.stdout.write(table(variables, rows))
    else:
        sys.stdout.write(res.write_select(variables, rows, args.format).decode())
        if args.format == "json":
            sys.stdout.write("\n")
    return 0


def _store(data: str | None, held: contextlib.ExitStack) -> ox.Store:
    """The loaded data folder opened read-only, under its shared lock until `held` closes (a running
    service may share it; a load may not write it meanwhile), or the knowledge in memory."""
    if data is None:
        from server.store import knowledge_store

        return knowledge_store(shapes=False).ox
    from pathlib import Path

    from server.sparql.snapshot import data_folder

    return ox.Store.read_only(str(held.enter_context(data_folder(Path(data), exclusive=False))))


def _fail(message: str) -> int:
    print(f"m99kg query: {message}", file=sys.stderr)
    return 2


def listing(queries: dict) -> str:
    """Every query: name, tags, wrapped summary, and one line per parameter."""
    out = []
    for q in queries.values():
        tags = f"  [{', '.join(q.tags)}]" if q.tags else ""
        out.append(f"{q.name}{tags}\n")
        out += [f"    {line}\n" for line in textwrap.wrap(q.summary, 96)]
        for p in q.params:
            kind = f"{p.type}, optional" if p.optional else p.type
            out.append(f"    --param {p.name}=… ({kind}): {p.description}\n")
        out.append("\n")
    return "".join(out)


def short(term: ox.NamedNode | ox.Literal | ox.BlankNode | None) -> str:
    """A term as a reader wants it: prefixed name when a project prefix fits, the lexical form of a literal."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        best = max((ns for ns in PREFIXES.values() if term.value.startswith(ns)), key=len, default=None)
        if best is not None:
            local = term.value[len(best):]
            if local and all(c.isalnum() or c in "._-" for c in local):
                prefix = next(p for p, ns in PREFIXES.items() if ns == best)
                return f"{prefix}:{local}"
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def table(variables: list[str], rows: list[list]) -> str:
    """Aligned columns, a rule under the header and a row count; cells cut at MAX_CELL characters."""
    def cell(term) -> str:
        text = " ".join(short(term).split())
        return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"

    cells = [[cell(t) for t in row] for row in rows]
    widths = [max([len(v)] + [len(r[i]) for r in cells]) for i, v in enumerate(variables)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(variables, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines) + "\n"
