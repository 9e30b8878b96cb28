"""Batch validation (files, folders, JSON Lines, mixed formats) and loading claims and results."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.claims.fhir_write import write_fhir_bundle
from server.claims.x12_write import write_837p
from server.loading import batch_update, batch_writes, load_outcomes, stored_claims, write_batch
from server.namespaces import GRAPH_CLAIMS, GRAPH_CODESET, GRAPH_RESULTS, M99
from server.sparql.snapshot import ensure_snapshot, locked
from server.store import Store
from server.validation import batch
from server.validation.fast import FastValidator
from server.validation.output import claim_json

ROOT = Path(__file__).resolve().parent.parent
CLEAN = json.loads((ROOT / "examples/clean-medicare-claim.json").read_text())
M99KG = [sys.executable, "-m", "server.cli"]


def _examples() -> list[dict]:
    """Every example claim (fires and passes of each rule), re-identified so that ids are unique."""
    out = []
    for f in sorted((ROOT / "examples/claims").glob("*/*.json")):
        if f.name == "expected.json":
            continue
        data = json.loads(f.read_text())
        for i, obj in enumerate(data if isinstance(data, list) else [data]):
            obj = copy.deepcopy(obj)
            obj["id"] = f"{f.parent.name}-{f.stem}-{i}"[:64]
            out.append(obj)
    return out


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*M99KG, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder of claims in every format, one JSON Lines file with a bad line among good ones."""
    d = tmp_path_factory.mktemp("claims")
    examples = _examples()
    (d / "one.json").write_text(json.dumps(CLEAN))
    sub = d / "more"
    sub.mkdir()
    lines = [json.dumps(o) for o in examples[:30]]
    lines.insert(5, "{not json")
    (sub / "batch.jsonl").write_text("\n".join(lines) + "\n")
    x12_claim = {k: v for k, v in CLEAN.items() if k not in ("findings", "visitNumber")} | {"id": "X12-1"}
    (sub / "claim.837").write_text(write_837p([x12_claim]))
    fhir_claim = dict(CLEAN, id="FHIR-1")
    (sub / "bundle.json").write_text(json.dumps(write_fhir_bundle([fhir_claim])))
    (sub / "notes.md").write_text("not a claim file: ignored by suffix")
    return d


def test_folder_of_mixed_formats_streams_a_report_per_claim(folder):
    result = _run("validate", str(folder), "--format", "jsonl")
    assert result.returncode == 2, result.stderr  # the bad JSON line is an input error
    assert "batch.jsonl:6:2: not valid JSON" in result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    ids = [r["claim"] for r in reports]
    assert len(ids) == 1 + 30 + 1 + 1
    assert {"CLEAN-MCR-0001", "X12-1", "FHIR-1"} <= set(ids)
    by_id = {r["claim"]: r for r in reports}
    assert by_id["CLEAN-MCR-0001"]["conforms"] and by_id["FHIR-1"]["results"] == []


