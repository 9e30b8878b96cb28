"""Generate the codes outside M99 that the curated knowledge and the crosswalk name.

Displacements, confusable pairs and GEM rows point at codes such as M48.08, M43.5X4 or S33.2XXA;
each gets its official title, billable flag, notes and every ancestor up to its chapter, so the
ontology graph answers questions about them without the full code set.
"""

from __future__ import annotations

from server.build.m99module import BuildError, add_tabular_node
from server.build.tabular import Node, ancestors
from server.build.turtle import TurtleWriter
from server.namespaces import ICD10CM
from server.store import Store


def referenced_codes(store: Store) -> set[str]:
    rows = store.select(f"""
        SELECT DISTINCT ?x WHERE {{
          {{ ?s ?p ?x }} UNION {{ ?x ?p ?o }}
          FILTER(isIRI(?x) && STRSTARTS(STR(?x), "{ICD10CM}"))
        }}""")
    return {r["x"].value[len(ICD10CM):] for r in rows}


def build_related(nodes: dict[str, Node], store: Store, already: set[str], w: TurtleWriter) -> None:
    """Write every referenced code not in `already`, with its ancestors; unknown codes are errors."""
    wanted = referenced_codes(store) - already
    unknown = sorted(c for c in wanted if c not in nodes)
    if unknown:
        raise BuildError("the ontology names codes that the ICD-10-CM release does not have: "
                         + ", ".join(unknown))
    closure = set(wanted)
    for code in wanted:
        closure.update(ancestors(nodes, code))
    for code in sorted(closure - already):
        add_tabular_node(w, nodes[code])
