"""QA shapes pass on the built ontology, and each one catches a deliberately broken copy."""

from __future__ import annotations

import pytest
import rdflib

from server.namespaces import SH
from server.qa import ontology_rdflib_graph, qa_shapes_path, run_qa

P = """PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX icd: <http://purl.bioontology.org/ontology/ICD10CM/>
PREFIX cpt: <http://purl.bioontology.org/ontology/CPT/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX region: <https://w3id.org/m99kg/id/region/>
PREFIX src: <https://w3id.org/m99kg/id/source/>
"""

# (the QA shape name expected to fire, a SPARQL Update that breaks a copy of the ontology)
BREAKAGES = [
    ("qa-m99-code-title", "DELETE WHERE { icd:M99.04 skos:prefLabel ?t }"),
    ("qa-m99-code-mechanism", "DELETE WHERE { icd:M99.24 m99:mechanism ?m }"),
    ("qa-m99-code-region-max", "INSERT DATA { icd:M99.24 m99:region region:lumbar }"),
    ("qa-m99-code-site-max", "INSERT DATA { icd:M99.44 m99:anatomicSite <https://w3id.org/m99kg/id/site/intervertebral-foramina> }"),
    ("qa-m99-code-region", "DELETE WHERE { icd:M99.74 m99:region ?r }"),
    ("qa-m99-code-pairing", "DELETE WHERE { ?p a m99:Pairing ; ?x ?y }"),
    ("qa-curated-source", "DELETE { ?p dcterms:source ?s } WHERE { ?p a m99:Pairing ; dcterms:source ?s } "),
    ("qa-pairing-rationale", "DELETE { ?p m99:rationale ?r } WHERE { ?p a m99:Pairing ; m99:rationale ?r }"),
    ("qa-pairing-procedure", "DELETE { ?p m99:procedure ?r } WHERE { ?p a m99:Pairing ; m99:procedure ?r }"),
    ("qa-pairing-diagnosis", "INSERT { ?p m99:diagnosis icd:M99.9 } WHERE { ?p a m99:Pairing ; m99:diagnosis icd:M99.0 }"),
    ("qa-pairing-strength", "DELETE { ?p m99:strength ?r } WHERE { ?p a m99:Pairing ; m99:strength ?r }"),
    ("qa-confusable-two-codes", "INSERT { ?p m99:code icd:M99.9 } WHERE { ?p a m99:ConfusablePair }"),
    ("qa-confusable-deciding-element", "DELETE { ?p m99:decidingElement ?e } WHERE { ?p a m99:ConfusablePair ; m99:decidingElement ?e }"),
    ("qa-confusable-distinction", "DELETE { ?p m99:distinction ?e } WHERE { ?p a m99:ConfusablePair ; m99:distinction ?e }"),
    ("qa-pattern-deciding-element", "DELETE { ?p m99:decidingElement ?e } WHERE { ?p a m99:ConfusionPattern ; m99:decidingElement ?e }"),
    ("qa-confusion-pattern", "INSERT { ?p m99:comparesRegion region:head , region:cervical } WHERE { ?p a m99:ConfusionPattern ; m99:subcategory ?s }"),
    ("qa-displacement-by", "DELETE { ?p m99:displacedBy ?e } WHERE { ?p a m99:Displacement ; m99:displacedBy ?e }"),
    ("qa-displacement-subcategory", "DELETE { ?p m99:displacedSubcategory ?e } WHERE { ?p a m99:Displacement ; m99:displacedSubcategory ?e }"),
    ("qa-displacement-relation", "DELETE { ?p m99:relation ?e } WHERE { ?p a m99:Displacement ; m99:relation ?e }"),
    ("qa-displacement-condition", "DELETE { ?p m99:condition ?e } WHERE { ?p a m99:Displacement ; m99:condition ?e }"),
    ("qa-displacement-rationale", "DELETE { ?p m99:rationale ?e } WHERE { ?p a m99:Displacement ; m99:rationale ?e }"),
    ("qa-documentation-applies-to", "DELETE { ?p m99:appliesTo ?e } WHERE { ?p a m99:DocumentationRequirement ; m99:appliesTo ?e }"),
    ("qa-documentation-element", "DELETE { ?p m99:element ?e } WHERE { ?p a m99:DocumentationRequirement ; m99:element ?e }"),
    ("qa-documentation-strength", "DELETE { ?p m99:strength ?e } WHERE { ?p a m99:DocumentationRequirement ; m99:strength ?e }"),
    ("qa-documentation-rationale", "DELETE { ?p m99:rationale ?e } WHERE { ?p a m99:DocumentationRequirement ; m99:rationale ?e }"),
    ("qa-procedure-notation", 'INSERT DATA { cpt:98940 skos:notation "9894" }'),
    ("qa-procedure-descriptor", "DELETE WHERE { cpt:98941 skos:prefLabel ?l }"),
    ("qa-procedure-family", "DELETE WHERE { cpt:97140 m99:procedureFamily ?f }"),
    ("qa-procedure-region-counts", "DELETE WHERE { cpt:98927 m99:maxRegions ?n }"),
    ("qa-source-title", "DELETE WHERE { src:NCCI dcterms:title ?t }"),
    ("qa-source-evidence",
     'DELETE { src:AAP m99:evidence ?e } INSERT { src:AAP m99:evidence "blog" } WHERE { src:AAP m99:evidence ?e }'),
    ("qa-region-character", "DELETE WHERE { region:pelvic m99:fifthCharacter ?c }"),
    ("qa-region-omt", "DELETE WHERE { region:pelvic m99:omtRegion ?c }"),
    ("qa-region", "INSERT DATA { region:pelvic a m99:ExtraspinalRegion }"),
]

_CONSTRAINT_PARAMS = {"minCount", "maxCount", "class", "pattern", "in", "xone", "select"}


@pytest.fixture(scope="module")
def ontology_graph(ontology_store):
    return ontology_rdflib_graph(ontology_store)


def test_built_ontology_passes_every_qa_shape(ontology_graph):
    assert run_qa(ontology_graph) == []


@pytest.mark.parametrize(("shape", "update"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_each_qa_shape_catches_a_broken_copy(ontology_graph, shape, update):
    broken = rdflib.Graph()
    for triple in ontology_graph:
        broken.add(triple)
    broken.update(P + update)
    fired = {r.shape for r in run_qa(broken)}
    assert shape in fired, f"{shape} did not fire; fired: {sorted(fired)}"


def test_every_qa_shape_has_a_breakage_case():
    shapes = rdflib.Graph().parse(qa_shapes_path(), format="turtle")
    sh = rdflib.Namespace(SH)
    constraining = set()
    for shape, name in shapes.subject_objects(sh.name):
        params = {str(p)[len(SH):] for p in shapes.predicates(shape)}
        if params & _CONSTRAINT_PARAMS:
            constraining.add(str(name))
    assert constraining - {b[0] for b in BREAKAGES} == set()