def test_json_report_has_the_contract_and_exit_codes(folder, tmp_path):
    result = _run("validate", str(folder / "one.json"), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["conforms"] is True
    assert report["summary"] == {"claims": 1, "violations": 0, "warnings": 0, "infos": 0}
    faulty = dict(CLEAN, diagnoses=["M99.0", *CLEAN["diagnoses"][1:]])  # a header: a violation
    (tmp_path / "bad.json").write_text(json.dumps(faulty))
    result = _run("validate", str(tmp_path / "bad.json"), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert not report["conforms"] and report["summary"]["violations"] >= 1
    assert "diagnosis-header" in {r["rule"] for r in report["claims"][0]["results"]}


def test_parallel_workers_give_the_same_reports_in_the_same_order(tmp_path):
    claims = _examples()
    path = tmp_path / "all.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in claims))
    one = _run("validate", str(path), "--format", "jsonl", "--batch-size", "20")
    two = _run("validate", str(path), "--format", "jsonl", "--batch-size", "20", "--workers", "2")
    assert one.returncode == two.returncode == 1
    assert one.stdout == two.stdout
    assert [json.loads(x)["claim"] for x in one.stdout.splitlines()] == [c["id"] for c in claims]


def test_units_cut_big_files_into_batches(tmp_path):
    path = tmp_path / "many.json"
    path.write_text(json.dumps([dict(CLEAN, id=f"C-{i}") for i in range(25)]))
    units = list(batch.units([path], batch_size=10))
    assert [len(u.objects) for u in units] == [10, 10, 5]
    assert units[2].wheres[0] == f"{path}: claims[20]"


def _read_units(units) -> tuple[list[str], set[str]]:
    """The claim ids a unit stream reads, in order, and its errors."""
    ids: list[str] = []
    errors: set[str] = set()
    for unit in units:
        claims, bad = batch.parse(unit)
        ids += [c.claim_id for c in claims]
        errors |= {str(e) for e in bad}
    return ids, errors


def test_a_claim_id_repeated_in_a_later_unit_of_a_file_is_refused(tmp_path):
    """Cutting a file into units changes no result: a repeat is refused across units as within one."""
    broken = dict(CLEAN, id="C-0", visitNumber="three")  # fails the field checks: its id does not count
    claims = [broken, *(dict(CLEAN, id=f"C-{i}") for i in range(5)), dict(CLEAN, id="C-1"), dict(CLEAN, id="C-4")]
    array = tmp_path / "many.json"
    array.write_text(json.dumps(claims))
    lines = tmp_path / "many.jsonl"
    lines.write_text("".join(json.dumps(c) + "\n" for c in claims))
    whole, cut = _read_units(batch.units([array], batch_size=100)), _read_units(batch.units([array], batch_size=2))
    assert whole == cut
    assert cut[0] == ["C-0", "C-1", "C-2", "C-3", "C-4"]
    assert {e for e in cut[1] if "twice" in e} == {f"{array}: claims[6].id: claim 'C-1' appears twice in one file",
                                                   f"{array}: claims[7].id: claim 'C-4' appears twice in one file"}
    assert any("claims[0]" in e and "visitNumber" in e for e in cut[1])
    whole, cut = _read_units(batch.units([lines], batch_size=100)), _read_units(batch.units([lines], batch_size=3))
    assert whole == cut and {e for e in cut[1] if "twice" in e} == {
        f"{lines}:7: claim.id: claim 'C-1' appears twice in one file",
        f"{lines}:8: claim.id: claim 'C-4' appears twice in one file"}
    other = tmp_path / "other.json"
    other.write_text(json.dumps([dict(CLEAN, id="C-1")]))  # the same id in another file is another claim
    assert _read_units(batch.units([array, other], batch_size=2))[0][-1] == "C-1"


def _x12_claims(count: int) -> list[dict]:
    """Generated claims that an 837P can carry."""
    from server.claims.x12_write import writable_claims
    from server.synth.generator import generate

    return list(writable_claims(generate(count * 6, 11)))[:count]


def test_an_837p_of_at_most_a_batch_is_one_unit_read_by_a_worker():
    text = write_837p(_x12_claims(3))
    for variant in (text, text.replace("~\n", "~"), text.replace("~\n", "~\r\n"), text.replace("~", "|")):
        assert batch.x12_claim_count(variant) == 3
        units = list(batch.text_units(variant, "f.837", None, 3))
        assert len(units) == 1 and units[0].text == variant and units[0].fmt == "x12"
        assert [len(u.objects) for u in batch.text_units(variant, "f.837", None, 2)] == [2, 1]
    assert batch.x12_claim_count("ISA*00") == 0


def test_an_837p_file_is_cut_into_units_and_validates_as_read_whole(tmp_path, validator):
    from server.claims.readers import read_text

    x12_claims = _x12_claims(7)
    text = write_837p(x12_claims)
    bad = text.replace("CLM*" + x12_claims[2]["id"] + "*", "CLM**", 1)  # the third claim loses its CLM01
    path = tmp_path / "claims.837"
    path.write_text(bad)
    units = list(batch.units([path], batch_size=3))
    assert [len(u.objects) for u in units] == [3, 3] and [len(u.errors) for u in units] == [1, 0]
    assert "CLM01 (the claim identifier, patient control number) is missing" in str(units[0].errors[0])
    assert units[0].wheres[0].startswith(f"{path}: CLM at segment ")
    outcomes = list(batch.validate_units(units, validator=validator))
    errors: list = []
    alone = validator.validate(read_text(bad, str(path), None, errors)).claims
    assert [claim_json(r) for o in outcomes for r in o.reports] == [claim_json(r) for r in alone]
    assert [str(e) for o in outcomes for e in o.errors] == [str(e) for e in errors]


def test_a_unit_holding_more_claims_than_the_batch_is_validated_batch_by_batch(validator):
    """A FHIR Bundle (or JSON-LD, Turtle) file is one unit; its claims still go to the engine in batches."""
    sizes: list[int] = []

    class Counting:
        def validate(self, claims):
            sizes.append(len(claims))
            return validator.validate(claims)

    bundle = json.dumps(write_fhir_bundle([dict(CLEAN, id=f"F-{i}") for i in range(5)]))
    cut = batch.run_unit(Counting(), batch.Unit("bundle.json", text=bundle, fmt="fhir", batch_size=2))
    assert sizes == [2, 2, 1]
    whole = batch.run_unit(validator, batch.Unit("bundle.json", text=bundle, fmt="fhir"))
    assert [claim_json(r) for r in cut.reports] == [claim_json(r) for r in whole.reports]
    assert [r.claim.rsplit("/", 1)[-1] for r in cut.reports] == [f"F-{i}" for i in range(5)]


# -- loading ---------------------------------------------------------------------------------------


def _graph_counts(store: ox.Store) -> tuple[int, int]:
    def n(g: str) -> int:
        return sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(g)))

    return n(GRAPH_CLAIMS), n(GRAPH_RESULTS)


