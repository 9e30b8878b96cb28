"""Claims in: the JSON form through the JSON-LD context, JSON-LD and Turtle, and bad input."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from server.claims.errors import ClaimInputError
from server.claims.jsonform import claims_from_json
from server.claims.readers import CONTEXT_IRI, read_text
from server.validation.rdfconv import add_triples

README_CLAIM = {
    "id": "CLM-0001", "payer": "medicare", "providerType": "chiropractor", "provider": "1234567893",
    "patient": "P-17", "serviceDate": "2026-03-02", "treatmentStart": "2026-02-20", "xrayDate": "2026-02-18",
    "visitNumber": 3, "diagnoses": ["M99.04", "M54.31"],
    "lines": [{"procedure": "98940", "modifiers": ["AT"], "units": 1, "pointers": [1, 2]}],
    "findings": [
        {"region": "sacral", "element": "asymmetry", "text": "deep left sulcus"},
        {"region": "sacral", "element": "restriction"},
        {"element": "functional-impact", "text": "cannot sit more than 15 minutes"},
        {"region": "sacral", "element": "mechanism", "value": "connective-tissue"},
        {"region": "sacral", "element": "site", "value": "neural-canal"},
    ],
}

CLAIM = "https://w3id.org/m99kg/claim/CLM-0001"
M99 = "https://w3id.org/m99kg/vocab#"


def as_rdflib(graph) -> rdflib.Graph:
    return add_triples(rdflib.Graph(), graph.triples)


def has(graph, s, p, o) -> bool:
    return any(t.subject.value == s and t.predicate.value == M99 + p and t.object.value == o for t in graph.triples)


def test_json_form_becomes_the_claim_graph():
    (g,) = claims_from_json(json.dumps(README_CLAIM))
    assert g.iri == CLAIM and g.claim_id == "CLM-0001"
    assert has(g, CLAIM, "payer", "https://w3id.org/m99kg/id/payer/medicare")
    assert has(g, CLAIM + "/diagnosis/1", "diagnosisCode", "http://purl.bioontology.org/ontology/ICD10CM/M99.04")
    assert has(g, CLAIM + "/diagnosis/2", "diagnosisCode", "http://purl.bioontology.org/ontology/ICD10CM/M54.31")
    assert has(g, CLAIM + "/line/1", "procedure", "http://purl.bioontology.org/ontology/CPT/98940")
    assert has(g, CLAIM + "/line/1", "modifier", "AT")
    assert has(g, CLAIM + "/line/1", "pointer", "2") and has(g, CLAIM + "/line/1", "primaryPointer", "1")
    assert has(g, CLAIM + "/finding/4", "findingValue", "https://w3id.org/m99kg/id/mechanism/connective-tissue")
    assert has(g, CLAIM + "/finding/5", "findingValue", "https://w3id.org/m99kg/id/site/neural-canal")
    assert not any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in g.triples)


def test_undotted_codes_and_reloading_give_the_same_graph():
    undotted = dict(README_CLAIM, diagnoses=["M9904", "m5431"])
    (a,) = claims_from_json(json.dumps(README_CLAIM))
    (b,) = claims_from_json(json.dumps(undotted))
    assert has(b, CLAIM + "/diagnosis/1", "codeText", "M9904")
    strip = {M99 + "codeText"}
    ga = [t for t in a.triples if t.predicate.value not in strip]
    gb = [t for t in b.triples if t.predicate.value not in strip]
    assert set(map(str, ga)) == set(map(str, gb))


def test_json_ld_with_the_project_context_by_iri_equals_the_json_form():
    (a,) = claims_from_json(json.dumps(README_CLAIM))
    (b,) = read_text(json.dumps({"@context": CONTEXT_IRI, **README_CLAIM}), "c.jsonld")
    assert isomorphic(as_rdflib(a), as_rdflib(b))


def test_turtle_in_canonical_form_equals_the_json_form():
    (a,) = claims_from_json(json.dumps(README_CLAIM))
    turtle = rdflib.Graph()
    add_triples(turtle, a.triples)
    (b,) = read_text(turtle.serialize(format="turtle"), "c.ttl")
    assert isomorphic(as_rdflib(a), as_rdflib(b))


def test_remote_json_ld_contexts_are_refused_not_fetched():
    doc = {"@context": "http://example.org/evil-context.jsonld", **README_CLAIM}
    with pytest.raises(ClaimInputError, match="remote JSON-LD context"):
        read_text(json.dumps(doc), "c.jsonld")


def test_json_ld_an_empty_context_or_a_lone_surrogate_is_an_input_error():
    """Found by fuzzing: "@context": [] was an IndexError (a 500 from /validate)."""
    with pytest.raises(ClaimInputError, match="no claim found"):
        read_text(json.dumps({"@context": [], **README_CLAIM}), "c.jsonld")
    (a,) = read_text(json.dumps({"@context": [CONTEXT_IRI], **README_CLAIM}), "c.jsonld")
    assert isomorphic(as_rdflib(a), as_rdflib(claims_from_json(json.dumps(README_CLAIM))[0]))
    with pytest.raises(ClaimInputError) as err:
        read_text(json.dumps({"@context": CONTEXT_IRI, **README_CLAIM, "patient": "P\ud800"}), "c.jsonld")
    assert err.value.where == "c.jsonld.patient" and "lone surrogate" in err.value.problem


@pytest.mark.parametrize(("change", "where"), [
    ({"visitNumber": "3"}, "claim.visitNumber"),
    ({"diagnoses": "M99.04"}, "claim.diagnoses"),
    ({"lines": [{"procedure": "98940", "pointers": [1, "2"]}]}, "claim.lines[0].pointers"),
    ({"serviceDate": "2026-02-30"}, "claim.serviceDate"),
    ({"id": ""}, "claim.id"),
    ({"colour": "blue"}, "claim.colour"),
    ({"@context": {}}, "claim.@context"),
])
def test_malformed_fields_are_named(change, where):
    with pytest.raises(ClaimInputError) as err:
        claims_from_json(json.dumps(dict(README_CLAIM, **change)), "in.json")
    assert err.value.where == f"in.json: {where}"


def test_malformed_json_names_line_and_column():
    with pytest.raises(ClaimInputError) as err:
        claims_from_json('{"id": "A",\n "diagnoses": [,]}', "in.json")
    assert err.value.where == "in.json:2:16"


def test_one_bad_claim_in_a_file_does_not_lose_the_others():
    errors: list[ClaimInputError] = []
    good = dict(README_CLAIM, id="GOOD")
    bad = dict(README_CLAIM, id="BAD", units="x", diagnoses=[1])
    graphs = claims_from_json(json.dumps([good, bad, dict(good, id="GOOD-2")]), "batch.json", errors)
    assert [g.claim_id for g in graphs] == ["GOOD", "GOOD-2"]
    assert len(errors) == 1 and "claims[1]" in errors[0].where


def test_a_claim_with_nothing_a_claim_is_read_by_is_an_input_error_not_lost(tmp_path):
    """{"id": "B"} once became no graph and no error; the readers and the batch now name it."""
    from server.validation import batch

    items = [dict(README_CLAIM, id="GOOD"), {"id": "BARE"}, {"id": "VISIT", "visitNumber": 3, "patient": "P-1"}]
    errors: list[ClaimInputError] = []
    graphs = read_text(json.dumps(items), "f.json", None, errors)
    assert [g.claim_id for g in graphs] == ["GOOD"]
    assert [(e.where, e.problem.split(" has ")[0]) for e in errors] == [
        ("f.json: claims[1]", "claim 'BARE'"), ("f.json: claims[2]", "claim 'VISIT'")]
    assert "nothing to validate" in errors[0].problem
    with pytest.raises(ClaimInputError, match="claim 'BARE' has none of the fields"):
        read_text('{"id": "BARE"}', "body")
    with pytest.raises(ClaimInputError, match=r"claim\.id: required"):  # found by fuzzing: a TypeError (500)
        read_text('{"id": {}, "payer": "medicare"}', "body")
    lines = tmp_path / "f.jsonl"
    lines.write_text("".join(json.dumps(i) + "\n" for i in items))
    outcomes = list(batch.validate_units(batch.units([lines], batch_size=2)))
    assert [r.claim.rsplit("/", 1)[-1] for o in outcomes for r in o.reports] == ["GOOD"]
    assert [e.where for o in outcomes for e in o.errors] == [f"{lines}:2: claim", f"{lines}:3: claim"]


def test_turtle_that_does_not_parse_is_an_input_error():
    with pytest.raises(ClaimInputError, match="not valid Turtle"):
        read_text("<a> <b> .", "c.ttl", "turtle")
