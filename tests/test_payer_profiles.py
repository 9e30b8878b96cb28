"""The claim's payer selects a profile of shapes/payer-profiles.ttl that may change a rule's severity."""

from __future__ import annotations

import json

import rdflib

from server.claims.jsonform import claims_from_json
from server.validation.engine import Validator

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


def claim(payer: str) -> str:
    return json.dumps({"id": f"PROFILE-{payer}", "payer": payer, "providerType": "chiropractor",
                       "serviceDate": "2026-03-02", "diagnoses": ["M99.04", "M54.50"],
                       "lines": [{"procedure": "98942", "modifiers": ["AT"], "units": 1, "pointers": [1, 2]}]})


def level_results(store, payer: str):
    report = Validator(store).validate(claims_from_json(claim(payer)))
    return report, [r for r in report.claims[0].results if r.rule == "cmt-level-regions"]


def test_default_severity_for_medicare(store):
    _report, results = level_results(store, "medicare")
    assert [r.severity for r in results] == ["Violation"]


def test_commercial_profile_turns_the_level_mismatch_into_a_warning(store):
    report, results = level_results(store, "commercial")
    assert [r.severity for r in results] == ["Warning"]
    assert report.conforms or any(r.severity == "Violation" for r in report.claims[0].results)
    severities = {report.graph.value(n, SH.resultSeverity) for n in report.graph.subjects(SH.resultMessage, None)
                  if "98942" in str(report.graph.value(n, SH.resultMessage))}
    assert SH.Warning in severities and SH.Violation not in severities
