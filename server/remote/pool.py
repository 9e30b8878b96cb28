"""RemoteQueryPool: the /sparql and /queries back end when the store is a remote SPARQL server.

It has the QueryPool interface (`execute(QueryRequest) -> QueryResponse`, `close()`), so the web
layer does not know which store it talks to. The checks of server/web/sparql.py (read-only, SERVICE
refused, IRIs valid) run before a request gets here; this module only forwards queries.

What it keeps from the embedded service:
- the time limit covers the whole answer (connect, evaluation, transfer); past it the request gets
  503 and the connection is dropped. Whether the remote server then stops the query is up to the
  server (Oxigraph: `--timeout-s`), so give it a limit too;
- the row limit: the answer is read as a stream and reading stops at the limit (400);
- content negotiation: the remote answers in SPARQL JSON or N-Triples, and the result is written
  in the format the client's Accept header picks with the same writers as the embedded workers,
  so both services give the same bytes for the same answer;
- the default graph: without a dataset in the request (protocol parameters, FROM or FROM NAMED),
  the project's graphs are sent as default-graph-uri and named-graph-uri (see store.py).
At most `workers` queries are forwarded at once; the rest wait up to the time limit, then get 503.
"""

from __future__ import annotations

import threading
import time

import pyoxigraph as ox

from server.namespaces import sparql_prologue
from server.remote.protocol import ProtocolClient, StoreRefused, StoreTimeout, StoreUnavailable
from server.remote.store import N_TRIPLES, RESULTS_JSON, SERVED_GRAPHS
from server.sparql import results as res
from server.sparql.worker import QueryRequest, QueryResponse
from server.web.sparql_text import uses_keyword

_ACCEPT = f"{RESULTS_JSON}, {N_TRIPLES};q=0.9"
_CANCELLED = ("cancel", "timeout", "timed out", "time limit")


def _text(status: int, message: str) -> QueryResponse:
    return QueryResponse(status, "text/plain; charset=utf-8", message.encode())


class RemoteQueryPool:
    def __init__(self, client: ProtocolClient, workers: int = 2, timeout: float = 10.0, row_limit: int = 100_000,
                 union_graphs: tuple[str, ...] | list[str] = SERVED_GRAPHS, prefixes: bool = False) -> None:
        self.client = client
        self.timeout = timeout
        self.row_limit = row_limit
        self.union_graphs = list(union_graphs)
        # /sparql users write their own PREFIX lines, as with the embedded workers; off by default
        self._prologue = sparql_prologue() if prefixes else ""
        self._slots = threading.BoundedSemaphore(workers)

    def _dataset(self, req: QueryRequest) -> tuple[list[str], list[str]]:
        if req.default_graphs or req.named_graphs:
            return req.default_graphs, req.named_graphs
        if uses_keyword(req.query, "FROM"):  # the query names its own dataset
            return [], []
        return self.union_graphs, self.union_graphs

    def execute(self, req: QueryRequest) -> QueryResponse:
        limit = min(req.row_limit, self.row_limit)
        deadline = time.monotonic() + self.timeout
        if not self._slots.acquire(timeout=self.timeout):
            return _text(503, "every query slot is busy; try again in a few seconds")
        try:
            return self._forward(req, limit, deadline)
        finally:
            self._slots.release()

    def _forward(self, req: QueryRequest, limit: int, deadline: float) -> QueryResponse:
        default, named = self._dataset(req)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return self._timed_out()
        try:
            reply = self.client.query(self._prologue + req.query, _ACCEPT, default, named, timeout=remaining)
        except StoreTimeout:
            return self._timed_out()
        except StoreUnavailable as exc:
            return _text(503, f"{exc}; try again later")
        except StoreRefused as exc:
            if exc.status == 400:
                return _text(400, f"the store rejected the query: {exc.message}")
            return _text(502, f"the SPARQL store answered {exc.status}: {exc.message[:1000]}")
        with reply:
            try:
                if reply.media_type == N_TRIPLES:
                    return self._graph(reply, req.accept, limit)
                if reply.media_type in (RESULTS_JSON, "application/json"):
                    return self._results(reply, req.accept, limit)
                return _text(502, f"the SPARQL store sent {reply.media_type or 'no media type'}, "
                                  "not SPARQL JSON results or N-Triples")
            except StoreTimeout:
                return self._timed_out()
            except StoreUnavailable as exc:
                return _text(503, str(exc))
            except (SyntaxError, ValueError, OSError) as exc:
                if isinstance(reply.raw.failure, StoreTimeout):
                    return self._timed_out()
                if reply.raw.failure is not None:
                    return _text(503, str(reply.raw.failure))
                tail = reply.raw.tail.decode("utf-8", "replace").strip()
                if any(word in tail.lower() for word in _CANCELLED):
                    return _text(503, f"the SPARQL store stopped the query: {tail[-200:]}")
                return _text(502, f"the SPARQL store's answer is broken ({exc}); it ended with: {tail[-200:]!r}")

    def _timed_out(self) -> QueryResponse:
        return _text(503, f"the query ran past the {self.timeout:g} s time limit and was stopped")

    def _results(self, reply, accept: str | None, limit: int) -> QueryResponse:
        result = ox.parse_query_results(reply.body, ox.QueryResultsFormat.JSON)
        if isinstance(result, ox.QueryBoolean):
            media = res.negotiate(accept, res.RESULT_TYPES, res.DEFAULT_RESULT)
            if media is None:
                return _text(406, "ASK results are available as " + ", ".join(res.RESULT_TYPES))
            return QueryResponse(200, media, res.write_ask(bool(result), res.RESULT_TYPES[media]))
        media = res.negotiate(accept, res.RESULT_TYPES, res.DEFAULT_RESULT)
        if media is None:
            return _text(406, "SELECT results are available as " + ", ".join(res.RESULT_TYPES))
        variables = [v.value for v in result.variables]
        rows = []
        for solution in result:
            if len(rows) == limit:
                return _text(400, f"the query returns more than {limit} rows (the row limit): add LIMIT, "
                                  "or narrow the pattern")
            rows.append([solution[v] for v in variables])
        return QueryResponse(200, media, res.write_select(variables, rows, res.RESULT_TYPES[media]))

    def _graph(self, reply, accept: str | None, limit: int) -> QueryResponse:
        media = res.negotiate(accept, res.GRAPH_TYPES, res.DEFAULT_GRAPH)
        if media is None:
            return _text(406, "CONSTRUCT and DESCRIBE results are available as " + ", ".join(res.GRAPH_TYPES))
        triples = []
        for quad in ox.parse(reply.body, format=ox.RdfFormat.N_TRIPLES):
            if len(triples) == limit:
                return _text(400, f"the query returns more than {limit} triples (the row limit): narrow it")
            triples.append(quad.triple)
        return QueryResponse(200, media, res.write_graph(triples, res.GRAPH_TYPES[media]))

    def close(self) -> None:
        """Nothing to stop: every query is its own HTTP request."""
