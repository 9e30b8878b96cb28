"""Put the project's knowledge into a remote store when it is missing or stale, and only then.

Each knowledge graph (ontology, code set, shapes) has a fingerprint: a SHA-256 over the names and
bytes of the files it is made of, in load order. The remote store keeps the fingerprint of what it
holds in a small bookkeeping graph (GRAPH_META), so a restart compares hashes and skips the upload
(the code set alone is 19 MB of Turtle). A graph is uploaded when its fingerprint is absent or
different, or when the graph is empty although the fingerprint matches (someone dropped it).

Order per graph: forget the fingerprint, replace the graph (one GSP PUT), record the new fingerprint.
A crash anywhere in between leaves no fingerprint, so the next start uploads again; a fingerprint is
never left claiming content the graph does not hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox

from server import resources
from server.namespaces import M99, XSD
from server.remote.store import GRAPH_META, RemoteStore

FINGERPRINT = M99 + "fingerprint"
MODIFIED = "http://purl.org/dc/terms/modified"


@dataclass
class SyncReport:
    uploaded: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        up = ", ".join(g.rsplit("/", 1)[-1] for g in self.uploaded) or "nothing"
        return f"knowledge graphs uploaded: {up}; already current: {len(self.current)}"


def graph_files(codeset: bool = True, shapes: bool = True) -> dict[str, list[Path]]:
    """Named graph -> its files in load order (resources.knowledge_files grouped)."""
    out: dict[str, list[Path]] = {}
    for path, graph in resources.knowledge_files(codeset=codeset, shapes=shapes):
        out.setdefault(graph, []).append(path)
    return out


def fingerprint(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(f"{path.name}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def recorded(store: RemoteStore) -> dict[str, str]:
    """Graph IRI -> the fingerprint the remote store has recorded for it."""
    rows = store.select(f"SELECT ?g ?f WHERE {{ GRAPH <{GRAPH_META}> {{ ?g <{FINGERPRINT}> ?f }} }}", union=False)
    return {r["g"].value: r["f"].value for r in rows}


def _has_data(store: RemoteStore, graph: str) -> bool:
    return store.ask(f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", union=False)


def _forget(store: RemoteStore, graph: str) -> None:
    store.update(f"DELETE WHERE {{ GRAPH <{GRAPH_META}> {{ <{graph}> ?p ?o }} }}")


def _record(store: RemoteStore, graph: str, value: str) -> None:
    now = ox.Literal(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=ox.NamedNode(XSD + "dateTime"))
    store.update(f"DELETE WHERE {{ GRAPH <{GRAPH_META}> {{ <{graph}> ?p ?o }} }};\n"
                 f"INSERT DATA {{ GRAPH <{GRAPH_META}> {{ <{graph}> <{FINGERPRINT}> {ox.Literal(value)} ; "
                 f"<{MODIFIED}> {now} }} }}")


def sync_knowledge(store: RemoteStore, codeset: bool = True, shapes: bool = True, force: bool = False) -> SyncReport:
    """Upload each knowledge graph whose fingerprint the store lacks; returns what was done."""
    report = SyncReport()
    have = recorded(store)
    for graph, paths in graph_files(codeset=codeset, shapes=shapes).items():
        want = fingerprint(paths)
        report.fingerprints[graph] = want
        if not force and have.get(graph) == want and _has_data(store, graph):
            report.current.append(graph)
            continue
        if graph in have:
            _forget(store, graph)
        store.replace_graph(graph, paths)
        _record(store, graph, want)
        report.uploaded.append(graph)
    return report
