"""The fast engine (shapes compiled to set-at-a-time Oxigraph queries) against pySHACL.

The differential test validates 2,000 generated claims (every rule firing many times, clean
claims too) with both engines and requires identical per-claim reports: same focus nodes, rules,
severities, codes, messages and sources. The reference runs claim by claim, as the product's
reference engine does, on two processes.
"""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest
import rdflib

from server.claims.jsonform import claims_from_objects
from server.synth.generator import generate
from server.validation import compile as shapes_compiler
from server.validation.catalogue import rules
from server.validation.differential import compare_json, fast_json, reference_json
from server.validation.engine import Validator
from server.validation.fast import FastValidator

COUNT, SEED = 2000, 2026


@pytest.fixture(scope="module")
def fast(store) -> FastValidator:
    return FastValidator(store)


@pytest.fixture(scope="module")
def claims() -> list[dict]:
    return list(generate(COUNT, SEED))


def test_every_rule_compiles(fast):
    assert len(fast.compilation.rules) == len(rules()) and not fast.compilation.fallback


def test_fast_reports_equal_pyshacl_on_generated_claims(fast, claims):
    ours = fast_json(claims, fast, batch_size=500)
    theirs = reference_json(claims, workers=2)
    fired = Counter(r["rule"] for c in theirs for r in c["results"])
    assert len(fired) >= len(rules()) * 0.8, f"the sample fires too few rules: {sorted(fired)}"
    assert sum(1 for c in theirs if not c["results"]) > COUNT // 4  # clean claims too
    n, diffs = compare_json(theirs, ours)
    assert n == 0, f"{n} of {COUNT} claims differ:\n" + "\n".join(diffs)


def test_batch_size_does_not_change_results(fast, claims):
    sample = claims[:300]
    assert fast_json(sample, fast, batch_size=1) == fast_json(sample, fast, batch_size=300)


def test_unsupported_shape_falls_back_to_pyshacl_and_says_so(store, tmp_path, caplog):
    shape = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix m99: <https://w3id.org/m99kg/vocab#> .
<https://w3id.org/m99kg/id/rule/test-min-diagnoses> a sh:NodeShape ;
    m99:ruleId "test-min-diagnoses" ; sh:severity sh:Warning ;
    sh:targetClass m99:Claim ;
    sh:property [ sh:path m99:hasDiagnosis ; sh:minCount 2 ; sh:message "fewer than two diagnoses" ] .
"""
    path = tmp_path / "claims-test.ttl"
    path.write_text(shape)
    fast = FastValidator(store, [path])
    with caplog.at_level(logging.WARNING, logger="m99kg.validation"):
        compiled = fast.compilation
    assert not compiled.rules and len(compiled.fallback) == 1
    assert "validated by pySHACL" in caplog.text and "sh:property" in caplog.text
    one = dict(id="ONE-DX", diagnoses=["M99.03"], lines=[])
    two = dict(id="TWO-DX", diagnoses=["M99.03", "M54.50"], lines=[])
    graphs = claims_from_objects([one, two], "test")
    ours = fast.validate(graphs).as_json()
    theirs = Validator(store, [path]).validate(graphs).as_json()
    assert ours == theirs
    assert [c["claim"] for c in ours["claims"] if c["results"]] == ["ONE-DX"]


def test_compiled_query_keeps_the_shape_text():
    select = "SELECT $this ?value WHERE { $this <http://x/p> ?value . FILTER NOT EXISTS { $this <http://x/q> ?v } }"
    q = shapes_compiler.compile_select(select, "http://x/C", "PREFIX x: <http://x/>")
    assert "?this <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>/" in q
    assert "$this" not in q and "FILTER NOT EXISTS { ?this <http://x/q> ?v }" in q
    with pytest.raises(ValueError, match="does not project"):
        shapes_compiler.compile_select("SELECT ?value WHERE { $this <http://x/p> ?value }", "http://x/C", "")
    with pytest.raises(ValueError, match=r"\$currentShape"):
        shapes_compiler.compile_select("SELECT $this WHERE { $this ?p $currentShape }", "http://x/C", "")


def test_messages_are_filled_as_pyshacl_fills_them():
    assert shapes_compiler.format_message("{?code} needs {$n}; {?missing}", {"code": "98941", "n": "3"}) \
        == "98941 needs 3; {?missing}"


def test_report_graph_is_shacl(fast, claims):
    graphs = claims_from_objects(claims[:50], "test")
    g = fast.validate(graphs).graph
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    results = list(g.subjects(rdflib.RDF.type, sh.ValidationResult))
    assert results and all(g.value(r, sh.sourceShape) is not None for r in results)
    assert json.loads(g.serialize(format="json-ld"))


def test_a_claim_alone_gets_the_report_it_gets_in_a_batch(store, claims):
    """A fresh engine per claim (as a new service thread has) and one engine for the batch agree;
    these claims once depended on what the engine had validated before."""
    tricky = {"SYN000007EA-0000210", "SYN000007EA-0001306", "SYN000007EA-0001342", "SYN000007EA-0001636"}
    picked = [c for c in claims if c["id"] in tricky] + claims[:16]
    assert len(picked) == 20
    in_batch = fast_json(picked, FastValidator(store))
    alone = [report for claim in picked for report in fast_json([claim], FastValidator(store))]
    assert alone == in_batch
