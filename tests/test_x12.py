"""X12 837P (005010X222A1): the public corpus, the writer/reader round trip, the same graph as JSON, bad input."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from server.claims import x12
from server.claims.errors import ClaimInputError
from server.claims.jsonform import claims_from_objects
from server.claims.readers import read_path, read_text
from server.claims.x12 import claim_objects_from_x12, claims_from_x12, provider_type
from server.claims.x12_write import write_837p
from server.validation.rdfconv import add_triples

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpora" / "x12-837p"
M99KG = shutil.which("m99kg") or str(Path(sys.executable).parent / "m99kg")
CREATED = dt.datetime(2026, 3, 3, 9, 30)

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir() and not os.environ.get("CI"),
                                  reason="shared/corpora/x12-837p is not checked out beside the repository")

_BK = "qualifier 'BK' marks an ICD-9-CM diagnosis"
_GT = "its composites use '>' but ISA16 declares the component separator ':'"
_SE = "SE count of 25 for SE02=987654 is wrong"
# Every corpus file: ("ok", claims, diagnoses, lines) or ("claim", segment, reason) for a refused claim
# (the file reads, the claim goes to `errors`) or ("file", reason) for a file refused as a whole.
EXPECTED = {
    "uhin-x12-parser-library/837.edi": ("ok", 1, 1, 1),
    "linuxforhealth-x12/demo.example1.837": ("claim", 29, _BK),
    "linuxforhealth-x12/demo.example2.837": ("claim", 27, _BK),
    "linuxforhealth-x12/demo.autoaccident.837": ("claim", 28, _BK),
    "linuxforhealth-x12/demo.ambulance.example5.837": ("claim", 28, _BK),
    "linuxforhealth-x12/demo.cob.example3.A.837": ("claim", 32, _BK),
    "linuxforhealth-x12/demo.cob.example3.B.837": ("claim", 32, _BK),
    "linuxforhealth-x12/demo.cob.example3.C.837": ("claim", 32, _BK),
    # AMT*F2 (patient amount paid) sits in loop 2320, where 5010 has no such segment
    "linuxforhealth-x12/demo.cob.example4.837": ("claim", 31, "Segment AMT*F2 not found"),
    "linuxforhealth-x12/demo.cob.2ndary.example4.837": ("claim", 26, _GT),
    "linuxforhealth-x12/demo.drug.example10.1.837": ("claim", 21, _BK),
    "linuxforhealth-x12/demo.drug.example10.2.837": ("claim", 22, _BK),
    "linuxforhealth-x12/demo.drug.example10.3.837": ("claim", 22, _BK),
    "linuxforhealth-x12/demo.example7.837": ("claim", 21, _BK),
    "linuxforhealth-x12/demo.example8.837": ("claim", 23, _BK),
    "linuxforhealth-x12/demo.example9.837": ("claim", 21, _GT),
    "linuxforhealth-x12/demo.example11.837": ("claim", 24, _GT),
    "linuxforhealth-x12/demo.example12.837": ("claim", 29, _GT),
    "imsweb-x12-parser/x12_complex.txt": ("file", "segment 149 (SE): not a valid SE", _SE),
    "imsweb-x12-parser/x12_multiple_gs.txt": ("file", "segment 36 (SE)", _SE),
    "imsweb-x12-parser/x12_segments_out_of_order.txt": ("file", "segment 36 (SE)", _SE),
    "imsweb-x12-parser/x12_missing_elements.txt": ("file", "segment 36 (SE)", _SE),
    "imsweb-x12-parser/x12_valid_different_separators.txt": ("file", "segment 36 (SE)", _SE),
    "imsweb-x12-parser/x12_bad_segment_identifier.txt": ("file", "segment 6:", "'' is not a segment identifier"),
    "pyx12-legacy-4010/simple_837p.txt": ("file", "segment 1 (ISA)", "ISA12 version '00401' is not 00501"),
}


def clean_claim() -> dict:
    claim = json.loads((ROOT / "examples" / "clean-medicare-claim.json").read_text(encoding="utf-8"))
    del claim["findings"], claim["visitNumber"]
    return claim


def more_claims() -> list[dict]:
    pt = {"id": "PT-7", "payer": "commercial", "providerType": "physical-therapist", "provider": "1111111112",
          "patient": "Q-1", "serviceDate": "2026-04-01", "treatmentStart": "2026-03-15",
          "diagnoses": ["M99.01", "M54.2", "M62.830"],
          "lines": [{"procedure": "97140", "modifiers": ["GP", "59"], "units": 2, "pointers": [1, 2]},
                    {"procedure": "97110", "modifiers": ["GP"], "units": 3, "pointers": [2, 3]}]}
    omt = {"id": "OMT.3", "providerType": "osteopath", "provider": "1234567893", "patient": "P-9",
           "serviceDate": "2026-01-05", "diagnoses": ["M99.05", "M99.03", "M99.04", "M99.06", "M99.07"],
           "lines": [{"procedure": "98926", "modifiers": ["25"], "units": 1, "pointers": [1, 2, 3, 4]}]}
    md = {"id": "MD_1", "payer": "medicare", "providerType": "physician", "provider": "1234567893",
          "patient": "P-9", "serviceDate": "2026-01-06", "xrayDate": "2025-12-30",
          "diagnoses": [f"M99.0{i}" for i in range(10)] + ["M54.50", "M54.2"],
          "lines": [{"procedure": "98940", "modifiers": ["AT", "GA", "GY", "GX"], "units": 1, "pointers": [12]}]}
    return [pt, omt, md]


def as_rdflib(graph) -> rdflib.Graph:
    return add_triples(rdflib.Graph(), graph.triples)


def corpus(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


# ------------------------------------------------------------------ the corpus


@needs_corpus
def test_the_expectation_table_covers_every_corpus_file():
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*")
             if p.is_file() and p.suffix in (".837", ".txt", ".edi") and not p.name.startswith("LICENSE")}
    assert files == set(EXPECTED)


@needs_corpus
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_imports_or_is_refused_for_its_reason(name):
    expected = EXPECTED[name]
    errors: list[ClaimInputError] = []
    if expected[0] == "file":
        with pytest.raises(ClaimInputError) as info:
            claim_objects_from_x12(corpus(name), name, errors)
        assert expected[1] in str(info.value) and expected[2] in str(info.value), str(info.value)
        return
    objects, wheres = claim_objects_from_x12(corpus(name), name, errors)
    if expected[0] == "claim":
        assert objects == [] and len(errors) == 1
        assert f"segment {expected[1]} (" in errors[0].where and expected[2] in str(errors[0]), str(errors[0])
        return
    _, n_claims, n_dx, n_lines = expected
    assert errors == [] and len(objects) == n_claims == len(wheres)
    assert sum(len(o["diagnoses"]) for o in objects) == n_dx
    assert sum(len(o["lines"]) for o in objects) == n_lines


@needs_corpus
def test_the_uhin_claim_maps_every_field():
    objects, wheres = claim_objects_from_x12(corpus("uhin-x12-parser-library/837.edi"), "837.edi")
    assert wheres == ["837.edi: CLM at segment 21"]
    assert objects == [{
        "id": "1606", "payer": "commercial", "providerType": "chiropractor", "provider": "1245319599",
        "patient": "601239742", "serviceDate": "2024-08-15", "diagnoses": ["R69"],
        "lines": [{"procedure": "90834", "modifiers": [], "units": 1, "pointers": [1]}]}]


@needs_corpus
def test_the_uhin_file_as_icd10_chiropractic_claim_with_many_claims():
    """The one clean 5010 file, with its ICD-10 code swapped for M99 codes and repeated across subscribers."""
    text = corpus("uhin-x12-parser-library/837.edi").replace("HI*ABK:R69~", "HI*ABK:M9903*ABF:M9904~")
    objects, _ = claim_objects_from_x12(text, "837.edi")
    assert objects[0]["diagnoses"] == ["M99.03", "M99.04"]
    graphs = read_text(text, "837.edi")  # detection: ISA -> x12
    assert [g.claim_id for g in graphs] == ["1606"]


# ------------------------------------------------------------------ writer and reader


def test_round_trip_keeps_every_field_837p_carries():
    claims = [clean_claim(), *more_claims()]
    text = write_837p(claims, created=CREATED)
    objects, wheres = claim_objects_from_x12(text, "out.837")
    assert objects == claims
    assert len(wheres) == 4 and all(w.startswith("out.837: CLM at segment ") for w in wheres)


def test_writer_output_passes_pyx12_full_validation():
    """x12n_document validates the whole interchange against the 005010X222A1 map and its code lists."""
    import pyx12.params
    import pyx12.x12n_document

    text = write_837p([clean_claim(), *more_claims()], created=CREATED, control_number=42)
    assert pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), None, None) is True
    broken = text.replace("DMG*D8*19000101", "DMG*D8*19001301", 1)  # month 13: the validator does look
    assert pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(broken), None, None) is False
    assert "GS*HC*M99KGSENDER*M99KGRECEIVER*20260303*0930*42*X*005010X222A1~" in text
    assert text.endswith("IEA*1*000000042~\n")


def test_837p_graph_is_isomorphic_to_the_json_graph_of_the_same_claim():
    original = json.loads((ROOT / "examples" / "clean-medicare-claim.json").read_text(encoding="utf-8"))
    without = {k: v for k, v in original.items() if k not in ("findings", "visitNumber")}
    from_json = claims_from_objects([without], "clean.json")
    from_x12 = claims_from_x12(write_837p([original | {"findings": []}], created=CREATED), "clean.837")
    assert [g.claim_id for g in from_x12] == ["CLEAN-MCR-0001"]
    assert isomorphic(as_rdflib(from_json[0]), as_rdflib(from_x12[0]))
    # and the JSON with its findings is not: 837P cannot carry them
    assert not isomorphic(as_rdflib(claims_from_objects([original], "c.json")[0]), as_rdflib(from_x12[0]))


def test_writer_refuses_what_837p_cannot_carry():
    claim = clean_claim()
    for change, message in [({"diagnoses": [f"M99.0{i}" for i in range(10)] + ["M54.2", "M54.50", "M54.6"]},
                             "at most 12 diagnoses"),
                            ({"id": "X" * 39}, "id"),
                            ({"patient": "P~17"}, "patient"),
                            ({"provider": None}, "provider NPI"),
                            ({"serviceDate": None}, "serviceDate"),
                            ({"lines": [{"procedure": "98940", "pointers": [1, 2, 3, 1, 2]}]}, "4 diagnosis pointers")]:
        with pytest.raises(ValueError, match=message):
            write_837p([claim | change])


def test_provider_types_and_payers():
    assert provider_type("111NS0005X") == "chiropractor" and provider_type("225100000X") == "physical-therapist"
    assert provider_type("204D00000X") == "osteopath" and provider_type("207Q00000X") == "physician"
    assert provider_type("204C00000X") == "osteopath" and provider_type("204R00000X") == "physician"  # as FHIR
    assert provider_type("363L00000X") is None  # nurse practitioner: none of the four
    text = write_837p([clean_claim()], created=CREATED)
    for filing, payer in [("MA", "medicare"), ("HM", "commercial"), ("MC", None), ("16", None)]:
        objects, _ = claim_objects_from_x12(text.replace("SBR*P*18*******MB~", f"SBR*P*18*******{filing}~"), "f")
        assert objects[0].get("payer") == payer, filing


# ------------------------------------------------------------------ bad input


def segment_number(text: str, start: str) -> int:
    return next(i for i, s in enumerate(text.split("~\n"), start=1) if s.startswith(start))


def refused(text: str) -> ClaimInputError:
    with pytest.raises(ClaimInputError) as info:
        claim_objects_from_x12(text, "bad.837")
    return info.value


def test_truncated_file_names_the_last_segment():
    text = write_837p([clean_claim()], created=CREATED)
    cut = text[: text.index("SV1*") + 10]
    exc = refused(cut)
    assert exc.where.startswith("bad.837: segment 26") and "truncated" in exc.problem, str(exc)
    whole_segments = text[: text.index("LX*1~") + 6]
    exc = refused(whole_segments)
    assert "segment 25 (LX)" in exc.where and "without SE, GE and IEA" in exc.problem, str(exc)


def test_bad_segment_terminators_are_refused_with_the_position():
    text = write_837p([clean_claim()], created=CREATED)
    n = segment_number(text, "SV1*")
    exc = refused(text.replace("*1:2:3~\n", "*1:2:3\n"))  # SV1 lost its terminator
    assert exc.where == f"bad.837:{n}: segment {n} (SV1)" and "terminator '~' is missing" in exc.problem
    # a file may declare another terminator in ISA: read alike
    assert claim_objects_from_x12(text.replace("~", "|"), "pipes.837")[0] == [clean_claim()]
    exc = refused(text[:105] + "A" + text[106:])
    assert "character 106 must be the segment terminator" in exc.problem
    exc = refused(text.replace("~\nGS", "~\n~\nGS"))
    assert "empty segment" in exc.problem and exc.where == "bad.837: segment 2"


def test_bad_units_name_segment_and_element_and_keep_the_other_claims():
    claims = [clean_claim(), *more_claims()]
    text = write_837p(claims, created=CREATED)
    bad = text.replace("SV1*HC:97110:GP*0*UN*3", "SV1*HC:97110:GP*0*UN*x")
    n = segment_number(bad, "SV1*HC:97110:GP")
    errors: list[ClaimInputError] = []
    objects, _ = claim_objects_from_x12(bad, "file.837", errors)
    assert [o["id"] for o in objects] == ["CLEAN-MCR-0001", "OMT.3", "MD_1"]
    assert [str(e) for e in errors] == [f"file.837:{n}: segment {n} (SV1): SV104 'x' is not a number"]
    graphs = claims_from_x12(bad, "file.837", errors := [])
    assert len(graphs) == 3 and len(errors) == 1
    with pytest.raises(ClaimInputError, match="SV104 'x' is not a number"):
        claims_from_x12(bad, "file.837")  # without an errors list the bad claim raises
    half = text.replace("SV1*HC:98940:AT*0*UN*1", "SV1*HC:98940:AT*0*UN*1.5")
    assert "SV104 '1.5' is not a whole number of units" in str(refused_claim(half))


def test_a_file_refused_after_a_bad_claim_hands_over_no_claim_error():
    """Claims are read as the walk goes, yet a file refused later on reports only the file's error."""
    text = write_837p([clean_claim(), *more_claims()], created=CREATED)
    bad = text.replace("SV1*HC:97110:GP*0*UN*3", "SV1*HC:97110:GP*0*UN*x")
    broken = re.sub(r"SE\*(\d+)\*", lambda m: f"SE*{int(m.group(1)) + 1}*", bad)
    errors: list[ClaimInputError] = []
    with pytest.raises(ClaimInputError, match="SE count of"):
        claim_objects_from_x12(broken, "bad.837", errors)
    assert errors == []
    with pytest.raises(ClaimInputError, match="SE count of"):  # and without a list: the file's error, not the claim's
        claim_objects_from_x12(broken, "bad.837")


