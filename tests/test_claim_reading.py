"""Set-at-a-time claim reading gives the graphs that reading each claim on its own gives.

The reference reading below is the straightforward one: one JSON-LD document per claim, a fresh
store with the reference graph, the claim rules, and one SELECT per claim for its triples. The
batch reading (one "@graph" document, a reused per-thread store, a split of the N-Triples dump)
must give the same claim IRIs, identifiers and triple sets, in input order, with bad claims
reported as before. A second, rule-independent check reads the numbering off the JSON itself.
"""

from __future__ import annotations

import copy
import json
import pickle
import threading

import pyoxigraph as ox
import pytest

from server.claims import graph as claim_graph
from server.claims.errors import ClaimInputError
from server.claims.graph import ClaimGraph
from server.claims.jsonform import check_claim, claim_to_triples, claims_from_objects
from server.claims.readers import read_text
from server.synth.generator import generate
from server.validation.fast import FastValidator

M99 = "https://w3id.org/m99kg/vocab#"
ICD = "http://purl.bioontology.org/ontology/ICD10CM/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def reference_reading(objects: list[dict], source: str) -> list[ClaimGraph]:
    """Claim by claim: a fresh store, the rules, one SELECT for the claim's triples."""
    out = []
    for obj in objects:
        store = ox.Store()
        store.extend(claim_graph._reference_quads())
        store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in claim_to_triples(obj))
        for update in claim_graph._rules():
            store.update(update)
        (claim,) = {q.subject.value for q in store.quads_for_pattern(None, ox.NamedNode(RDF + "type"),
                                                                     ox.NamedNode(M99 + "Claim"), ox.DefaultGraph())}
        rows = store.query(
            f"""SELECT ?s ?p ?o WHERE {{ {{ BIND(<{claim}> AS ?s) ?s ?p ?o }}
               UNION {{ <{claim}> (m99:hasDiagnosis|m99:hasLine|m99:hasFinding) ?s . ?s ?p ?o }} }}""",
            prefixes={"m99": M99})
        triples = [ox.Triple(r["s"], r["p"], r["o"]) for r in rows]
        ids = [t.object.value for t in triples if t.predicate.value == M99 + "claimId"]
        out.append(ClaimGraph(claim, ids[0], triples, source))
    return out


def key(g: ClaimGraph) -> tuple:
    return g.iri, g.claim_id, g.source, frozenset(g.triples)


@pytest.fixture(scope="module")
def generated() -> list[dict]:
    return list(generate(120, seed=11))


def with_bad_claims(claims: list[dict]) -> tuple[list, set[int]]:
    """The claims with bad ones mixed in: not an object, a wrong type, an unknown field, a repeated id."""
    items: list = copy.deepcopy(claims)
    items.insert(3, "not a claim")
    items.insert(10, dict(items[9], visitNumber="three", id="BAD-VISIT"))
    items.insert(20, dict(items[19], id="BAD-FIELD", colour="blue"))
    items.insert(30, dict(items[29]))  # same id as the claim before it
    bad_line = copy.deepcopy(items[40])
    bad_line["id"] = "BAD-POINTER"
    bad_line["lines"] = [{"procedure": "98940", "pointers": [1, "2"]}]
    items.insert(41, bad_line)
    return items, {3, 10, 20, 30, 41}


def test_batch_reading_equals_claim_by_claim_reading(generated):
    items, bad = with_bad_claims(generated)
    errors: list[ClaimInputError] = []
    batch = claims_from_objects(items, "gen.json", errors)
    good = [obj for i, obj in enumerate(items) if i not in bad]
    reference = reference_reading(good, "gen.json")
    assert [g.claim_id for g in batch] == [obj["id"] for obj in good]  # input order, bad claims left out
    assert [key(g) for g in batch] == [key(g) for g in reference]
    assert len(errors) == len(bad)
    wheres = [f"gen.json: claims[{i}]" for i in sorted(bad)]
    assert all(e.where == w or e.where.startswith(w + ".") for e, w in zip(errors, wheres, strict=True))
    assert "appears twice" in str(errors[3]) and "pointers" in str(errors[4])


def test_errors_are_those_check_claim_gives_and_raise_without_a_list(generated):
    items, bad = with_bad_claims(generated[:45])
    errors: list[ClaimInputError] = []
    claims_from_objects(items, "f", errors)
    first_bad = min(bad)
    with pytest.raises(ClaimInputError) as raised:
        check_claim(items[first_bad], f"f: claims[{first_bad}]")
    assert str(errors[0]) == str(raised.value)
    with pytest.raises(ClaimInputError) as again:
        claims_from_objects(items, "f")
    assert str(again.value) == str(raised.value)


