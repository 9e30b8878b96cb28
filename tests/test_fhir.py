"""FHIR R4 claims: the HL7 and Synthea corpus imports, the writer round-trips, bad input is located."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from server.claims.errors import ClaimInputError
from server.claims.fhir import (
    CPT,
    ICD10CM,
    NPI,
    NUCC,
    SOPT,
    SYS_ELEMENT,
    SYS_INFO,
    SYS_REGION,
    check_structure,
    claim_objects_from_fhir,
    claims_from_fhir,
)
from server.claims.fhir_write import write_fhir_bundle
from server.claims.jsonform import claims_from_objects
from server.claims.readers import detect_format, read_text
from server.validation.engine import Validator
from server.validation.rdfconv import add_triples
from tests.conftest import ROOT, SHARED

CORPUS = SHARED / "corpora" / "fhir-claim"
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*.json") if p.name != "package.json") if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not CORPUS_FILES and not os.environ.get("CI"),
                                  reason=f"FHIR claim corpus not found at {CORPUS}")
EXAMPLES = ROOT / "examples"
CLEAN = json.loads((EXAMPLES / "clean-medicare-claim.json").read_text(encoding="utf-8"))
M99KG = shutil.which("m99kg") or str(Path(sys.executable).parent / "m99kg")


def example_claims() -> list[tuple[str, dict]]:
    out = [("clean-medicare-claim", CLEAN)]
    for path in sorted((EXAMPLES / "claims").glob("*/*.json")):
        if path.name == "expected.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, claim in enumerate(data if isinstance(data, list) else [data]):
            out.append((f"{path.parent.name}/{path.stem}[{i}]", claim))
    return out


def canonical(claim: dict) -> dict:
    """The reader's canonical form: the lists always present except an empty `findings` (docs/fhir-mapping.md)."""
    out = copy.deepcopy(claim)
    out.setdefault("diagnoses", [])
    out.setdefault("lines", [])
    if out.get("findings") == []:
        del out["findings"]
    for line in out["lines"]:
        line.setdefault("modifiers", [])
        line.setdefault("pointers", [])
    return out


def read_back(claims: list[dict]) -> list[dict]:
    errors: list[ClaimInputError] = []
    items, _ = claim_objects_from_fhir(json.dumps(write_fhir_bundle(claims)), "bundle.json", errors)
    assert errors == []
    return items


