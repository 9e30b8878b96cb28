"""pyoxigraph terms and triples to rdflib's, for handing graphs to pySHACL."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
import rdflib

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def term(t: ox.NamedNode | ox.BlankNode | ox.Literal) -> rdflib.term.Node:
    if isinstance(t, ox.NamedNode):
        return rdflib.URIRef(t.value)
    if isinstance(t, ox.BlankNode):
        return rdflib.BNode(t.value)
    if t.language:
        return rdflib.Literal(t.value, lang=t.language)
    if t.datatype.value == _XSD_STRING:  # RDF 1.1: the same literal as a plain one; rdflib keeps them apart
        return rdflib.Literal(t.value)
    return rdflib.Literal(t.value, datatype=rdflib.URIRef(t.datatype.value))


def add_triples(graph: rdflib.Graph, triples: Iterable[ox.Triple]) -> rdflib.Graph:
    for t in triples:
        graph.add((term(t.subject), term(t.predicate), term(t.object)))
    return graph
