"""Every claim rule has a claim that breaks it and a near-identical claim that does not.

The pairs live in examples/claims/<rule-id>/ (tests/claims links there): fires.json,
passes.json and expected.json ({"severity": ..., "codes": [...]}). A shape in shapes/claims-*.ttl
without its folder, or a folder without its shape, fails the suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rdflib

from server.claims.jsonform import claims_from_json
from server.validation.engine import Validator, claim_shape_files

EXAMPLES = Path(__file__).resolve().parent / "claims"
M99_RULE_ID = rdflib.URIRef("https://w3id.org/m99kg/vocab#ruleId")


def rule_ids() -> list[str]:
    ids = []
    for path in claim_shape_files():
        g = rdflib.Graph().parse(path, format="turtle")
        ids += [str(o) for o in g.objects(None, M99_RULE_ID)]
    return sorted(ids)


RULES = rule_ids()


@pytest.fixture(scope="module")
def validator(store):
    return Validator(store)


def results_for(validator: Validator, path: Path, rule: str):
    claims = claims_from_json(path.read_text(encoding="utf-8"), path.name)
    report = validator.validate(claims)
    return [r for c in report.claims for r in c.results if r.rule == rule]


def test_rule_ids_are_unique():
    assert len(RULES) == len(set(RULES))


def test_every_rule_has_its_pair_of_claims_and_every_pair_its_rule():
    folders = {p.name for p in EXAMPLES.iterdir() if p.is_dir()}
    assert sorted(set(RULES) - folders) == [], "rules without examples/claims/<rule-id>/"
    assert sorted(folders - set(RULES)) == [], "example folders without a rule"
    for rule in RULES:
        for name in ("fires.json", "passes.json", "expected.json"):
            assert (EXAMPLES / rule / name).is_file(), f"{rule}/{name}"


@pytest.mark.parametrize("rule", RULES)
def test_rule_fires_on_the_claim_that_breaks_it(validator, rule):
    expected = json.loads((EXAMPLES / rule / "expected.json").read_text(encoding="utf-8"))
    found = results_for(validator, EXAMPLES / rule / "fires.json", rule)
    assert found, f"{rule} did not fire"
    assert {r.severity for r in found} == {expected["severity"]}
    assert sorted(expected["codes"]) in [sorted(r.codes) for r in found], [r.codes for r in found]
    assert all(r.message and r.source for r in found)


@pytest.mark.parametrize("rule", RULES)
def test_rule_is_silent_on_the_near_identical_claim(validator, rule):
    found = results_for(validator, EXAMPLES / rule / "passes.json", rule)
    assert found == [], [r.message for r in found]