def resources(bundle: dict, rtype: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def as_rdflib(graphs) -> rdflib.Graph:
    g = rdflib.Graph()
    for cg in graphs:
        add_triples(g, cg.triples)
    return g


# --- the corpus ----------------------------------------------------------------------------------

@needs_corpus
def test_corpus_is_present():
    assert len(CORPUS_FILES) == 21, [p.name for p in CORPUS_FILES]


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_file_imports_or_says_why(path: Path):
    text = path.read_text(encoding="utf-8")
    assert detect_format(text) == "fhir"
    if path.name.startswith("ExplanationOfBenefit-"):
        with pytest.raises(ClaimInputError) as exc:
            read_text(text, path.name)
        assert exc.value.where == f"{path.name}: ExplanationOfBenefit"
        assert "adjudication" in exc.value.problem
        return
    errors: list[ClaimInputError] = []
    graphs = read_text(text, path.name, errors=errors)
    assert errors == []
    assert graphs and all(g.triples for g in graphs)


@needs_corpus
def test_corpus_counts_and_mapping():
    def objects(name: str) -> list[dict]:
        (path,) = [p for p in CORPUS_FILES if p.name.startswith(name)]
        items, _ = claim_objects_from_fhir(path.read_text(encoding="utf-8"), path.name)
        return items

    (med,) = objects("Claim-MED-00050")
    assert med == {"id": "MED-00050", "payer": "commercial", "serviceDate": "2015-10-13",
                   "diagnoses": ["M96.1", "G89.4", "M53.88", "M47.816"],
                   "lines": [{"procedure": "62264", "modifiers": [], "pointers": [2, 4]}]}
    (oral,) = objects("Claim-100150")  # uncoded diagnosis "123456", oral service codes: nothing to map
    assert oral == {"id": "100150", "serviceDate": "2014-08-16", "diagnoses": [], "lines": []}
    (plan,) = objects("Claim-100153")  # WHO ICD-10 system: kept, the code set rule reports the unknown code
    assert plan["diagnoses"] == ["123457"]
    (ident,) = objects("Claim-100154")  # patient by identifier reference
    assert ident["patient"] == "123AB345"
    bob = objects("Bob965")
    cecelia = objects("Cecelia952")
    assert (len(bob), len(cecelia)) == (32, 29)
    assert {c["patient"] for c in bob} == {"3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b"}
    assert all(c["payer"] == "commercial" and c["diagnoses"] == [] and c["lines"] == [] for c in bob + cecelia)
    assert all(len(c["serviceDate"]) == 10 for c in bob + cecelia)


# --- writer and round trip ------------------------------------------------------------------------

def test_clean_claim_round_trips_exactly():
    assert read_back([CLEAN]) == [CLEAN]


@pytest.mark.parametrize("name", ["cmt-level-regions", "stenosis-mechanism", "medicare-98943-at", "pointer-target",
                                  "diagnosis-count", "stenosis-site"])
def test_fires_examples_round_trip_exactly(name: str):
    claims = json.loads((EXAMPLES / "claims" / name / "fires.json").read_text(encoding="utf-8"))
    claims = claims if isinstance(claims, list) else [claims]
    assert read_back(claims) == claims


def test_every_example_round_trips_to_its_canonical_form():
    named = example_claims()
    assert len(named) > 80
    by_id: dict[str, dict] = {}
    for _, claim in named:
        by_id.setdefault(claim["id"], claim)  # ids repeat across example files
    claims = list(by_id.values())
    assert read_back(claims) == [canonical(c) for c in claims]


def test_written_bundle_is_valid_fhir_and_deterministic():
    claims = [CLEAN, dict(CLEAN, id="CLEAN_2~x", payer="commercial", providerType="osteopath")]
    bundle = write_fhir_bundle(claims)
    check_structure(bundle, "bundle")  # fhir.resources R4B Bundle model, every entry included
    assert bundle == write_fhir_bundle(copy.deepcopy(claims))
    assert bundle["type"] == "collection"
    assert [len(resources(bundle, t)) for t in ("Claim", "Patient", "Practitioner", "Coverage", "Observation")] \
        == [2, 1, 1, 2, 12]
    first, second = resources(bundle, "Claim")
    assert first["id"] == "CLEAN-MCR-0001" and second["id"].startswith("claim-")  # '_' '~' are not in FHIR ids
    assert second["identifier"][0]["value"] == "CLEAN_2~x"
    assert first["diagnosis"][0]["diagnosisCodeableConcept"]["coding"] == [{"system": ICD10CM, "code": "M99.03"}]
    assert first["item"][0]["productOrService"]["coding"][0] == {"system": CPT, "code": "98940"}
    assert {"system": NUCC, "code": "111N00000X", "display": "Chiropractor"} in first["careTeam"][0]["qualification"]["coding"]
    medicare = [c for c in resources(bundle, "Coverage") if any(x["system"] == SOPT[0] and x["code"] == "1"
                                                                for x in c["type"]["coding"])]
    assert len(medicare) == 1
    assert resources(bundle, "Practitioner")[0]["identifier"] == [{"system": NPI, "value": "1234567893"}]
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)


def test_writer_refuses_what_fhir_cannot_hold():
    with pytest.raises(ClaimInputError, match=r"claims\[0\]\.lines\[0\]\.pointers\[0\]: pointer 0"):
        write_fhir_bundle([dict(CLEAN, lines=[{"procedure": "98940", "modifiers": [], "units": 1, "pointers": [0]}])])
    with pytest.raises(ClaimInputError, match=r"claims\[1\]\.id"):
        write_fhir_bundle([CLEAN, CLEAN])
    with pytest.raises(ClaimInputError, match=r"claims\[0\]\.colour: unknown field"):
        write_fhir_bundle([dict(CLEAN, colour="red")])


