"""The embedded store: Oxigraph (pyoxigraph), in memory or on disk, with the project's named graphs.

Knowledge is loaded file by file into its named graph (ontology, code set, shapes); queries see
the union of the graphs by default, so a code card can join the curated ontology with the full
code set. rdflib callers get the same data through `rdflib_dataset()` (oxrdflib).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pyoxigraph as ox

from server import resources
from server.namespaces import PREFIXES

Binding = Mapping[str, ox.NamedNode | ox.Literal | ox.BlankNode | None]


class Store:
    """A thin, typed wrapper over a pyoxigraph Store."""

    def __init__(self, path: Path | None = None, oxstore: ox.Store | None = None) -> None:
        self.ox = oxstore if oxstore is not None else (ox.Store(str(path)) if path else ox.Store())

    # -- loading -----------------------------------------------------------------------------

    def load_turtle(self, path: Path, graph: str) -> None:
        """Load one Turtle file into a named graph, all or nothing."""
        self.ox.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(graph))

    def load_files(self, paths: Iterable[Path], graph: str) -> None:
        for path in paths:
            self.load_turtle(path, graph)

    def load_knowledge(self, codeset: bool = True, shapes: bool = True) -> Store:
        """Load the ontology (hand-written and generated), and optionally the code set and shapes."""
        for path, graph in resources.knowledge_files(codeset=codeset, shapes=shapes):
            self.load_turtle(path, graph)
        return self

    # -- reading -----------------------------------------------------------------------------

    def select(self, sparql: str, union: bool = True) -> list[dict[str, ox.NamedNode | ox.Literal]]:
        """Run a SELECT and return its rows as dicts of bound variables (unbound ones left out)."""
        result = self.ox.query(sparql, use_default_graph_as_union=union, prefixes=PREFIXES)
        names = [v.value for v in result.variables]
        rows = []
        for solution in result:
            row = {}
            for name in names:
                term = solution[name]
                if term is not None:
                    row[name] = term
            rows.append(row)
        return rows

    def ask(self, sparql: str, union: bool = True) -> bool:
        return bool(self.ox.query(sparql, use_default_graph_as_union=union, prefixes=PREFIXES))

    def construct(self, sparql: str, union: bool = True) -> list[ox.Triple]:
        return list(self.ox.query(sparql, use_default_graph_as_union=union, prefixes=PREFIXES))

    def graph_size(self, graph: str) -> int:
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", union=False)
        return int(rows[0]["n"].value)

    def rdflib_dataset(self):  # -> rdflib.Dataset, imported lazily: rdflib is slow to import
        """The same data through rdflib's Dataset API (oxrdflib store plugin)."""
        import rdflib
        from oxrdflib import OxigraphStore

        return rdflib.Dataset(store=OxigraphStore(store=self.ox))


def knowledge_store(codeset: bool = True, shapes: bool = True) -> Store:
    """A fresh in-memory store with the project's knowledge loaded."""
    return Store().load_knowledge(codeset=codeset, shapes=shapes)


def term_text(term: ox.NamedNode | ox.Literal | ox.BlankNode | None) -> str | None:
    return None if term is None else term.value