def test_claims_are_given_out_while_the_file_is_walked():
    """What bounds the reader's memory by the claims, not by pyx12's segments: the grouping is lazy."""
    text = write_837p([clean_claim(), *more_claims()], created=CREATED)
    env = x12._envelope(text, "f.837")
    walked: list = []

    def walk():
        for seg in x12._walk(text, env, "f.837"):
            walked.append(seg.seg_id)
            yield seg

    claims = x12._group(walk(), env, "f.837")
    assert next(claims).clm.value("CLM01") == "CLEAN-MCR-0001"
    assert walked.count("CLM") == 1 and len(walked) < len(env.segments)
    assert [c.clm.value("CLM01") for c in claims] == ["PT-7", "OMT.3", "MD_1"]
    assert len(walked) == len(env.segments)


def test_line_numbers_stay_right_deep_into_a_long_file():
    """The envelope counts lines forward from the last segment (it once recounted from the start)."""
    claims = [dict(clean_claim(), id=f"C-{i}") for i in range(40)]
    text = write_837p(claims, created=CREATED)
    at = text.rfind("*UN*1*")  # the last claim's service line
    bad = text[:at] + "*UN*x*" + text[at + 6:]
    n = bad[:at].count("\n") + 1
    errors: list[ClaimInputError] = []
    claim_objects_from_x12(bad, "long.837", errors)
    assert [str(e) for e in errors] == [f"long.837:{n}: segment {n} (SV1): SV104 'x' is not a number"]


