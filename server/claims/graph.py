"""Claim graphs: parse claim RDF and normalise it with the SPARQL updates of ontology/claim-rules/.

The JSON-LD context leaves the JSON arrays as RDF lists and codes as written; the updates number
the lists into diagnosis, line and finding nodes, dot undotted codes, and map value tokens to
mechanisms and sites. They are idempotent, so Turtle claims already in the canonical form pass
through unchanged. The claim triples are kept in the default graph; the small reference graph
(facets and terms) sits in the ontology named graph for the updates that need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyoxigraph as ox

from server import resources
from server.namespaces import GRAPH_ONTOLOGY, M99, RDF

CLAIM_BASE = "https://w3id.org/m99kg/claim/"
_REFERENCE_FILES = ("facets.ttl", "terms.ttl", "claims.ttl")


@dataclass
class ClaimGraph:
    """One claim: its IRI, identifier, and triples (canonical form)."""

    iri: str
    claim_id: str
    triples: list[ox.Triple] = field(default_factory=list)
    source: str = ""


@cache
def _rules() -> tuple[str, ...]:
    folder = resources.ontology_dir() / "claim-rules"
    return tuple(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.ru")))


@cache
def _reference_quads() -> tuple[ox.Quad, ...]:
    graph = ox.NamedNode(GRAPH_ONTOLOGY)
    quads = []
    for name in _REFERENCE_FILES:
        path: Path = resources.ontology_dir() / name
        quads += [ox.Quad(t.subject, t.predicate, t.object, graph)
                  for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]
    return tuple(quads)


def normalize(triples: list[ox.Triple] | list[ox.Quad], source: str = "") -> list[ClaimGraph]:
    """Run the claim rules over raw claim triples and split the result into one graph per claim."""
    store = ox.Store()
    store.extend(_reference_quads())
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    for update in _rules():
        store.update(update)
    claim_type = ox.NamedNode(M99 + "Claim")
    claims = sorted({q.subject.value for q in store.quads_for_pattern(None, ox.NamedNode(RDF + "type"), claim_type,
                                                                     ox.DefaultGraph())})
    out = []
    for iri in claims:
        node = str(ox.NamedNode(iri))  # serialised by pyoxigraph: a valid IRI, nothing else
        rows = store.query(
            f"""SELECT ?s ?p ?o WHERE {{ {{ BIND({node} AS ?s) ?s ?p ?o }}
               UNION {{ {node} (m99:hasDiagnosis|m99:hasLine|m99:hasFinding) ?s . ?s ?p ?o }} }}""",
            prefixes={"m99": M99})
        triples_out = [ox.Triple(r["s"], r["p"], r["o"]) for r in rows]
        ids = [t.object.value for t in triples_out if t.predicate.value == M99 + "claimId"]
        out.append(ClaimGraph(iri, ids[0] if ids else iri, triples_out, source))
    return out