def test_numbering_matches_the_json(generated):
    """Independent of the rules' formulation: positions, codes, pointers as the JSON has them."""
    graphs = claims_from_objects(generated, "gen")
    for obj, g in zip(generated, graphs, strict=True):
        facts: dict[tuple[str, str], list] = {}
        for t in g.triples:
            facts.setdefault((t.subject.value, t.predicate.value), []).append(t.object.value)
            assert not isinstance(t.subject, ox.BlankNode) and not isinstance(t.object, ox.BlankNode)
            assert not t.predicate.value.endswith(("List", "pointer-list")), t
        for n, code in enumerate(obj.get("diagnoses", []), 1):
            node = f"{g.iri}/diagnosis/{n}"
            assert facts[(node, M99 + "sequence")] == [str(n)]
            assert facts[(node, M99 + "codeText")] == [code]
            assert facts[(node, M99 + "diagnosisCode")][0].startswith(ICD)
        for n, line in enumerate(obj.get("lines", []), 1):
            node = f"{g.iri}/line/{n}"
            assert facts[(node, M99 + "sequence")] == [str(n)]
            pointers = line.get("pointers", [])
            assert sorted(facts.get((node, M99 + "pointer"), []), key=int) == sorted({str(p) for p in pointers}, key=int)
            assert facts.get((node, M99 + "primaryPointer"), []) == ([str(pointers[0])] if pointers else [])
            assert facts.get((node, M99 + "pointerCount"), []) == ([str(len(pointers))] if pointers else [])
        for n, _finding in enumerate(obj.get("findings", []), 1):
            assert facts[(f"{g.iri}/finding/{n}", M99 + "sequence")] == [str(n)]
        links = {M99 + "hasDiagnosis": "diagnoses", M99 + "hasLine": "lines", M99 + "hasFinding": "findings"}
        for link, field in links.items():
            assert len(facts.get((g.iri, link), [])) == len(obj.get(field, []))
        assert sorted(g.linked) == sorted(o for link in links for o in facts.get((g.iri, link), []))


def test_many_small_reads_across_store_rebuilds_and_threads(generated, monkeypatch):
    monkeypatch.setattr(claim_graph._Normalizer, "REBUILD_AFTER", 300)
    expected = [key(g) for g in reference_reading(generated[:24], "s")]
    results: dict[int, list] = {}

    def read(n: int) -> None:
        results[n] = [key(g) for obj in generated[:24] for g in claims_from_objects([obj], "s")]

    threads = [threading.Thread(target=read, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[n] for n in range(3)] == [expected] * 3


def test_turtle_and_jsonld_readers_split_the_same_way(generated):
    (g,) = claims_from_objects(generated[:1], "x")
    turtle = "".join(f"{t} .\n" for t in g.triples)
    (again,) = read_text(turtle, "x", "turtle")
    assert key(again) == key(g)
    doc = json.dumps({"@context": "https://w3id.org/m99kg/claim-context.jsonld", **generated[0]})
    (from_jsonld,) = read_text(doc, "x", "jsonld")
    assert key(from_jsonld) == key(g)


def test_claim_graph_keeps_its_text_until_asked_and_pickles(generated):
    (g,) = claims_from_objects(generated[:1], "x")
    assert g.ntriples is not None and g.linked
    copy_ = pickle.loads(pickle.dumps(g))
    assert key(copy_) == key(g) and copy_.linked == g.linked and copy_ == g
    plain = ClaimGraph(g.iri, g.claim_id, list(g.triples), "x")
    assert plain.ntriples is None and sorted(plain.linked) == sorted(g.linked) and plain == g
    assert ClaimGraph("urn:x", "x").triples == []


def test_fast_validator_gives_the_same_report_from_text_and_from_triples(store, generated):
    validator = FastValidator(store)
    graphs = claims_from_objects(generated[:40], "v")
    plain = [ClaimGraph(g.iri, g.claim_id, list(g.triples), g.source) for g in graphs]
    assert all(g.ntriples is not None for g in graphs) and all(g.ntriples is None for g in plain)
    from_text = validator.validate(graphs).as_json()
    from_triples = validator.validate(plain).as_json()
    assert from_text == from_triples
    assert any(c["results"] for c in from_text["claims"])  # generated faults are found


def test_a_lone_surrogate_is_an_input_error_naming_the_field_and_the_rest_load():
    good = list(generate(3, 5))
    bad = copy.deepcopy(good[1])
    bad["id"] = "SURROGATE-1"
    bad["patient"] = "P-\ud800"
    worse = copy.deepcopy(good[2])
    worse["id"] = "SURROGATE-2"
    worse["findings"] = [{"region": "sacral", "element": "asymmetry", "text": "left \udfff sulcus"}]
    errors: list[ClaimInputError] = []
    graphs = claims_from_objects([good[0], bad, worse, good[1]], "t.json", errors)
    assert [g.claim_id for g in graphs] == [good[0]["id"], good[1]["id"]]
    assert [e.where for e in errors] == ["t.json: claims[1].patient", "t.json: claims[2].findings[0].text"]
    assert all("lone surrogate" in e.problem for e in errors)