def test_a_segment_pyx12_itself_cannot_read_is_refused_with_its_position():
    """Found by fuzzing: empty components in CLM05 made pyx12 fail with an IndexError (a 500 before)."""
    text = write_837p([clean_claim()], created=CREATED)
    n = segment_number(text, "CLM*")
    exc = refused(text.replace("***11:B:1*", "***11:::1*"))
    assert exc.where == f"bad.837:{n}: segment {n} (CLM)" and "could not read this segment (IndexError)" in exc.problem


def refused_claim(text: str) -> ClaimInputError:
    errors: list[ClaimInputError] = []
    claim_objects_from_x12(text, "bad.837", errors)
    assert len(errors) == 1
    return errors[0]


def test_missing_clm01_and_other_claim_errors():
    text = write_837p([clean_claim()], created=CREATED)
    n = segment_number(text, "CLM*")
    exc = refused_claim(text.replace("CLM*CLEAN-MCR-0001*", "CLM**"))
    assert exc.where == f"bad.837:{n}: segment {n} (CLM)" and "CLM01" in exc.problem and "missing" in exc.problem
    exc = refused_claim(text.replace("HI*ABK:", "HI*BK:"))
    assert "ICD-9-CM" in exc.problem
    exc = refused_claim(text.replace("*1:2:3~", "*1:2:13~"))
    assert "SV107-3" in exc.problem and "1-12" in exc.problem
    exc = refused_claim(text.replace("SV1*HC:", "SV1*WK:"))
    assert "only HC" in exc.problem or "SV101" in exc.problem
    # a CLM01 with characters outside the id pattern is sanitised, not refused
    objects, _ = claim_objects_from_x12(text.replace("CLM*CLEAN-MCR-0001*", "CLM*R0399 #01*"), "f")
    assert objects[0]["id"] == "R0399-01"
    exc = refused_claim(text.replace("CLM*CLEAN-MCR-0001*", "CLM*#*"))
    assert "no letter or digit" in exc.problem