@pytest.fixture(scope="module")
def validator(store) -> FastValidator:
    return FastValidator(store)


def _outcomes(validator, objects: list[dict], size: int = 50):
    return batch.validate_units(batch.object_units(objects, "test", size), validator=validator, keep_claims=True)


def test_loading_is_idempotent_and_replaces_a_changed_claim(validator):
    target = ox.Store()
    claims = _examples()[:40]
    first = load_outcomes(_outcomes(validator, claims), target)
    counts = _graph_counts(target)
    assert first.claims == 40 and counts[0] > 0 and counts[1] > 0
    load_outcomes(_outcomes(validator, claims), target)
    assert _graph_counts(target) == counts  # the same claims again: replaced, not duplicated
    changed = copy.deepcopy(claims[0])
    changed["diagnoses"] = ["M99.0"]  # a header: fires diagnosis-header
    changed["lines"] = []
    changed["findings"] = []
    load_outcomes(_outcomes(validator, [changed]), target)
    iri = ox.NamedNode(f"https://w3id.org/m99kg/claim/{changed['id']}")
    codes = {r["c"].value for r in target.query(
        f"SELECT ?c WHERE {{ GRAPH <{GRAPH_CLAIMS}> {{ {iri} <{M99}hasDiagnosis>/<{M99}diagnosisCode> ?c }} }}")}
    assert codes == {"http://purl.bioontology.org/ontology/ICD10CM/M99.0"}
    assert not list(target.query(f"SELECT * WHERE {{ GRAPH <{GRAPH_CLAIMS}> {{ {iri} <{M99}hasLine> ?l }} }}"))
    rules = {r["r"].value for r in target.query(
        f"SELECT ?r WHERE {{ GRAPH <{GRAPH_RESULTS}> {{ ?x <{M99}resultClaim> {iri} ; <{M99}ruleId> ?r }} }}")}
    assert "diagnosis-header" in rules


