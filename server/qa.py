"""Run the QA shapes of shapes/ontology-qa.ttl over the ontology graph with pySHACL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from server import resources
from server.namespaces import GRAPH_ONTOLOGY, SH
from server.store import Store

QA_SHAPES_FILE = "ontology-qa.ttl"


@dataclass(frozen=True)
class QAResult:
    focus: str
    shape: str  # sh:name of the shape (or property shape) that fired
    message: str


def ontology_rdflib_graph(store: Store):
    """The ontology named graph as an rdflib Graph (pySHACL's data graph)."""
    import rdflib

    data = store.ox.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(GRAPH_ONTOLOGY))
    return rdflib.Graph().parse(data=data.decode("utf-8"), format="nt")


def qa_shapes_path() -> Path:
    return resources.shapes_dir() / QA_SHAPES_FILE


def run_qa(data_graph, shapes_path: Path | None = None) -> list[QAResult]:
    """Violations of the QA shapes in `data_graph` (an rdflib Graph); empty when it conforms."""
    import pyshacl
    import rdflib

    shapes = rdflib.Graph().parse(shapes_path or qa_shapes_path(), format="turtle")
    _conforms, report, _text = pyshacl.validate(data_graph, shacl_graph=shapes, inference="none",
                                                allow_warnings=True)
    sh = rdflib.Namespace(SH)
    out = []
    for result in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        shape = report.value(result, sh.sourceShape)
        constraint = report.value(result, sh.sourceConstraint)  # set for SPARQL constraints
        name = shapes.value(constraint, sh.name) if constraint is not None else None
        if name is None:
            name = shapes.value(shape, sh.name)
        out.append(QAResult(str(report.value(result, sh.focusNode)), str(name or shape),
                            str(report.value(result, sh.resultMessage) or "")))
    return sorted(out, key=lambda r: (r.shape, r.focus))
