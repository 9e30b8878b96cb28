"""Generate the M99 module: chapter 13, the M99 block and category, its subcategories and codes.

Each code's region, mechanism and anatomic site are derived from its characters using the
character tables declared in ontology/facets.ttl, then checked against the official title; a
title that does not say what the characters say stops the build.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.build.tabular import RELEASE_LABEL, Node
from server.build.turtle import TurtleWriter, lit
from server.namespaces import DCTERMS, ICD10CM, ID, M99, OWL, RDF, SCHEME_ICD10CM, SKOS
from server.store import Store

CHAPTER = "M00-M99"
BLOCK = "M99-M99"
CATEGORY = "M99"
SOURCE_TAB = ID + "source/TAB"

_LEVEL_CLASS = {"chapter": "Chapter", "block": "Block", "category": "Category", "subcategory": "Subcategory"}
_NOTE_PROPERTY = {"notes": "categoryNote", "excludes1": "excludes1", "excludes2": "excludes2",
                  "inclusionTerm": "inclusionTerm", "includes": "inclusionTerm"}


class BuildError(Exception):
    """The sources disagree with each other; the message says where."""


@dataclass(frozen=True)
class Facet:
    iri: str
    char: str
    phrase: str
    site: str | None = None
    site_phrase: str | None = None


def read_facets(store: Store) -> tuple[dict[str, Facet], dict[str, Facet]]:
    """Mechanisms by 4th character and regions by 5th character, from the hand-written ontology."""
    mechanisms = {
        r["char"].value: Facet(r["m"].value, r["char"].value, r["phrase"].value,
                               r["site"].value if "site" in r else None,
                               r["sitePhrase"].value if "sitePhrase" in r else None)
        for r in store.select("""
            SELECT ?m ?char ?phrase ?site ?sitePhrase WHERE {
              ?m a m99:Mechanism ; m99:fourthCharacter ?char ; m99:titlePhrase ?phrase .
              OPTIONAL { ?m m99:site ?site . ?site m99:titlePhrase ?sitePhrase }
            }""")
    }
    regions = {
        r["char"].value: Facet(r["r"].value, r["char"].value, r["phrase"].value)
        for r in store.select("""
            SELECT ?r ?char ?phrase WHERE { ?r a m99:Region ; m99:fifthCharacter ?char ; m99:titlePhrase ?phrase }""")
    }
    if sorted(mechanisms) != [str(i) for i in range(10)] or sorted(regions) != [str(i) for i in range(10)]:
        raise BuildError("facets.ttl must declare one mechanism per 4th character 0-9 and one region per 5th")
    return mechanisms, regions


def add_tabular_node(w: TurtleWriter, node: Node) -> str:
    """Write the facts of a tabular node that hold for any ICD-10-CM code (M99 or not)."""
    s = ICD10CM + node.iri_code
    w.add(s, RDF + "type", SKOS + "Concept")
    w.add(s, RDF + "type", OWL + "NamedIndividual")
    w.add(s, RDF + "type", M99 + "DiagnosisCode")
    w.add(s, RDF + "type", M99 + ("BillableCode" if node.billable else "HeaderCode"))
    if node.level in _LEVEL_CLASS:
        w.add(s, RDF + "type", M99 + _LEVEL_CLASS[node.level])
    w.add(s, SKOS + "notation", lit(node.notation))
    w.add(s, SKOS + "prefLabel", lit(node.title, "en"))
    w.add(s, SKOS + "inScheme", SCHEME_ICD10CM)
    w.add(s, M99 + "billable", node.billable)
    w.add(s, M99 + "hierarchyLevel", lit(node.level))
    w.add(s, DCTERMS + "source", SOURCE_TAB)
    if node.parent:
        w.add(s, SKOS + "broader", ICD10CM + node.parent)
    if node.chapter_number:
        w.add(s, SKOS + "altLabel", lit(f"Chapter {node.chapter_number}", "en"))
    for kind, texts in node.notes.items():
        if kind in _NOTE_PROPERTY:
            for text in texts:
                w.add(s, M99 + _NOTE_PROPERTY[kind], lit(text, "en"))
    return s


def add_scheme(w: TurtleWriter) -> None:
    w.add(SCHEME_ICD10CM, RDF + "type", M99 + "CodeSystemRelease")
    w.add(SCHEME_ICD10CM, RDF + "type", OWL + "NamedIndividual")
    w.add(SCHEME_ICD10CM, DCTERMS + "title", lit(RELEASE_LABEL, "en"))
    w.add(SCHEME_ICD10CM, DCTERMS + "issued", lit("2026-04-01"))
    w.add(SCHEME_ICD10CM, DCTERMS + "source", SOURCE_TAB)


def m99_nodes(nodes: dict[str, Node]) -> list[Node]:
    return [nodes[CHAPTER], nodes[BLOCK]] + [n for c, n in nodes.items() if c.startswith("M99") and c != BLOCK]


def build_m99_module(nodes: dict[str, Node], store: Store, w: TurtleWriter) -> None:
    """Write the M99 module into w; raise BuildError when a title contradicts its characters."""
    mechanisms, regions = read_facets(store)
    errors: list[str] = []
    add_scheme(w)
    for node in m99_nodes(nodes):
        s = add_tabular_node(w, node)
        code = node.iri_code
        if not code.startswith("M99."):
            continue
        mech = mechanisms[code[4]]
        if not node.title.startswith(mech.phrase):
            errors.append(f"{code}: title {node.title!r} does not start with {mech.phrase!r} (4th character {code[4]})")
        w.add(s, M99 + "mechanism", mech.iri)
        if mech.site:
            if mech.site_phrase not in node.title:
                errors.append(f"{code}: title {node.title!r} does not name the site {mech.site_phrase!r}")
            w.add(s, M99 + "anatomicSite", mech.site)
        if len(code) == 6:
            region = regions[code[5]]
            if not node.title.endswith(region.phrase):
                errors.append(f"{code}: title {node.title!r} does not end with {region.phrase!r} "
                              f"(5th character {code[5]})")
            w.add(s, M99 + "region", region.iri)
        if node.billable:
            w.add(s, RDF + "type", M99 + "M99Code")
    billable = [n for n in m99_nodes(nodes) if n.billable]
    if len(billable) != 91:
        errors.append(f"expected 91 billable M99 codes, the tabular has {len(billable)}")
    if errors:
        raise BuildError("the M99 titles contradict their characters:\n  " + "\n  ".join(errors))
