"""A query worker process: opens the snapshot read-only and answers queries sent over a pipe.

The service kills a worker whose query runs past the time limit (pyoxigraph cannot cancel a
running query) and starts a fresh one, so a runaway query never holds a core or a request slot
for longer than the limit. Everything a worker sends back is bytes ready for the response.
"""

from __future__ import annotations

import resource
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import pyoxigraph as ox

from server.sparql import results as res
from server.web.sparql_text import uses_keyword


@dataclass
class QueryRequest:
    query: str
    accept: str | None = None
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    row_limit: int = 100_000
    base_iri: str | None = None  # relative IRIs in the query resolve against it (the endpoint's URL)


@dataclass
class QueryResponse:
    status: int
    content_type: str
    body: bytes


def _error(status: int, message: str) -> QueryResponse:
    return QueryResponse(status, "text/plain; charset=utf-8", message.encode())


def run(store: ox.Store, req: QueryRequest) -> QueryResponse:
    kwargs: dict = {}
    if req.default_graphs or req.named_graphs:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in req.default_graphs] or ox.DefaultGraph()
        if req.named_graphs:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in req.named_graphs]
    elif not uses_keyword(req.query, "FROM"):  # a query with FROM / FROM NAMED names its own dataset
        kwargs["use_default_graph_as_union"] = True
    if req.base_iri:
        kwargs["base_iri"] = req.base_iri
    try:
        result = store.query(req.query, **kwargs)
    except SyntaxError as exc:
        return _error(400, f"malformed query: {exc}")
    except (OSError, ValueError) as exc:
        return _error(400, f"query failed: {exc}")
    limit = req.row_limit
    if isinstance(result, ox.QueryBoolean):
        media = res.negotiate(req.accept, res.RESULT_TYPES, res.DEFAULT_RESULT)
        if media is None:
            return _error(406, "ASK results are available as " + ", ".join(res.RESULT_TYPES))
        return QueryResponse(200, media, res.write_ask(bool(result), res.RESULT_TYPES[media]))
    if isinstance(result, ox.QuerySolutions):
        media = res.negotiate(req.accept, res.RESULT_TYPES, res.DEFAULT_RESULT)
        if media is None:
            return _error(406, "SELECT results are available as " + ", ".join(res.RESULT_TYPES))
        variables = [v.value for v in result.variables]
        rows = []
        try:
            for solution in result:
                if len(rows) == limit:
                    return _error(400, f"the query returns more than {limit} rows (the row limit): add LIMIT, "
                                  "or narrow the pattern")
                rows.append([solution[v] for v in variables])
        except (OSError, ValueError, SyntaxError) as exc:
            return _error(400, f"query failed: {exc}")
        return QueryResponse(200, media, res.write_select(variables, rows, res.RESULT_TYPES[media]))
    media = res.negotiate(req.accept, res.GRAPH_TYPES, res.DEFAULT_GRAPH)
    if media is None:
        return _error(406, "CONSTRUCT and DESCRIBE results are available as " + ", ".join(res.GRAPH_TYPES))
    triples = []
    try:
        for triple in result:
            if len(triples) == limit:
                return _error(400, f"the query returns more than {limit} triples (the row limit): narrow it")
            triples.append(triple)
    except (OSError, ValueError, SyntaxError) as exc:
        return _error(400, f"query failed: {exc}")
    return QueryResponse(200, media, res.write_graph(triples, res.GRAPH_TYPES[media]))


#: the stack of the thread that runs queries: Oxigraph parses and evaluates recursively, and a deeply
#: nested query overflows the usual 8 MB (a segmentation fault); the memory is only committed as used
STACK_BYTES = 256 * 1024 * 1024


def main(conn: Connection, store_path: str, memory_mb: int = 0) -> None:
    """Worker entry point (a spawned process): serves queries on a thread with a large stack, within
    `memory_mb` of private memory (0: no limit; the stack counts)."""
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    threading.stack_size(STACK_BYTES)
    thread = threading.Thread(target=_serve, args=(conn, store_path), name="m99kg-query-worker")
    thread.start()
    thread.join()


def _serve(conn: Connection, store_path: str) -> None:
    store = ox.Store.read_only(store_path)
    conn.send("ready")
    while True:
        try:
            req = conn.recv()
        except EOFError:
            return
        if req is None:
            return
        try:
            conn.send(run(store, req))
        except Exception as exc:  # never leave the parent waiting
            conn.send(_error(500, f"internal error while running the query: {type(exc).__name__}"))
