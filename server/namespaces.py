"""The IRIs the project mints or reuses, in one place.

Codes use the IRIs NCBO BioPortal serves (so the graph joins with BioPortal and UMLS data);
the project's own vocabulary and individuals live under w3id.org/m99kg.
"""

from __future__ import annotations

ICD10CM = "http://purl.bioontology.org/ontology/ICD10CM/"
ICD9CM = "http://purl.bioontology.org/ontology/ICD9CM/"
CPT = "http://purl.bioontology.org/ontology/CPT/"

M99 = "https://w3id.org/m99kg/vocab#"
ID = "https://w3id.org/m99kg/id/"
GRAPH = "https://w3id.org/m99kg/graph/"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
SH = "http://www.w3.org/ns/shacl#"

#: The named graphs of the store.
GRAPH_ONTOLOGY = GRAPH + "ontology"
GRAPH_CODESET = GRAPH + "codeset"
GRAPH_SHAPES = GRAPH + "shapes"
GRAPH_CLAIMS = GRAPH + "claims"
GRAPH_RESULTS = GRAPH + "results"

#: The concept scheme of the ICD-10-CM release the graph is built from.
SCHEME_ICD10CM = ID + "scheme/icd10cm-2026-04"

#: Prefixes used when the project writes Turtle or shows SPARQL.
PREFIXES: dict[str, str] = {
    "m99": M99,
    "icd": ICD10CM,
    "icd9": ICD9CM,
    "cpt": CPT,
    "region": ID + "region/",
    "omt": ID + "omt-region/",
    "mech": ID + "mechanism/",
    "site": ID + "site/",
    "strength": ID + "strength/",
    "rel": ID + "relation/",
    "family": ID + "procedure-family/",
    "element": ID + "element/",
    "group": ID + "element-group/",
    "src": ID + "source/",
    "pairing": ID + "pairing/",
    "displacement": ID + "displacement/",
    "confusion": ID + "confusion/",
    "confusable": ID + "confusable/",
    "docreq": ID + "docreq/",
    "gem": ID + "gem/",
    "scheme": ID + "scheme/",
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "sh": SH,
}


def sparql_prologue() -> str:
    """PREFIX declarations for every project prefix, for queries written without them."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