def test_minimal_claim_round_trips_with_absent_parts():
    minimal = {"id": "MIN-1", "diagnoses": ["M99.03"], "lines": []}
    bundle = write_fhir_bundle([minimal])
    check_structure(bundle, "bundle")
    assert resources(bundle, "Patient") == [] and resources(bundle, "Coverage") == []
    assert read_back([minimal]) == [minimal]


def test_fhir_claim_graph_and_report_equal_the_json_ones(store):
    claims = [CLEAN]
    for name in ("cmt-level-regions", "stenosis-mechanism", "medicare-98943-gy"):
        data = json.loads((EXAMPLES / "claims" / name / "fires.json").read_text(encoding="utf-8"))
        claims += data if isinstance(data, list) else [data]
    from_json = claims_from_objects(claims, "claims.json")
    from_fhir = claims_from_fhir(json.dumps(write_fhir_bundle(claims)), "bundle.json")
    assert [g.iri for g in from_fhir] == [g.iri for g in from_json] and len(from_fhir) == len(claims)
    assert isomorphic(as_rdflib(from_fhir), as_rdflib(from_json))
    assert {(t.subject, t.predicate, t.object) for g in from_fhir for t in g.triples} == \
        {(t.subject, t.predicate, t.object) for g in from_json for t in g.triples}
    validator = Validator(store)  # the same triples give the same report; checked on two claims to keep it fast
    report = validator.validate(from_fhir[:2]).as_json()
    assert report == validator.validate(from_json[:2]).as_json()
    assert report["summary"]["violations"] > 0  # the fires examples do fire through FHIR too


# --- mapping details ------------------------------------------------------------------------------

def professional_claim(**extra) -> dict:
    claim = {
        "resourceType": "Claim", "id": "P-1", "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim", "patient": {"reference": "Patient/pat"}, "created": "2026-03-02",
        "provider": {"reference": "Organization/org"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov"}}],
        "diagnosis": [
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://snomed.info/sct",
                                                                     "code": "279039007"}]}},
            {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": "M54.50"}]}},
            {"sequence": 3, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": "M99.03"}]},
             "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                   "code": "principal"}]}]},
        ],
        "item": [{"sequence": 1, "productOrService": {"coding": [{"system": CPT, "code": "98940"}]},
                  "modifier": [{"coding": [{"system": "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
                                            "code": "AT"}]}],
                  "quantity": {"value": 1}, "diagnosisSequence": [3, 1, 2, 7], "servicedDate": "2026-03-02"}],
    }
    claim.update(extra)
    return claim


