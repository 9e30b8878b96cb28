"""owlready2 + HermiT: the ontology is consistent and classifies every billable code as expected.

The expected classes are computed here from the code's characters alone, independently of the
ontology, so a wrong definition or a wrong generated facet fails the test.
"""

from __future__ import annotations

import pytest

from server.reasoning import classify, defined_classes
from server.store import Store, knowledge_store

REGION_CLASS = ["HeadRegionLesion", "CervicalRegionLesion", "ThoracicRegionLesion", "LumbarRegionLesion",
                "SacralRegionLesion", "PelvicRegionLesion", "LowerExtremityLesion", "UpperExtremityLesion",
                "RibCageLesion", "AbdomenRegionLesion"]


def expected_classes(code: str) -> set[str]:
    if code == "M99.9":
        return set()
    mech, region = int(code[4]), int(code[5])
    out = {REGION_CLASS[region]}
    spinal = 1 <= region <= 5
    out.add("SpinalRegionLesion" if spinal else "ExtraspinalRegionLesion")
    if mech in (0, 1):
        out.add("FunctionalLesion")
        if spinal:
            out.add("SpinalFunctionalLesion")
    if 2 <= mech <= 7:
        out.add("StenosisLesion")
        out.add("NeuralCanalStenosis" if mech <= 5 else "ForaminalStenosis")
        if region >= 6:
            out.add("ImplausibleStenosis")
    out |= {name for name, mechs in (("SubluxationInvolvingLesion", (2, 6)), ("OsseousLesion", (3, 6)),
                                     ("ConnectiveTissueLesion", (4, 7)), ("DiscLesion", (5, 7))) if mech in mechs}
    return out


BILLABLE = [f"M99.{m}{r}" for m in range(9) for r in range(10)] + ["M99.9"]


@pytest.fixture(scope="module")
def reasoned(ontology_store):
    return classify(ontology_store), defined_classes(ontology_store)


def test_ontology_is_consistent(reasoned):
    result, _ = reasoned
    assert result.consistent, result.message


@pytest.mark.parametrize("code", BILLABLE)
def test_inferred_classification(reasoned, code):
    result, defined = reasoned
    assert result.classes[code] & defined == expected_classes(code)


def test_the_sacral_codes_and_only_they_are_sacral_lesions(reasoned):
    # nine, not ten: one per subcategory M99.0-M99.8; M99.9 has no region
    result, _ = reasoned
    sacral = sorted(c for c, classes in result.classes.items() if "SacralRegionLesion" in classes)
    assert sacral == [f"M99.{m}4" for m in range(9)]


@pytest.mark.parametrize("breakage", [
    # a code cannot be both billable and a header (disjoint classes)
    "<http://purl.bioontology.org/ontology/ICD10CM/M99.04> a <https://w3id.org/m99kg/vocab#HeaderCode> .",
    # region is functional and the regions are pairwise different
    "<http://purl.bioontology.org/ontology/ICD10CM/M99.04> <https://w3id.org/m99kg/vocab#region> "
    "<https://w3id.org/m99kg/id/region/lumbar> .",
    # a region cannot be both spinal and extraspinal
    "<https://w3id.org/m99kg/id/region/head> a <https://w3id.org/m99kg/vocab#SpinalRegion> .",
])
def test_reasoner_detects_an_inconsistent_copy(breakage):
    store: Store = knowledge_store(codeset=False, shapes=False)
    store.ox.update(f"INSERT DATA {{ GRAPH <https://w3id.org/m99kg/graph/ontology> {{ {breakage} }} }}")
    assert not classify(store).consistent
