"""Validation on Apache Spark (local[2]): same reports as the single-process CLI, as JSON Lines and Parquet.

One SparkSession for the module (starting the JVM takes 10-15 s). Without pyspark or Java the
module is skipped locally and fails in CI (CI set), like the other suites that need something
outside the venv.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLEAN = EXAMPLES / "clean-medicare-claim.json"
M99KG = shutil.which("m99kg") or str(Path(sys.executable).parent / "m99kg")
FIRES = ["diagnosis-header", "cmt-level-regions", "medicare-98943-gy", "pointer-target", "stenosis-imaging"]
GENERATED = 200

_missing = [what for what, ok in (("pyspark", importlib.util.find_spec("pyspark") is not None),
                                  ("Java", bool(shutil.which("java") or os.environ.get("JAVA_HOME")))) if not ok]
if _missing and os.environ.get("CI"):
    pytest.fail(f"tests/test_spark.py needs {' and '.join(_missing)} (pip install 'm99kg[test]'; Java 17)",
                pytrace=False)
pytestmark = pytest.mark.skipif(bool(_missing), reason=f"needs {' and '.join(_missing)}")


@pytest.fixture(scope="module")
def spark():
    from server.spark.session import build_session

    session = build_session("local[2]", app_name="m99kg tests")
    yield session
    session.stop()


def _example_claims() -> list[dict]:
    claims = []
    for folder in sorted((EXAMPLES / "claims").iterdir()):
        for name in ("fires.json", "passes.json"):
            data = json.loads((folder / name).read_text(encoding="utf-8"))
            claims += data if isinstance(data, list) else [data]
    return claims


@pytest.fixture(scope="module")
def claims_dir(tmp_path_factory) -> Path:
    """The clean claim, five rule examples that fire, and a JSON Lines file of 200 re-identified example claims."""
    folder = tmp_path_factory.mktemp("claims")
    shutil.copy(CLEAN, folder / "clean.json")
    for rule in FIRES:
        shutil.copy(EXAMPLES / "claims" / rule / "fires.json", folder / f"{rule}.json")
    examples = _example_claims()
    with (folder / "batch.jsonl").open("w", encoding="utf-8") as out:
        for n in range(GENERATED):
            claim = dict(examples[n % len(examples)], id=f"GEN-{n:04d}")
            out.write(json.dumps(claim) + "\n")
    return folder


@pytest.fixture(scope="module")
def reference(claims_dir) -> dict[str, dict]:
    """The single-process `m99kg validate --format jsonl` report of the same folder, by claim id."""
    out = claims_dir.parent / "reference.jsonl"
    result = subprocess.run([M99KG, "validate", "--format", "jsonl", str(claims_dir)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    out.write_text(result.stdout, encoding="utf-8")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 1 + len(FIRES) + GENERATED
    return {line["claim"]: line for line in lines}


def _read_jsonl(folder: Path) -> list[dict]:
    return [json.loads(line) for part in sorted(folder.glob("part-*")) for line in
            part.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_jsonl_output_equals_the_single_process_report(spark, claims_dir, reference, tmp_path):
    from server.spark.job import validate_on_spark

    out = tmp_path / "out"
    summary = validate_on_spark(spark, [claims_dir], str(out), "jsonl", batch_size=40)
    rows = _read_jsonl(out)
    assert len(rows) == len(reference)
    assert {row["claim"]: row for row in rows} == reference  # same JSON per claim, order aside
    assert len({row["claim"] for row in rows}) == len(rows)  # no claim written twice
    assert summary.error_count == 0 and summary.claims == len(reference)
    assert summary.violations == sum(r["severity"] == "Violation" for c in reference.values() for r in c["results"])
    assert summary.warnings == sum(r["severity"] == "Warning" for c in reference.values() for r in c["results"])
    assert summary.conforming == sum(c["conforms"] for c in reference.values())
    assert summary.exit_code == 1
    assert len(list(out.glob("part-*"))) >= 2  # the JSON Lines file was split across partitions


def test_parquet_output_has_one_typed_row_per_claim(spark, claims_dir, reference, tmp_path):
    from server.spark.job import validate_on_spark

    out = tmp_path / "out.parquet"
    summary = validate_on_spark(spark, [claims_dir], str(out), "parquet")
    frame = spark.read.parquet(str(out))
    assert frame.count() == len(reference) == summary.claims
    assert dict(frame.dtypes)["results"].startswith("array<struct<rule:string,severity:string")
    back = {}
    for row in frame.collect():
        assert row.kind == "claim" and row.where is None
        back[row.claim] = {"claim": row.claim, "conforms": row.conforms,
                           "results": [r.asDict() for r in row.results]}
    assert back == reference
    header = frame.filter("claim = 'DX-HEADER-1'").first()
    assert [(r.rule, r.codes) for r in header.results if r.severity == "Violation"] == \
        [("diagnosis-header", ["M99.4", "M99.44"])]


def test_bad_input_becomes_error_rows_and_the_rest_still_validates(spark, tmp_path):
    from server.spark.job import validate_on_spark

    folder = tmp_path / "in"
    folder.mkdir()
    good = json.loads(CLEAN.read_text(encoding="utf-8"))
    header = json.loads((EXAMPLES / "claims" / "diagnosis-header" / "fires.json").read_text(encoding="utf-8"))
    (folder / "mixed.jsonl").write_text(
        json.dumps(dict(good, id="OK-1")) + "\n{not json\n\n" + json.dumps(dict(header, id="BAD-DX-1")) + "\n"
        + json.dumps(dict(good, id="OK-2", visitNumber="three")) + "\n", encoding="utf-8")
    (folder / "broken.json").write_text('{"id": "X", "diagnoses": [,]}', encoding="utf-8")
    (folder / "latin1.json").write_bytes('{"id": "Ü"}'.encode("latin-1"))
    (folder / "deep.json").write_text("[" * 5000 + "]" * 5000, encoding="utf-8")  # found by fuzzing: a traceback
    (folder / "deep.jsonl").write_text(json.dumps(dict(good, id="OK-3")) + "\n" + "[" * 5000 + "]" * 5000 + "\n",
                                       encoding="utf-8")
    missing = tmp_path / "nowhere.json"
    out = tmp_path / "out"
    summary = validate_on_spark(spark, [folder, missing], str(out), "jsonl")
    rows = _read_jsonl(out)
    claims = {r["claim"]: r for r in rows if "claim" in r}
    errors = {r["where"]: r["problem"] for r in rows if r.get("kind") == "error"}
    assert set(claims) == {"OK-1", "BAD-DX-1", "OK-3"}
    assert claims["OK-1"]["conforms"] is True and claims["BAD-DX-1"]["conforms"] is False
    jsonl = str(folder / "mixed.jsonl")
    assert errors[f"{jsonl}:2:2"].startswith("not valid JSON")  # line 2, column 2
    assert any(where.startswith(f"{jsonl}:5") and "visitNumber" in where + problem for where, problem in errors.items())
    assert any(where.startswith(f"{folder / 'broken.json'}:1:") for where in errors)
    assert "not UTF-8" in errors[str(folder / "latin1.json")]
    assert errors[str(folder / "deep.json")].startswith("nested too deeply")
    assert errors[f"{folder / 'deep.jsonl'}:2"].startswith("nested too deeply")
    assert errors[str(missing)] == "cannot read: no such file"
    assert summary.error_count == len(errors) == 7 and summary.claims == 3
    assert {str(e) for e in summary.errors} == {f"{w}: {p}" for w, p in errors.items()}
    assert summary.exit_code == 2


def test_hadoop_uri_inputs_are_listed_through_hadoop(spark, claims_dir, tmp_path):
    from server.spark.job import validate_on_spark

    out = tmp_path / "out"
    pattern = claims_dir.resolve().as_uri() + "/*-*.json"  # the rule examples (their names have a dash)
    summary = validate_on_spark(spark, [pattern], str(out), "jsonl")
    assert sorted(r["claim"] for r in _read_jsonl(out)) == sorted(
        json.loads((EXAMPLES / "claims" / rule / "fires.json").read_text(encoding="utf-8"))["id"] for rule in FIRES)
    assert summary.exit_code == 1
    nothing = validate_on_spark(spark, [claims_dir.resolve().as_uri() + "/none-*.json"], str(tmp_path / "o2"))
    assert nothing.exit_code == 2 and "matches nothing" in str(nothing.errors[0])


def test_cli_exit_codes_and_summary(spark, claims_dir, tmp_path, capsys):
    out = tmp_path / "clean"
    assert cli_main(["validate", "--spark", "local[2]", "--output", str(out), str(CLEAN)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["claims"] == 1 and summary["conforms"] is True and summary["output"] == str(out)
    assert [r["claim"] for r in _read_jsonl(out)] == ["CLEAN-MCR-0001"]
    # the output folder exists now: a clear message and exit 2, unless --overwrite
    assert cli_main(["validate", "--spark", "local[2]", "--output", str(out), str(CLEAN)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli_main(["validate", "--spark", "local[2]", "--output", str(out), "--overwrite",
                     "--output-format", "parquet", str(claims_dir / "diagnosis-header.json"), str(CLEAN)]) == 1
    assert json.loads(capsys.readouterr().out)["violations"] >= 1
    assert spark.read.parquet(str(out)).count() == 2
    assert cli_main(["validate", "--output", str(tmp_path / "x"), str(CLEAN)]) == 2
    assert "--output is for --spark" in capsys.readouterr().err


def test_cli_in_its_own_process_exits_1_on_a_violation(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([M99KG, "validate", "--spark", "local[2]", "--output", str(out),
                             str(EXAMPLES / "claims" / "diagnosis-header" / "fires.json"), str(CLEAN)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout) == {"claims": 2, "violations": 1, "warnings": 0, "infos": 0, "inputErrors": 0,
                                         "conforms": False, "output": str(out), "format": "jsonl"}
    assert sorted(r["claim"] for r in _read_jsonl(out)) == ["CLEAN-MCR-0001", "DX-HEADER-1"]


def test_spark_submit_script_uses_the_session_it_is_given(spark, tmp_path, capsys):
    from server.spark.__main__ import main as submitted

    out = tmp_path / "out"
    assert submitted([str(CLEAN), "--output", str(out), "--output-format", "parquet"]) == 0
    assert json.loads(capsys.readouterr().out)["claims"] == 1
    assert spark.read.parquet(str(out)).first().claim == "CLEAN-MCR-0001"
    assert spark.sparkContext._jsc is not None  # the session it joined is still running


# -- m99kg load --spark ---------------------------------------------------------------------------------


def _graphs(data: Path) -> dict[str, set[str]]:
    """Every triple of the claims and results graphs of a data folder (N-Triples text; no blank nodes there)."""
    import pyoxigraph as ox

    from server.namespaces import GRAPH_CLAIMS, GRAPH_RESULTS
    from server.sparql.snapshot import ensure_snapshot

    store = ox.Store.read_only(str(ensure_snapshot(data)))
    try:
        return {graph: {f"{q.subject} {q.predicate} {q.object}" for q in
                        store.quads_for_pattern(None, None, None, ox.NamedNode(graph))}
                for graph in (GRAPH_CLAIMS, GRAPH_RESULTS)}
    finally:
        del store


def _violations_by_rule(data: Path, capsys) -> list[tuple]:
    assert cli_main(["query", "violations-by-rule", "--data", str(data), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]["bindings"]
    return sorted(tuple(sorted((k, v["value"]) for k, v in row.items())) for row in rows)


def test_load_on_spark_stores_what_the_plain_load_stores(spark, claims_dir, reference, tmp_path, capsys):
    from server.namespaces import M99
    from server.sparql.snapshot import ensure_snapshot

    plain, sparked = tmp_path / "plain", tmp_path / "spark"
    ensure_snapshot(plain)  # built once (about 7 s) and copied: both loads start from the same knowledge
    shutil.copytree(plain, sparked)
    result = subprocess.run([M99KG, "load", "--data", str(plain), "--batch-size", "40", str(claims_dir)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert cli_main(["load", "--spark", "local[2]", "--partitions", "3", "--data", str(sparked),
                     "--batch-size", "40", str(claims_dir)]) == 0
    line = capsys.readouterr().out
    n_results = sum(len(c["results"]) for c in reference.values())
    assert line.startswith(f"loaded {len(reference)} claims with {n_results} results in ")
    assert result.stdout.startswith(f"loaded {len(reference)} claims with {n_results} results in ")
    batches = int(line.split(" in ")[1].split()[0])
    assert batches >= 1 + len(FIRES) + GENERATED // 40  # one transaction per file or per batch of lines
    ours, theirs = _graphs(sparked), _graphs(plain)
    for graph in ours:
        assert len(ours[graph]) == len(theirs[graph]) > 0
        assert ours[graph] == theirs[graph]  # claim and result IRIs are deterministic: the same triples
    claim_type = f"<{M99}Claim>"
    claims = {t.split()[0] for t in next(iter(ours.values())) if t.endswith(claim_type)}
    assert len(claims) == len(reference)
    by_rule = _violations_by_rule(sparked, capsys)
    assert by_rule == _violations_by_rule(plain, capsys)
    assert {dict(row)["rule"] for row in by_rule} == {r["rule"] for c in reference.values() for r in c["results"]}


@pytest.fixture
def oxigraph_server(tmp_path):
    """The real Oxigraph server (PyPI package oxigraph) on a free port: the remote store of `load --store`."""
    import socket
    import time
    import urllib.request

    exe = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("the oxigraph server (PyPI package oxigraph) is not installed", pytrace=False)
        pytest.skip("the oxigraph server (PyPI package oxigraph) is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([exe, "serve", "--location", str(tmp_path / "db"), "--bind", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/query?query=ASK%7B%7D", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("oxigraph did not start")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def test_load_on_spark_into_a_remote_store_keeps_good_claims_and_names_bad_input(spark, tmp_path, oxigraph_server,
                                                                                  capsys):
    import urllib.parse
    import urllib.request

    from server.namespaces import GRAPH_CLAIMS, GRAPH_RESULTS, M99

    folder = tmp_path / "in"
    folder.mkdir()
    good = json.loads(CLEAN.read_text(encoding="utf-8"))
    header = json.loads((EXAMPLES / "claims" / "diagnosis-header" / "fires.json").read_text(encoding="utf-8"))
    (folder / "mixed.jsonl").write_text(json.dumps(dict(good, id="OK-1")) + "\n{not json\n"
                                        + json.dumps(dict(header, id="BAD-DX-1")) + "\n", encoding="utf-8")
    (folder / "header.json").write_text(json.dumps(header), encoding="utf-8")
    assert cli_main(["load", "--spark", "local[2]", "--store", oxigraph_server, "--no-store-content",
                     str(folder)]) == 2
    out, err = capsys.readouterr()
    assert f"m99kg load: {folder / 'mixed.jsonl'}:2:2: not valid JSON" in err and "Traceback" not in err
    assert out.startswith("loaded 3 claims with 2 results in ")

    def select(query: str) -> list[dict]:
        url = oxigraph_server + "/query?" + urllib.parse.urlencode({"query": query})
        request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["results"]["bindings"]

    ids = select(f"SELECT ?id WHERE {{ GRAPH <{GRAPH_CLAIMS}> {{ ?c a <{M99}Claim> ; <{M99}claimId> ?id }} }}")
    assert sorted(row["id"]["value"] for row in ids) == ["BAD-DX-1", "DX-HEADER-1", "OK-1"]
    rules = select(f"SELECT ?id ?rule WHERE {{ GRAPH <{GRAPH_RESULTS}> {{ ?v <{M99}claimId> ?id . "
                   f"?r <{M99}inValidation> ?v ; <{M99}ruleId> ?rule }} }}")
    assert sorted((row["id"]["value"], row["rule"]["value"]) for row in rules) == [
        ("BAD-DX-1", "diagnosis-header"), ("DX-HEADER-1", "diagnosis-header")]
    content = select(f"SELECT * WHERE {{ GRAPH <{GRAPH_CLAIMS}> {{ ?s <{M99}patient> ?o }} }}")
    assert content == []  # --no-store-content: no patient in the store


def test_load_on_spark_refuses_a_busy_data_folder_before_starting(tmp_path, capsys):
    from server.sparql.snapshot import locked

    with locked(tmp_path, exclusive=True):
        assert cli_main(["load", "--spark", "local[2]", "--data", str(tmp_path), str(CLEAN)]) == 2
    assert "is in use" in capsys.readouterr().err
    assert cli_main(["load", "--partitions", "2", "--data", str(tmp_path), str(CLEAN)]) == 2
    assert "are for --spark" in capsys.readouterr().err


def test_a_load_interrupted_on_spark_leaves_whole_batches_only(spark, claims_dir):
    import pyoxigraph as ox

    from server.namespaces import GRAPH_CLAIMS, M99
    from server.spark.load import load_on_spark

    class FailsOnThird:
        """An in-memory store whose third update fails, as a remote store going away mid-load would."""

        def __init__(self) -> None:
            self.store, self.calls = ox.Store(), 0

        def update(self, sparql: str) -> None:
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("the store went away")
            self.store.update(sparql)

        def select(self, sparql: str, union: bool = True) -> list[dict]:
            result = self.store.query(sparql)
            names = [v.value for v in result.variables]
            return [{n: row[n] for n in names if row[n] is not None} for row in result]

    target = FailsOnThird()
    with pytest.raises(RuntimeError, match="went away"):
        load_on_spark(spark, [claims_dir / "batch.jsonl"], target, batch_size=25, partitions=1,
                      check_executors=False)
    ids = [row["id"].value for row in target.store.query(
        f"SELECT ?id WHERE {{ GRAPH <{GRAPH_CLAIMS}> {{ ?c a <{M99}Claim> ; <{M99}claimId> ?id }} }}")]
    assert sorted(ids) == [f"GEN-{n:04d}" for n in range(50)]  # the first two batches, whole; nothing of the third


def test_a_partition_refuses_a_claim_id_repeated_in_lines_of_one_file():
    """The executor's units (no Spark needed): a repeat across batches of one file's lines is refused,
    the same id in another file is not, and whole files are cut as `m99kg validate` cuts them."""
    from server.claims.x12_write import write_837p
    from server.spark import worker

    good = json.loads(CLEAN.read_text(encoding="utf-8"))

    def line(n: int, cid: str) -> tuple[str, int, bytes]:
        return ("a.jsonl", n, json.dumps(dict(good, id=cid)).encode())

    x12 = write_837p([{k: v for k, v in dict(good, id=f"X-{i}").items() if k not in ("findings", "visitNumber")}
                      for i in range(3)]).encode()
    records = [line(1, "A-1"), line(2, "A-2"), line(3, "A-1"), ("c.837", None, x12),
               ("b.jsonl", 1, json.dumps(dict(good, id="A-1")).encode())]
    units = list(worker.units(records, None, 2))
    assert [u.objects and [o["id"] for o in u.objects] for u in units] == [
        ["A-1", "A-2"], [], ["X-0", "X-1"], ["X-2"], ["A-1"]]
    assert [str(e) for e in units[1].errors] == ["a.jsonl:3: claim.id: claim 'A-1' appears twice in one file"]