def bundle_of(*resources_: dict) -> str:
    return json.dumps({"resourceType": "Bundle", "type": "collection",
                       "entry": [{"fullUrl": f"http://example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
                                 for r in resources_]})


PATIENT = {"resourceType": "Patient", "id": "pat", "identifier": [
    {"system": "http://hospital.example.org", "value": "other"},
    {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
     "system": "http://hospital.example.org/mrn", "value": "MRN-9"}]}
COVERAGE = {"resourceType": "Coverage", "id": "cov", "status": "active", "beneficiary": {"reference": "Patient/pat"},
            "type": {"coding": [{"system": "https://nahdo.org/sopt", "code": "121"}]},
            "payor": [{"reference": "Organization/payer"}]}
ROLE = {"resourceType": "PractitionerRole", "id": "role", "practitioner": {"reference": "Practitioner/doc"},
        "specialty": [{"coding": [{"system": NUCC, "code": "225100000X"}]}]}
DOC = {"resourceType": "Practitioner", "id": "doc", "identifier": [{"system": NPI, "value": "1234567893"}]}


def test_bundle_mapping_principal_pointers_payer_and_provider():
    claim = professional_claim(careTeam=[{"sequence": 1, "provider": {"reference": "PractitionerRole/role"}}])
    (obj,), wheres = claim_objects_from_fhir(bundle_of(claim, PATIENT, COVERAGE, ROLE, DOC), "b.json")
    assert wheres == ["b.json: Bundle.entry[0].resource(Claim/P-1)"]
    # the principal moves first; the SNOMED diagnosis is skipped and the pointer to it dropped;
    # a pointer to no diagnosis (7) stays as written for the pointer rules
    assert obj == {"id": "P-1", "payer": "medicare", "providerType": "physical-therapist", "provider": "1234567893",
                   "patient": "MRN-9", "serviceDate": "2026-03-02", "diagnoses": ["M99.03", "M54.50"],
                   "lines": [{"procedure": "98940", "modifiers": ["AT"], "units": 1, "pointers": [1, 2, 7]}]}


def test_payer_by_name_and_conditional_references():
    claim = professional_claim(insurance=[{"sequence": 1, "focal": True, "coverage": {"display": "Medicare Part B"}}],
                               patient={"reference": "Patient?identifier=http://hospital.example.org/mrn|MRN-9"},
                               careTeam=[{"sequence": 1, "provider": {"identifier": {"system": NPI, "value": "1497758544"}},
                                          "qualification": {"coding": [{"system": NUCC, "code": "111N00000X"}]}}])
    (obj,), _ = claim_objects_from_fhir(bundle_of(claim, PATIENT), "b.json")
    assert (obj["payer"], obj["patient"], obj["provider"], obj["providerType"]) == \
        ("medicare", "MRN-9", "1497758544", "chiropractor")
    claim["insurance"] = [{"sequence": 1, "focal": True, "coverage": {"display": "Aetna"}}]
    (obj,), _ = claim_objects_from_fhir(bundle_of(claim, PATIENT), "b.json")
    assert obj["payer"] == "commercial"


def test_contained_finding_observation():
    obs = {"resourceType": "Observation", "id": "f1", "status": "final",
           "code": {"coding": [{"system": SYS_ELEMENT, "code": "restriction"}]},
           "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "122496007"},
                                   {"system": SYS_REGION, "code": "lumbar"}]},
           "valueString": "L4-L5 extension restricted"}
    claim = professional_claim(contained=[obs], supportingInfo=[
        {"sequence": 1, "category": {"coding": [{"code": "info"}]}, "valueReference": {"reference": "#f1"}},
        {"sequence": 2, "category": {"coding": [{"code": "info"}]}, "code": {"coding": [{"system": SYS_INFO,
                                                                                           "code": "visit-number"}]},
         "valueQuantity": {"value": 4}}])
    (obj,), _ = claim_objects_from_fhir(json.dumps(claim), "c.json")
    assert obj["findings"] == [{"region": "lumbar", "element": "restriction", "text": "L4-L5 extension restricted"}]
    assert obj["visitNumber"] == 4


# --- bad input ------------------------------------------------------------------------------------

def error_of(text: str, source: str = "bad.json") -> ClaimInputError:
    with pytest.raises(ClaimInputError) as exc:
        claims_from_fhir(text, source)
    return exc.value


@pytest.mark.parametrize(("text", "where", "problem"), [
    ('{"resourceType": "Claim",\n "id": }', "bad.json:2:8", "not valid JSON"),
    ('{"resourceType": "Patient", "id": "p"}', "bad.json: Patient", "resourceType 'Patient' is not imported"),
    ('[{"resourceType": "Claim"}]', "bad.json", "expected one FHIR resource"),
    ('{"resourceType": "Bundle", "type": "collection", "entry": []}', "bad.json: Bundle", "no Claim"),
    ('{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}', "bad.json: Bundle.entry[0]",
     "expected an entry with a resource"),
])
def test_document_errors(text: str, where: str, problem: str):
    exc = error_of(text)
    assert exc.where == where and problem in exc.problem


def test_claim_missing_a_required_part():
    claim = professional_claim()
    del claim["patient"]
    exc = error_of(json.dumps(claim))
    assert exc.where == "bad.json: Claim(P-1).patient" and "not valid FHIR R4" in exc.problem


