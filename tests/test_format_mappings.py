"""The format code mappings come from ontology/format-mappings.ttl and behave exactly as the old Python tables.

The expected tables and the old if-chains are written out here by hand (from docs/fhir-mapping.md
and docs/x12-837p.md), independently of the Turtle, so a changed fact in the file fails a test.
An edited copy of the file changes what the readers and writers do, which proves they use the data.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from server.claims import fhir, fhir_write, mappings, x12, x12_write
from server.claims.fhir import claim_objects_from_fhir
from server.claims.fhir_write import write_fhir_bundle
from server.claims.mappings import MappingError, load, mappings_file
from server.claims.x12 import claim_objects_from_x12
from server.claims.x12_write import write_837p

ROOT = Path(__file__).resolve().parent.parent
CLAIM = json.loads((ROOT / "examples" / "clean-medicare-claim.json").read_text(encoding="utf-8"))

# --- the contract, written out independently ---------------------------------------------------

FILING_READ = {"MA": "medicare", "MB": "medicare", "CI": "commercial", "BL": "commercial", "HM": "commercial",
               "12": "commercial", "13": "commercial", "14": "commercial", "15": "commercial", "17": "commercial"}
FILING_WRITTEN = {"medicare": "MB", "commercial": "CI"}
TAXONOMY_WRITTEN = {"chiropractor": ("111N00000X", "Chiropractor"),
                    "physical-therapist": ("225100000X", "Physical Therapist"),
                    "osteopath": ("204D00000X", "Neuromusculoskeletal Medicine & OMM"),
                    "physician": ("208D00000X", "General Practice")}
NUCC_PREFIXES = {"111N": "chiropractor", "2251": "physical-therapist", "204D": "osteopath", "204C": "osteopath",
                 "20": "physician"}
DEGREES = {"DC": "chiropractor", "DO": "osteopath", "MD": "physician", "PT": "physical-therapist",
           "DPT": "physical-therapist"}
SOPT_WRITTEN = {"medicare": ("1", "MEDICARE"), "commercial": ("5", "PRIVATE HEALTH INSURANCE")}
PAYOR_NAMES = {"medicare": "Medicare", "commercial": "Commercial insurer"}

# Every SBR09 code of 005010X222A1, and NUCC-shaped codes around each prefix the readers know.
SBR09 = ["11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI", "HM", "LM", "MA", "MB",
         "MC", "OF", "TV", "VA", "WC", "ZZ", "", "mb", "XX"]
TAXONOMIES = ["111N00000X", "111NS0005X", "111NX0100X", "225100000X", "2251S0007X", "225200000X",
              "204D00000X", "204DX0000X", "204C00000X", "204E00000X", "207Q00000X", "207R00000X",
              "208D00000X", "208000000X", "209000000X", "363L00000X", "20", "2", "", "111n00000x",
              " 204D00000X ", "1223G0001X"]
SOPT_CODES = ["1", "11", "111", "121", "2", "21", "3", "4", "5", "51", "6", "7", "8", "81", "82", "9", "95", "99",
              "0", "", "X", "18"]


def expected_provider_type(taxonomy: str) -> str | None:
    """The NUCC reading both readers share (docs/x12-837p.md, docs/fhir-mapping.md), as an if-chain."""
    if taxonomy.startswith("111N"):
        return "chiropractor"
    if taxonomy.startswith("2251"):
        return "physical-therapist"
    if taxonomy.startswith(("204D", "204C")):  # neuromusculoskeletal medicine & OMM, and its sports branch
        return "osteopath"
    if taxonomy.startswith("20"):
        return "physician"
    return None


def old_sopt(code: str) -> str | None:
    return "medicare" if code.startswith("1") else None if code.startswith("8") else "commercial"


# --- the tables read from Turtle equal the contract -----------------------------------------------

def test_tables_read_from_turtle_equal_the_contract():
    m = mappings.mappings()
    assert dict(m.filing_codes) == FILING_READ
    assert dict(m.written_filing) == FILING_WRITTEN
    assert m.filing_no_payer == "ZZ"
    assert dict(m.written_nucc) == TAXONOMY_WRITTEN
    assert dict(m.nucc_prefixes) == NUCC_PREFIXES
    assert dict(m.degrees) == DEGREES
    assert dict(m.written_sopt) == SOPT_WRITTEN
    assert dict(m.sopt_prefixes) == {"1": "medicare", "8": None} and m.sopt_fallback == "commercial"
    assert dict(m.payor_keywords) == {"medicare": "medicare"} and m.payor_fallback == "commercial"
    assert dict(m.payor_names) == PAYOR_NAMES


def test_the_old_public_names_still_work():
    from server.claims.fhir_write import NUCC_CODES, SOPT_CODES
    from server.claims.x12 import PAYER_BY_FILING

    assert PAYER_BY_FILING == FILING_READ
    assert NUCC_CODES == TAXONOMY_WRITTEN and SOPT_CODES == SOPT_WRITTEN
    assert fhir_write.PAYOR_NAMES == PAYOR_NAMES
    assert fhir.DEGREES == DEGREES
    assert fhir.NUCC_PREFIXES[:2] == (("111N", "chiropractor"), ("204C", "osteopath"))  # longest first
    assert fhir.NUCC_PREFIXES[-1] == ("20", "physician")
    assert {k: v[0] for k, v in TAXONOMY_WRITTEN.items()} == x12_write.TAXONOMY
    assert x12_write.FILING == FILING_WRITTEN
    with pytest.raises(AttributeError):
        _ = x12.NO_SUCH_TABLE


@pytest.mark.parametrize("code", TAXONOMIES)
def test_both_readers_read_a_taxonomy_alike(code):
    """One table for both formats (until session 5 the 837P reader took 204C... as physician and the FHIR
    reader knew only 207.../208... as physicians, so one claim could get two provider types)."""
    assert x12.provider_type(code) == expected_provider_type(code.strip().upper())
    if not code or code != code.strip():
        return  # not a FHIR code string at all (the FHIR reader refuses it as invalid structure)
    bundle = write_fhir_bundle([{k: v for k, v in CLAIM.items() if k != "providerType"}])
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    claim["careTeam"][0]["qualification"] = {"coding": [{"system": fhir.NUCC, "code": code}]}
    read = claim_objects_from_fhir(json.dumps(bundle))[0][0].get("providerType")
    assert read == expected_provider_type(code)  # FHIR takes the code as written (no trimming, case kept)


def test_filing_and_typology_reading_is_unchanged():
    m = mappings.mappings()
    assert {c: m.filing_payer(c) for c in SBR09} == {c: FILING_READ.get(c) for c in SBR09}
    assert {c: m.sopt_payer(c) for c in SOPT_CODES} == {c: old_sopt(c) for c in SOPT_CODES}
    assert m.payor_name_payer(["Blue Shield", "MEDICARE PART B"], False) == "medicare"
    assert m.payor_name_payer(["Acme Health"], False) == "commercial"
    assert m.payor_name_payer([], True) == "commercial"
    assert m.payor_name_payer([], False) is None


def _fhir_claim(claim: dict) -> dict:
    return claim_objects_from_fhir(json.dumps(write_fhir_bundle([claim])))[0][0]


def test_writers_write_the_contract_codes():
    for payer, ptype in (("medicare", "chiropractor"), ("commercial", "osteopath"), (None, "physical-therapist")):
        claim = {k: v for k, v in CLAIM.items() if k != "payer"} | ({"payer": payer} if payer else {})
        claim["providerType"] = ptype
        text = write_837p([claim])
        assert f"SBR*P*18*******{FILING_WRITTEN.get(payer, 'ZZ')}~" in text
        assert f"PRV*BI*PXC*{TAXONOMY_WRITTEN[ptype][0]}~" in text
        bundle = write_fhir_bundle([claim])
        codings = json.dumps(bundle)
        assert json.dumps({"system": fhir.NUCC, "code": TAXONOMY_WRITTEN[ptype][0],
                           "display": TAXONOMY_WRITTEN[ptype][1]}) in codings
        if payer:
            assert json.dumps({"system": fhir.SOPT[0], "code": SOPT_WRITTEN[payer][0],
                               "display": SOPT_WRITTEN[payer][1]}) in codings
            assert json.dumps({"display": PAYOR_NAMES[payer]}) in codings


def test_the_mappings_are_in_the_knowledge_store(store):
    rows = store.select("""SELECT ?code WHERE { ?p m99:claimValue "medicare" ; m99:claimFilingCode ?code }""")
    assert sorted(r["code"].value for r in rows) == ["MA", "MB"]


# --- data-driven: an edited copy changes the readers and writers ------------------------------------

@pytest.fixture
def edited(tmp_path, monkeypatch):
    """Edit a copy of the Turtle with (old, new) replacements and point the loader at it."""
    def apply(*replacements: tuple[str, str]) -> Path:
        text = mappings_file().read_text(encoding="utf-8")
        for old, new in replacements:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        path = tmp_path / f"format-mappings-{len(list(tmp_path.iterdir()))}.ttl"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setattr(mappings, "mappings_file", lambda: path)
        return path
    return apply


def test_an_edited_filing_code_changes_the_x12_reader_and_writer(edited):
    commercial = dict(CLAIM, payer="commercial")
    text = write_837p([commercial]).replace("SBR*P*18*******CI~", "SBR*P*18*******16~")
    assert "payer" not in claim_objects_from_x12(text)[0][0]  # 16, Medicare Advantage: no payer today
    edited(('m99:claimFilingCode "MA" , "MB" ;', 'm99:claimFilingCode "MA" , "MB" , "16" ;'),
           ('m99:writtenClaimFilingCode "CI" ;', 'm99:writtenClaimFilingCode "HM" ;'))
    assert claim_objects_from_x12(text)[0][0]["payer"] == "medicare"
    assert "SBR*P*18*******HM~" in write_837p([commercial])
    assert x12.PAYER_BY_FILING["16"] == "medicare"


def test_an_edited_taxonomy_changes_both_readers_and_writers(edited):
    assert x12.provider_type("2252P0200X") is None  # a physical therapy assistant
    edited(('m99:nuccTaxonomyPrefix "2251" ;', 'm99:nuccTaxonomyPrefix "2251" , "2252" ;'),
           ('m99:writtenNuccTaxonomy "111N00000X"', 'm99:writtenNuccTaxonomy "111NS0005X"'),
           ('m99:hl7DegreeCode "MD" ;', 'm99:hl7DegreeCode "MD" , "NP" ;'))
    assert x12.provider_type("2252P0200X") == "physical-therapist"
    assert "PRV*BI*PXC*111NS0005X~" in write_837p([CLAIM])
    assert '"code": "111NS0005X"' in json.dumps(write_fhir_bundle([CLAIM]))
    bundle = write_fhir_bundle([{k: v for k, v in CLAIM.items() if k != "providerType"}])
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    claim["careTeam"][0]["qualification"] = {"coding": [{"system": fhir.DEGREE, "code": "NP"}]}
    assert claim_objects_from_fhir(json.dumps(bundle))[0][0]["providerType"] == "physician"


def test_an_edited_typology_changes_the_fhir_reader(edited):
    bundle = write_fhir_bundle([dict(CLAIM, payer="commercial")])
    coverage = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Coverage")
    coverage["type"]["coding"] = [{"system": fhir.SOPT[0], "code": "2"}]  # Medicaid
    assert claim_objects_from_fhir(json.dumps(bundle))[0][0]["payer"] == "commercial"
    edited(("m99:noPayerPrefix \"8\" ;", "m99:noPayerPrefix \"8\" , \"2\" ;"))
    assert "payer" not in claim_objects_from_fhir(json.dumps(copy.deepcopy(bundle)))[0][0]


@pytest.mark.parametrize("replacement, problem", [
    (('m99:claimFilingCode "CI" ,', 'm99:claimFilingCode "MA" , "CI" ,'), "claimed by both"),
    (('m99:writtenClaimFilingCode "MB" ;', 'm99:writtenClaimFilingCode "MC" ;'), "is not one of its"),
    (('m99:nuccTaxonomyPrefix "204D" , "204C" ;', 'm99:nuccTaxonomyPrefix "204C" ;'), "reads back as 'physician'"),
    (('m99:writtenNoPayerCode "ZZ" ;', 'm99:writtenNoPayerCode "CI" ;'), "needs one m99:writtenNoPayerCode"),
    (('m99:writtenSopt "5" ;', 'm99:writtenSopt "8" ;'), "reads back as None"),
    (('m99:writtenSopt "1" ;', 'm99:writtenSopt "1" ; m99:writtenSopt "11" ;'), "more than one"),
    (('m99:claimFilingCode "MA" , "MB" ;', 'm99:claimFilingCode "MA" , , "MB" ;'), "cannot read"),
])
def test_a_bad_edit_is_refused_naming_the_file(edited, replacement, problem):
    path = edited(replacement)
    with pytest.raises(MappingError, match=problem) as exc:
        load(path)
    assert str(path) in str(exc.value)
