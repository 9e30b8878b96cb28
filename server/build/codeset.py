"""Generate the full code set of the release as its own graph: notation, title, billable, parent.

Kept lean (four or five triples a code) because it holds every one of the ~98,000 tabular nodes;
it answers "does this code exist, and may it be billed?" for any code on a claim.
"""

from __future__ import annotations

from server.build.tabular import Node
from server.build.turtle import TurtleWriter, lit
from server.namespaces import ICD10CM, M99, RDF, SKOS

_LEVEL_CLASS = {"chapter": "Chapter", "block": "Block", "category": "Category", "subcategory": "Subcategory"}


def build_codeset(nodes: dict[str, Node], w: TurtleWriter) -> None:
    for node in nodes.values():
        s = ICD10CM + node.iri_code
        w.add(s, RDF + "type", M99 + ("BillableCode" if node.billable else "HeaderCode"))
        if node.level in _LEVEL_CLASS:
            w.add(s, RDF + "type", M99 + _LEVEL_CLASS[node.level])
        w.add(s, SKOS + "notation", lit(node.notation))
        w.add(s, SKOS + "prefLabel", lit(node.title, "en"))
        if node.parent:
            w.add(s, SKOS + "broader", ICD10CM + node.parent)