@pytest.mark.parametrize(("change", "where", "problem"), [
    (lambda c: c["item"][0]["quantity"].update(value=1.5), "item[0].quantity.value", "expected a positive integer"),
    (lambda c: c["item"][0]["quantity"].update(value="one"), "item[0].quantity.value", "not valid FHIR R4"),
    (lambda c: c["item"][0]["modifier"][0]["coding"][0].update(code="ATX"), "item[0].modifier[0].coding[0].code",
     "two-character modifier"),
    (lambda c: c["diagnosis"][1]["diagnosisCodeableConcept"]["coding"][0].update(code="M54 50"),
     "diagnosis[1].diagnosisCodeableConcept.coding[0].code", "not an ICD-10-CM code"),
    (lambda c: c.update(supportingInfo=[{"sequence": 1, "category": {"coding": [{"code": "info"}]},
                                         "valueReference": {"reference": "Observation/missing"}}]),
     "supportingInfo[0].valueReference", "'Observation/missing' does not resolve in the Bundle"),
    (lambda c: c["diagnosis"].append({"sequence": 4, "diagnosisReference": {"reference": "Condition/gone"}}),
     "diagnosis[3].diagnosisReference", "does not resolve"),
    (lambda c: c["item"][0].update(servicedDate="2026-03"), "item[0].servicedDate", "expected a full date"),
])
def test_claim_errors_name_the_fhirpath(change, where: str, problem: str):
    claim = professional_claim()
    change(claim)
    exc = error_of(bundle_of(professional_claim(id="OK-1"), claim, PATIENT), "bundle.json")
    assert exc.where == f"bundle.json: Bundle.entry[1].resource(Claim/P-1).{where}"
    assert problem in exc.problem


def test_input_the_fhir_model_itself_trips_on_is_an_input_error():
    """Found by fuzzing (500s before): a lone surrogate, and a contained resource whose resourceType the
    FHIR model cannot look up (it raised a KeyError, not a validation error)."""
    claim = professional_claim(facility={"identifier": {"system": "http://example.org/f", "value": "F1"},
                                         "resourceType": "\ud800x"})
    exc = error_of(bundle_of(claim, PATIENT), "bundle.json")
    assert exc.where == "bundle.json: Bundle.entry[0].resource.facility.resourceType"
    assert "lone surrogate" in exc.problem
    del claim["facility"]
    claim["contained"] = [{"resourceType": "Prey.com/actitioner", "id": "provider-1"}]
    exc = error_of(bundle_of(claim, PATIENT), "bundle.json")
    assert exc.where == "bundle.json: Bundle.entry[0].resource(Claim/P-1)" and "not valid FHIR R4" in exc.problem


def test_bad_finding_observation_is_located_in_its_own_entry():
    obs = {"resourceType": "Observation", "id": "o1", "status": "final",
           "code": {"coding": [{"system": SYS_ELEMENT, "code": "Asymmetry!"}]}}
    claim = professional_claim(supportingInfo=[{"sequence": 1, "category": {"coding": [{"code": "info"}]},
                                                "valueReference": {"reference": "Observation/o1"}}])
    exc = error_of(bundle_of(claim, obs))
    assert exc.where == "bad.json: Bundle.entry[1].resource(Observation/o1).code.coding[0].code"
    assert "documentation element token" in exc.problem


def test_one_bad_claim_leaves_the_others():
    bad = professional_claim(id="BAD-1")
    bad["item"][0]["quantity"]["value"] = 0
    errors: list[ClaimInputError] = []
    graphs = read_text(bundle_of(professional_claim(id="GOOD-1"), bad, professional_claim(id="GOOD-2"), PATIENT),
                       "mixed.json", errors=errors)
    assert [g.claim_id for g in graphs] == ["GOOD-1", "GOOD-2"]
    assert [str(e) for e in errors] == ["mixed.json: Bundle.entry[1].resource(Claim/BAD-1).item[0].quantity.value: "
                                        "expected a positive integer (service units), found 0"]


def test_cli_validates_a_fhir_bundle(tmp_path: Path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(write_fhir_bundle([CLEAN])), encoding="utf-8")
    r = subprocess.run([M99KG, "validate", "--format", "json", str(path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["conforms"] is True and [c["claim"] for c in report["claims"]] == ["CLEAN-MCR-0001"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Patient", "id": "x"}', encoding="utf-8")
    r = subprocess.run([M99KG, "validate", str(bad)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "resourceType 'Patient' is not imported" in r.stderr