def test_lines_with_different_dates_of_service_are_refused():
    claim = clean_claim() | {"lines": [{"procedure": "98940", "modifiers": ["AT"], "units": 1, "pointers": [1]},
                                       {"procedure": "97140", "modifiers": ["59"], "units": 1, "pointers": [2]}]}
    text = write_837p([claim], created=CREATED)
    last = text.rindex("DTP*472*D8*20260302")
    exc = refused_claim(text[:last] + "DTP*472*D8*20260304" + text[last + len("DTP*472*D8*20260302"):])
    assert "different dates of service (2026-03-02, 2026-03-04)" in exc.problem


def test_wrong_versions_and_not_x12():
    text = write_837p([clean_claim()], created=CREATED)
    assert "GS08 '005010X223A2'" in refused(text.replace("005010X222A1", "005010X223A2")).problem
    assert "ST01 '835'" in refused(text.replace("ST*837*", "ST*835*")).problem
    assert "first segment must be ISA" in refused("GS*HC~").problem
    a2 = text.replace("005010X222A1", "005010X222A2")  # the erratum reads with the A1 map
    assert claim_objects_from_x12(a2, "a2.837")[0] == [clean_claim()]


def split_interchange(text: str) -> tuple[str, str, str]:
    """(ISA, GS, ST...SE) of a one-group, one-set interchange written by write_837p."""
    segments = text.split("~\n")
    return segments[0] + "~\n", segments[1] + "~\n", "~\n".join(segments[2:-3]) + "~\n"


