"""RemoteStore: the project's store API (select, ask, construct, graph_size, loading) over any SPARQL 1.1
server, so the code cards, the validator and `m99kg load` work unchanged against a remote store.

Default graph. The embedded store answers with the union of its named graphs as the default graph.
A generic server may not offer that, so a query with `union=True` is sent with the project's graph
IRIs as `default-graph-uri` and `named-graph-uri` (SPARQL Protocol): the default graph is their
merge and `GRAPH ?g` sees them, which is what the embedded store does. `union=False` sends no dataset,
so the server's own default graph (on Oxigraph: the empty default graph) and all its named graphs apply.

Answers come back as SPARQL JSON and N-Triples and are parsed by pyoxigraph, so callers get the same
pyoxigraph terms the embedded store gives them. Queries may use the project prefixes without PREFIX
declarations, as with the embedded store: the prologue is added before sending.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pyoxigraph as ox

from server import resources
from server.namespaces import (
    GRAPH,
    GRAPH_CLAIMS,
    GRAPH_CODESET,
    GRAPH_ONTOLOGY,
    GRAPH_RESULTS,
    GRAPH_SHAPES,
    sparql_prologue,
)
from server.remote.protocol import Endpoints, ProtocolClient, RemoteError, StoreUnavailable

#: The graphs whose union is the default graph of project queries (the embedded store's named graphs).
KNOWLEDGE_GRAPHS: tuple[str, ...] = (GRAPH_ONTOLOGY, GRAPH_CODESET, GRAPH_SHAPES)
#: What /sparql and the named queries see by default: the knowledge and the loaded claims and results.
SERVED_GRAPHS: tuple[str, ...] = (*KNOWLEDGE_GRAPHS, GRAPH_CLAIMS, GRAPH_RESULTS)
#: Bookkeeping (knowledge fingerprints); never part of the default graph.
GRAPH_META = GRAPH + "meta"

RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
TURTLE = "text/turtle"
#: files larger than this go through Oxigraph's non-transactional bulk load (see replace_graph)
BULK_BYTES = 4 * 1024 * 1024

__all__ = ["GRAPH_META", "KNOWLEDGE_GRAPHS", "SERVED_GRAPHS", "RemoteError", "RemoteStore", "StoreUnavailable"]


class RemoteStore:
    """The same reading API as server.store.Store, plus graph writes through SPARQL Update and GSP."""

    def __init__(self, client: ProtocolClient, union_graphs: Sequence[str] = KNOWLEDGE_GRAPHS) -> None:
        self.client = client
        self.union_graphs = list(union_graphs)
        self._prologue = sparql_prologue()
        self._oxigraph: bool | None = None

    @classmethod
    def at(cls, base_url: str, timeout: float = 10.0, **endpoints: str | None) -> RemoteStore:
        """A store for `base_url` with URL/query, URL/update, URL/store unless overridden."""
        return cls(ProtocolClient(Endpoints.from_base(base_url, **endpoints), timeout=timeout))

    @property
    def url(self) -> str:
        return self.client.endpoints.query

    # -- reading -------------------------------------------------------------------------------

    def _dataset(self, union: bool) -> tuple[list[str], list[str]]:
        return (self.union_graphs, self.union_graphs) if union else ([], [])

    def _results(self, sparql: str, union: bool) -> ox.QuerySolutions | ox.QueryBoolean:
        default, named = self._dataset(union)
        with self.client.query(self._prologue + sparql, RESULTS_JSON, default, named) as reply:
            return ox.parse_query_results(reply.read_all(), ox.QueryResultsFormat.JSON)

    def select(self, sparql: str, union: bool = True) -> list[dict[str, ox.NamedNode | ox.Literal]]:
        """Run a SELECT and return its rows as dicts of bound variables (unbound ones left out)."""
        result = self._results(sparql, union)
        if not isinstance(result, ox.QuerySolutions):
            raise ValueError("select() was given a query that is not a SELECT")
        names = [v.value for v in result.variables]
        rows = []
        for solution in result:
            rows.append({name: solution[name] for name in names if solution[name] is not None})
        return rows

    def ask(self, sparql: str, union: bool = True) -> bool:
        result = self._results(sparql, union)
        if not isinstance(result, ox.QueryBoolean):
            raise ValueError("ask() was given a query that is not an ASK")
        return bool(result)

    def construct(self, sparql: str, union: bool = True) -> list[ox.Triple]:
        default, named = self._dataset(union)
        with self.client.query(self._prologue + sparql, N_TRIPLES, default, named) as reply:
            if reply.media_type != N_TRIPLES:
                raise RemoteError(f"the store at {self.url} sent {reply.media_type or 'no media type'} "
                                  "for a CONSTRUCT, not N-Triples")
            return [q.triple for q in ox.parse(reply.read_all(), format=ox.RdfFormat.N_TRIPLES)]

    def graph_size(self, graph: str) -> int:
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", union=False)
        return int(rows[0]["n"].value)

    def graphs(self) -> set[str]:
        """The named graphs the store holds."""
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }", union=False)
        return {r["g"].value for r in rows}

    # -- writing -------------------------------------------------------------------------------

    def update(self, sparql_update: str) -> None:
        """Send one SPARQL Update request (one transaction on Oxigraph; other servers may differ)."""
        self.client.update(self._prologue + sparql_update)

    def put_graph(self, graph: str, triples: Iterable[ox.Triple]) -> None:
        """Replace a named graph with these triples (GSP PUT, one request)."""
        self.client.graph_write("PUT", graph, _ntriples(triples), N_TRIPLES)

    def post_graph(self, graph: str, triples: Iterable[ox.Triple]) -> None:
        """Add these triples to a named graph (GSP POST, one request)."""
        self.client.graph_write("POST", graph, _ntriples(triples), N_TRIPLES)

    def delete_graph(self, graph: str) -> bool:
        """Drop a named graph (GSP DELETE); False when it did not exist."""
        return self.client.graph_delete(graph)

    def load_turtle(self, path: Path, graph: str) -> None:
        """Add one Turtle file to a named graph, like the embedded load: GSP POST of the file as it is,
        streamed from disk (the server parses it; a parse error comes back as StoreRefused)."""
        with path.open("rb") as body:
            self.client.graph_write("POST", graph, body, TURTLE, length=path.stat().st_size)

    def load_files(self, paths: Iterable[Path], graph: str) -> None:
        for path in paths:
            self.load_turtle(path, graph)

    def is_oxigraph(self) -> bool:
        """Whether the server says it is Oxigraph (its Server header), asked once with a trivial ASK."""
        if self._oxigraph is None:
            self.ask("ASK {}", union=False)
            self._oxigraph = self.client.server_header.lower().startswith("oxigraph")
        return self._oxigraph

    def replace_graph(self, graph: str, paths: Sequence[Path], bulk: bool | None = None) -> None:
        """Make a named graph hold exactly these Turtle files, in one GSP PUT, so readers never see
        half of it. One file goes as it is; several are parsed here (blank nodes renamed, so `_:b` in
        two files stays two nodes) and sent as one N-Triples body.

        `bulk` (default: for one file over BULK_BYTES on an Oxigraph server) trades that atomicity for
        speed: the graph is dropped, then the file is posted with Oxigraph's `no_transaction` option,
        which loads the 19 MB code set in about a third of the time. Readers may see the graph
        half loaded meanwhile; the sync's fingerprint is only written after the load succeeded."""
        if bulk is None:
            bulk = len(paths) == 1 and paths[0].stat().st_size > BULK_BYTES and self.is_oxigraph()
        if bulk:
            self.delete_graph(graph)
            for path in paths:
                with path.open("rb") as body:
                    self.client.graph_write("POST", graph, body, TURTLE, length=path.stat().st_size,
                                            extra="no_transaction")
            return
        if len(paths) == 1:
            with paths[0].open("rb") as body:
                self.client.graph_write("PUT", graph, body, TURTLE, length=paths[0].stat().st_size)
            return
        triples: list[ox.Triple] = []
        for path in paths:
            triples += [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE,
                                                   rename_blank_nodes=True)]
        self.put_graph(graph, triples)

    def load_knowledge(self, codeset: bool = True, shapes: bool = True) -> RemoteStore:
        """Replace the knowledge graphs with the project's files (unconditionally; see sync.py)."""
        by_graph: dict[str, list[Path]] = {}
        for path, graph in resources.knowledge_files(codeset=codeset, shapes=shapes):
            by_graph.setdefault(graph, []).append(path)
        for graph, paths in by_graph.items():
            self.replace_graph(graph, paths)
        return self


def _ntriples(triples: Iterable[ox.Triple]) -> bytes:
    return ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES)