def test_a_failed_batch_writes_nothing(validator):
    target = ox.Store()
    claims = _examples()[:10]
    load_outcomes(_outcomes(validator, claims), target)
    before = _graph_counts(target)
    outcome = next(iter(_outcomes(validator, claims[:5])))
    text, _ = batch_update(outcome.claims, outcome.reports)
    broken = text[: len(text) // 2 + len(text) // 4]  # the request cut off inside INSERT DATA
    with pytest.raises(SyntaxError):
        target.update(broken)
    assert _graph_counts(target) == before  # the DELETE before the cut did not happen either


def _quads(store: ox.Store) -> set[ox.Quad]:
    return {q for g in (GRAPH_CLAIMS, GRAPH_RESULTS) for q in store.quads_for_pattern(None, None, None, ox.NamedNode(g))}


def test_a_first_load_and_a_replacing_update_store_the_same_quads(validator):
    """New claims go in as one N-Quads load, replaced ones as a SPARQL update: the same graphs."""
    claims = _examples()[:30]
    outcome = next(iter(_outcomes(validator, claims, size=30)))
    by_load, by_update = ox.Store(), ox.Store()
    writes = batch_writes(outcome.claims, outcome.reports)
    write_batch(by_load, writes)
    by_update.update(writes.update())
    assert _quads(by_load) == _quads(by_update) and len(_quads(by_load)) == writes.triples
    assert stored_claims(by_load, [*writes.claims, "https://w3id.org/m99kg/claim/not-loaded"]) == set(writes.claims)


def test_a_batch_mixing_new_and_stored_claims_replaces_only_the_stored(validator):
    claims = _examples()[:20]
    target = ox.Store()
    load_outcomes(_outcomes(validator, claims[:10]), target)
    changed = [dict(c, serviceDate="2026-01-05") for c in claims[:10]]
    load_outcomes(_outcomes(validator, changed + claims[10:]), target)
    once = ox.Store()
    load_outcomes(_outcomes(validator, changed + claims[10:]), once)
    assert _quads(target) == _quads(once)  # nothing of the first version of the 10 is left


def test_a_broken_first_load_writes_nothing(validator):
    target = ox.Store()
    load_outcomes(_outcomes(validator, _examples()[:10]), target)
    before = _graph_counts(target)
    outcome = next(iter(_outcomes(validator, _examples()[10:15])))
    data = batch_writes(outcome.claims, outcome.reports).nquads()
    with pytest.raises(SyntaxError):
        target.load(data[: len(data) * 3 // 4] + b"<broken", format=ox.RdfFormat.N_QUADS)
    assert _graph_counts(target) == before  # the good lines before the break were not written either


def test_no_store_content_keeps_codes_dates_and_results_only(validator):
    target = ox.Store()
    load_outcomes(_outcomes(validator, [CLEAN, dict(CLEAN, id="C2", patient="P-99")]), target, store_content=False)
    predicates = {q.predicate.value for q in target.quads_for_pattern(None, None, None, ox.NamedNode(GRAPH_CLAIMS))}
    assert M99 + "patient" not in predicates and M99 + "hasFinding" not in predicates and M99 + "text" not in predicates
    assert {M99 + "diagnosisCode", M99 + "procedure", M99 + "serviceDate", M99 + "provider"} <= predicates
    assert _graph_counts(target)[1] > 0


def test_load_command_into_a_data_folder_and_the_lock(tmp_path, folder):
    data = tmp_path / "data"
    result = _run("load", str(folder / "one.json"), "--data", str(data))
    assert result.returncode == 0, result.stderr
    assert "loaded 1 claims" in result.stdout
    with locked(data, exclusive=False):  # what a running service holds
        busy = _run("load", str(folder / "one.json"), "--data", str(data))
        demo = _run("demo", "--count", "5", "--data", str(data))  # demo --data writes, as a load does
    assert busy.returncode == 2 and "in use" in busy.stderr
    assert demo.returncode == 2 and "in use" in demo.stderr and "Traceback" not in demo.stderr
    with locked(data, exclusive=True):  # what a load holds: a query would read a store being written
        reading = _run("query", "denial-risk-by-month", "--data", str(data))
    assert reading.returncode == 2 and "in use" in reading.stderr and "Traceback" not in reading.stderr
    store = ox.Store.read_only(str(ensure_snapshot(data)))
    assert _graph_counts(store)[0] > 0
    query = _run("query", "denial-risk-by-month", "--data", str(data), "--format", "json")
    assert query.returncode == 0, query.stderr
    rows = json.loads(query.stdout)["results"]["bindings"]
    assert rows == [{"month": {"type": "literal", "value": "2026-03"},
                     "claims": {"type": "literal", "value": "1",
                                "datatype": "http://www.w3.org/2001/XMLSchema#integer"},
                     **{k: rows[0][k] for k in ("rejected", "atRisk", "rejectPercent", "atRiskPercent")}}]
    assert rows[0]["rejected"]["value"] == "0"


def test_bulk_load_fills_an_empty_data_folder_like_the_transactional_load(tmp_path, folder):
    bulk, plain = tmp_path / "bulk", tmp_path / "plain"
    first = _run("load", str(folder), "--data", str(bulk), "--bulk", "--batch-size", "7")
    assert first.returncode == 2 and "batches (bulk load)" in first.stdout  # 2: the folder's bad JSON line
    assert _run("load", str(folder), "--data", str(plain), "--batch-size", "7").returncode == 2

    def quads(data: Path) -> set[ox.Quad]:
        return _quads(ox.Store.read_only(str(ensure_snapshot(data))))

    assert quads(bulk) == quads(plain) and quads(bulk)
    again = _run("load", str(folder / "one.json"), "--data", str(bulk), "--bulk")
    assert again.returncode == 2 and "only fills an empty store" in again.stderr and "Traceback" not in again.stderr
    remote = _run("load", str(folder / "one.json"), "--store", "http://127.0.0.1:9", "--bulk")
    assert remote.returncode == 2 and "--bulk loads an embedded data folder" in remote.stderr


def test_loaded_claims_survive_a_knowledge_rebuild(tmp_path, folder, monkeypatch):
    data = tmp_path / "data"
    assert _run("load", str(folder / "one.json"), "--data", str(data)).returncode == 0
    old = ensure_snapshot(data)
    inode = old.stat().st_ino
    (old / "FINGERPRINT").write_text("stale")  # as if the ontology had changed since the load
    new = ensure_snapshot(data)
    assert new == old and new.stat().st_ino == inode  # the knowledge replaced in place, nothing copied
    store = ox.Store.read_only(str(new))
    assert _graph_counts(store)[0] > 0
    assert next(iter(store.quads_for_pattern(None, None, None, ox.NamedNode(GRAPH_CODESET))), None) is not None


def test_load_into_an_unreadable_place_is_a_clear_error(tmp_path, folder):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _run("load", str(folder / "one.json"), "--data", str(blocker / "sub"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for command in (["serve", "--port", "9"], ["query", "regions"], ["demo", "--count", "1"]):
        result = _run(*command, "--data", str(blocker / "sub"))
        assert result.returncode == 2 and "Not a directory" in result.stderr and "Traceback" not in result.stderr, \
            (command, result.stderr)


def test_demo_prints_analytics(tmp_path):
    result = _run("demo", "--count", "120", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "loaded 120 claims" in result.stdout
    for name in ("violations-by-rule", "denial-risk-by-month", "violations-by-provider", "cmt-level-vs-regions"):
        assert f"== {name}" in result.stdout


def test_store_wrapper_is_untouched(store):
    assert isinstance(store, Store)  # the session store is shared: loading never writes into it
    assert store.graph_size(GRAPH_CLAIMS) == 0


def test_one_claim_in_json_fhir_and_837p_gives_one_graph_and_one_report(validator):
    """The claim part (claim, diagnoses, lines, dates, payer, provider) in all three formats."""
    from rdflib.compare import isomorphic

    from server.claims.readers import read_text
    from server.validation import rdfconv

    claim = {k: v for k, v in CLEAN.items() if k not in ("findings", "visitNumber")} | {"id": "TRIPLE-1"}
    texts = {"json": json.dumps(claim), "fhir": json.dumps(write_fhir_bundle([claim])), "x12": write_837p([claim])}
    graphs = {fmt: read_text(text, fmt) for fmt, text in texts.items()}
    assert all(len(g) == 1 for g in graphs.values())
    import rdflib

    as_rdflib = {fmt: rdfconv.add_triples(rdflib.Graph(), g[0].triples) for fmt, g in graphs.items()}
    assert isomorphic(as_rdflib["json"], as_rdflib["fhir"]) and isomorphic(as_rdflib["json"], as_rdflib["x12"])
    reports = {fmt: validator.validate(g).as_json() for fmt, g in graphs.items()}
    assert reports["json"] == reports["fhir"] == reports["x12"]
    assert reports["json"]["claims"][0]["claim"] == "TRIPLE-1"