def test_many_claims_many_subscribers_transaction_sets_and_groups():
    a, b, c = [clean_claim(), more_claims()[0]], [more_claims()[1]], [more_claims()[2]]
    isa, gs, st_a = split_interchange(write_837p(a, created=CREATED))
    _, _, st_b = split_interchange(write_837p(b, created=CREATED))
    _, _, st_c = split_interchange(write_837p(c, created=CREATED))
    st_b = st_b.replace("ST*837*0001", "ST*837*0002").replace("*0001~", "*0002~")
    gs2 = gs.replace("*0930*1*X*", "*0930*2*X*")
    text = isa + gs + st_a + st_b + "GE*2*1~\n" + gs2 + st_c + "GE*1*2~\nIEA*2*000000001~\n"
    errors: list[ClaimInputError] = []
    objects, wheres = claim_objects_from_x12(text, "many.837", errors)
    assert errors == []
    assert objects == [*a, *b, *c]
    assert len(set(wheres)) == 4


# ------------------------------------------------------------------ end to end


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([M99KG, "validate", *args], capture_output=True, text=True, timeout=600)


def test_cli_validates_837p_files(tmp_path):
    good = tmp_path / "good.837"
    good.write_text(write_837p([clean_claim()], created=CREATED), encoding="utf-8")
    header = clean_claim() | {"id": "DX-HEADER-837", "diagnoses": ["M99.4"],
                              "lines": [{"procedure": "98940", "modifiers": ["AT"], "units": 1, "pointers": [1]}]}
    violating = tmp_path / "header.837"
    violating.write_text(write_837p([header], created=CREATED), encoding="utf-8")
    r = run_cli("--format", "json", str(good))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["claims"][0]["claim"] == "CLEAN-MCR-0001"
    r = run_cli("--format", "json", str(violating))
    assert r.returncode == 1, r.stderr
    results = json.loads(r.stdout)["claims"][0]["results"]
    assert any(x["rule"] == "diagnosis-header" and x["codes"] == ["M99.4"] for x in results)


