"""`m99kg validate` as a user runs it: formats and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import rdflib

ROOT = Path(__file__).resolve().parent.parent
M99KG = shutil.which("m99kg") or str(Path(sys.executable).parent / "m99kg")
CLEAN = ROOT / "examples" / "clean-medicare-claim.json"
HEADER = ROOT / "examples" / "claims" / "diagnosis-header" / "fires.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([M99KG, "validate", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_clean_claim_exits_0():
    r = run("--format", "json", CLEAN)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["conforms"] is True and report["summary"]["violations"] == 0


def test_violation_exits_1_with_the_json_contract():
    r = run("--format", "json", HEADER, CLEAN)
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    assert set(report) == {"conforms", "summary", "claims"} and report["conforms"] is False
    assert report["summary"]["claims"] == 2
    first = report["claims"][0]
    assert first["claim"] == "DX-HEADER-1" and first["conforms"] is False
    result = next(x for x in first["results"] if x["rule"] == "diagnosis-header")
    assert set(result) == {"rule", "severity", "focus", "codes", "message", "source"}
    assert result["codes"] == ["M99.4", "M99.44"] and "M99.44" in result["message"]


def test_text_worklist_and_turtle_report():
    text = run(HEADER)
    assert text.returncode == 1 and "DX-HEADER-1: will be rejected" in text.stdout
    assert "REJECT diagnosis-header" in text.stdout
    turtle = run("--format", "turtle", HEADER)
    g = rdflib.Graph().parse(data=turtle.stdout, format="turtle")
    assert (None, rdflib.URIRef("http://www.w3.org/ns/shacl#conforms"), None) in g


def test_unreadable_input_exits_2_and_still_reports_the_rest(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "A", "diagnoses": [,]}', encoding="utf-8")
    r = run("--format", "json", bad, CLEAN)
    assert r.returncode == 2
    assert f"{bad}:1:" in r.stderr and "not valid JSON" in r.stderr and "Traceback" not in r.stderr
    assert json.loads(r.stdout)["summary"]["claims"] == 1


def test_missing_file_exits_2():
    r = run("/nonexistent/claims.json")
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_input_nested_thousands_deep_exits_2_with_a_message_and_the_other_files_still_validate(tmp_path):
    """Found by fuzzing: a file of "[[[[..." 5,000 deep was a RecursionError traceback (exit 1)."""
    deep = "[" * 5000 + "]" * 5000
    (tmp_path / "deep.json").write_text(deep, encoding="utf-8")
    (tmp_path / "deep.jsonl").write_text(CLEAN.read_text(encoding="utf-8").replace("\n", " ") + "\n" + deep + "\n",
                                         encoding="utf-8")
    (tmp_path / "deep.ttl").write_text("@prefix m: <http://x/> . m:s m:p " + "[ m:p " * 5000 + "1" + " ]" * 5000
                                       + " .", encoding="utf-8")
    r = run("--format", "json", tmp_path / "deep.json", tmp_path / "deep.jsonl", tmp_path / "deep.ttl", CLEAN)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert f"{tmp_path / 'deep.json'}: nested too deeply" in r.stderr
    assert f"{tmp_path / 'deep.jsonl'}:2: nested too deeply" in r.stderr
    assert f"{tmp_path / 'deep.ttl'}: no claim found" in r.stderr
    assert json.loads(r.stdout)["summary"]["claims"] == 2
