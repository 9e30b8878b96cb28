"""OWL reasoning with owlready2 and its bundled HermiT reasoner (needs Java).

The ontology graph (hand-written and generated, without the 74,000-code set) is handed to
owlready2 as N-Triples in a World of its own, HermiT checks consistency and classifies every
code individual into the defined classes of vocab.ttl. The result is a plain dict so tests can
compare it with what the code's characters say.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from server.namespaces import GRAPH_ONTOLOGY, ICD10CM, M99
from server.store import Store


@dataclass
class ReasoningResult:
    consistent: bool
    #: code notation -> local names of the m99: classes HermiT places it in (asserted or inferred)
    classes: dict[str, set[str]] = field(default_factory=dict)
    message: str = ""


def defined_classes(store: Store) -> set[str]:
    """Local names of the m99: classes that have an owl:equivalentClass definition."""
    rows = store.select(
        "SELECT DISTINCT ?c WHERE { ?c owl:equivalentClass ?d . FILTER(STRSTARTS(STR(?c), STR(m99:))) }")
    return {r["c"].value[len(M99):] for r in rows}


def classify(store: Store) -> ReasoningResult:
    """Run HermiT over the ontology graph of `store`."""
    import owlready2

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ontology.nt"
        store.ox.dump(output=str(path), format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(GRAPH_ONTOLOGY))
        world = owlready2.World()
        onto = world.get_ontology(path.as_uri()).load(format="ntriples")
        try:
            owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            return ReasoningResult(False, message=str(exc) or "HermiT found the ontology inconsistent")
        result = ReasoningResult(True)
        for individual in world.individuals():
            iri = individual.iri
            if not iri.startswith(ICD10CM):
                continue
            names = {c.iri[len(M99):] for c in individual.INDIRECT_is_a
                     if hasattr(c, "iri") and c.iri.startswith(M99)}
            result.classes[iri[len(ICD10CM):]] = names
        onto.destroy()
        world.close()
        return result