def test_read_path_detects_x12(tmp_path):
    path = tmp_path / "c.837"
    path.write_text(write_837p([clean_claim(), copy.deepcopy(more_claims()[0])], created=CREATED), encoding="utf-8")
    assert [g.claim_id for g in read_path(path)] == ["CLEAN-MCR-0001", "PT-7"]


def _outcome(text: str, name: str, read=claim_objects_from_x12) -> list:
    """What the reader makes of a file, as JSON: the claims and where, the claim errors, or the file's error."""
    errors: list[ClaimInputError] = []
    try:
        objects, wheres = read(text, name, errors)
    except ClaimInputError as exc:
        return ["file", str(exc)]
    return ["read", objects, wheres, [str(e) for e in errors]]


def _map_cases() -> dict[str, str]:
    text = write_837p([clean_claim(), *more_claims()], created=CREATED)
    cases = {"clean.837": text,
             "sv104.837": text.replace("SV1*HC:97110:GP*0*UN*3", "SV1*HC:97110:GP*0*UN*x"),
             "se.837": re.sub(r"SE\*(\d+)\*", lambda m: f"SE*{int(m.group(1)) + 1}*", text),
             "clm05.837": text.replace("***11:B:1*", "***11:::1*")}
    if CORPUS.is_dir():
        cases |= {name: corpus(name) for name in EXPECTED}
    return cases


_PYX12_ALONE = """
import json, sys
import pyx12.x12context
sys.path.insert(0, sys.argv[1])
from server.claims import x12
from tests.test_x12 import _map_cases, _outcome

class Every:
    def __contains__(self, seg_id):
        return True

x12._ELEMENTS_READ = Every()  # pyx12 checks the elements of every segment, as it does alone
real = pyx12.x12context.map_if
out = {}
for name, text in _map_cases().items():
    out[name] = _outcome(text, name)
    pyx12.x12context.map_if = real  # every file parses its maps afresh, as pyx12 alone does
print(json.dumps(out))
"""


def test_pyx12_maps_are_loaded_once_and_shared_by_every_file_and_thread():
    """Reading with the maps kept, and element checks only where the reader reads them, gives what
    pyx12 alone gives (parsing its maps for each file, checking every element; in another process),
    in any order and on several threads at once; the maps are parsed once."""
    from concurrent.futures import ThreadPoolExecutor

    cases = _map_cases()
    fresh = json.loads(subprocess.run([sys.executable, "-c", _PYX12_ALONE, str(ROOT)], capture_output=True, text=True,
                                      check=True, cwd=ROOT, timeout=600).stdout)
    forward = {name: _outcome(text, name) for name, text in cases.items()}
    loads = x12._loaded_maps().loads
    backward = {name: _outcome(cases[name], name) for name in reversed(cases)}
    with ThreadPoolExecutor(4) as pool:
        threaded = dict(zip(cases, pool.map(lambda item: _outcome(item[1], item[0]), cases.items()), strict=True))
    assert json.loads(json.dumps(forward)) == fresh
    assert backward == forward and threaded == forward
    assert 1 <= loads <= 3 and x12._loaded_maps().loads == loads  # the control map and the 837P map
    assert [o[0] for o in forward.values()].count("read") >= 2 and any(o[0] == "file" for o in forward.values())


def test_element_checks_run_only_where_the_reader_reads_elements(monkeypatch):
    text = write_837p([clean_claim()], created=CREATED)
    n4 = next(seg for seg in text.split("~\n") if seg.startswith("N4*"))
    bad = text.replace(n4 + "~", n4 + "*" + "X" * 40 + "~", 1)  # an address with an element too many

    def n4_errors() -> list:
        env = x12._envelope(bad, "f.837")
        return [s.errors for s in x12._walk(bad, env, "f.837") if s.seg_id == "N4"]

    assert n4_errors() == [[], []]  # the billing provider's address (made bad) and the subscriber's

    class Every:
        def __contains__(self, seg_id: str) -> bool:
            return True

    monkeypatch.setattr(x12, "_ELEMENTS_READ", Every())
    found = n4_errors()
    assert found[0] and found[1] == []  # pyx12's element findings on the address, which the reader never reads:
    assert all(element is not None or code not in x12._STRUCTURE_CODES for code, _, element in found[0])
    assert _outcome(bad, "f.837") == _outcome(text, "f.837")
