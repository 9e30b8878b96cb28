"""The 100,000-claim differential's cache (bench/differential.py) is keyed by a fingerprint of what
pySHACL's reports depend on. A module on the reference path missing from that list would let stale
reports pass as current, so this test runs the reference path in a fresh interpreter and checks that
every module of server/ it imports is fingerprinted (or is only the fast engine's side)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from server.synth.generator import generate
from server.validation import differential
differential._init_reference()
reports = differential._reference_chunk(list(generate(4, 5)))
assert len(reports) == 4
print(json.dumps(sorted(m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None))))
"""


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_differential", ROOT / "bench" / "differential.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_module_on_the_reference_path_is_fingerprinted():
    bench = bench_module()
    listed = [ROOT / name for name in bench._SOURCES + bench.FAST_SIDE]
    assert all(path.exists() for path in listed), [str(p) for p in listed if not p.exists()]
    out = subprocess.run([sys.executable, "-c", _PROBE, str(ROOT)], capture_output=True, text=True, check=True,
                         timeout=600).stdout
    imported = {Path(f).resolve() for f in json.loads(out.splitlines()[-1])}
    ours = {p for p in imported if p.is_relative_to(ROOT / "server")}
    assert ROOT / "server" / "validation" / "engine.py" in ours  # the probe did run the reference path
    missing = [str(p.relative_to(ROOT)) for p in sorted(ours)
               if not any(p == entry or p.is_relative_to(entry) for entry in listed)]
    assert not missing, f"imported by the reference path but not in bench/differential.py _SOURCES: {missing}"


def test_the_fingerprint_is_stable_and_covers_each_listed_file(monkeypatch):
    bench = bench_module()
    before = bench.reference_fingerprint()
    assert before == bench.reference_fingerprint()
    monkeypatch.setattr(bench, "_SOURCES", [*bench._SOURCES, "server/claims/x12.py"])
    assert bench.reference_fingerprint() != before


# -- the ledger: pySHACL's reference digests, kept in the repository -------------------------------

LEDGER = ROOT / "bench" / "differential-ledger.jsonl"


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "differential.py"), *args], capture_output=True,
                          text=True, timeout=900)


def test_the_ledger_carries_the_reference_to_a_checkout_without_the_cache(tmp_path):
    cache, ledger = tmp_path / "cache", tmp_path / "ledger.jsonl"
    common = ["--claims", "6", "--chunk", "3", "--seed", "7", "--ledger", str(ledger), "--workers", "1"]
    first = run_bench(*common, "--cache", str(cache), "--minutes", "10")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "6 of 6 claims checked (2 chunks: 2 against pySHACL's reports in the cache" in first.stdout
    bench = bench_module()
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [(e["chunk"], e["seed"], e["claims"]) for e in entries] == [(0, 7, 3), (1, 7, 3)]
    assert {e["fingerprint"] for e in entries} == {bench.reference_fingerprint()}
    for e in entries:  # the digest is that of the cached reports, as the cache holds them
        lines = (cache / f"seed7-chunk{e['chunk']:05d}.jsonl").read_text().splitlines(keepends=True)
        assert json.loads(lines[0])["key"] == e["key"]
        assert e["sha256"] == bench.digest([json.loads(line) for line in lines[1:]])

    # another machine: no cache, only the ledger; nothing is computed again, the digests are checked
    second = run_bench(*common, "--cache", str(tmp_path / "empty"), "--minutes", "10")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 chunks cached" in second.stdout and "2 more recorded" in second.stdout
    assert "reference chunk" not in second.stdout
    assert "6 of 6 claims checked (2 chunks: 0 against pySHACL's reports in the cache, 2 against the ledger's" \
        in second.stdout and ", 0 differ;" in second.stdout

    # a recorded digest the fast engine does not reproduce is a difference, named by its chunk
    entries[1]["sha256"] = "0" * 64
    ledger.write_text("".join(json.dumps(e) + "\n" for e in entries))
    third = run_bench(*common, "--cache", str(tmp_path / "empty2"), "--minutes", "0")
    assert third.returncode == 1
    assert "and 1 recorded chunks differ" in third.stdout
    assert "chunk 1: the fast engine's reports differ from pySHACL's recorded in the ledger" in third.stdout

    # --ignore-ledger computes the chunks that are only recorded again, and records the true digest
    fourth = run_bench(*common, "--cache", str(tmp_path / "empty2"), "--minutes", "10", "--ignore-ledger")
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    assert "reference chunk 0" in fourth.stdout and "reference chunk 1" in fourth.stdout
    rewritten = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert rewritten[1]["sha256"] != "0" * 64 and rewritten[1]["sha256"] == bench.digest(
        [json.loads(line) for line in (cache / "seed7-chunk00001.jsonl").read_text().splitlines()[1:]])


def test_a_ledger_entry_of_other_sources_is_dropped_and_a_bad_line_named(tmp_path):
    bench = bench_module()
    ledger = tmp_path / "ledger.jsonl"
    old = {"chunk": 0, "seed": 1, "claims": 3, "key": "k-old", "fingerprint": "other", "sha256": "a"}
    new = {"chunk": 0, "seed": 1, "claims": 3, "key": "k-new", "fingerprint": "now", "sha256": "b"}
    bench.write_ledger(ledger, {"k-old": old, "k-new": new}, "now")
    assert bench.read_ledger(ledger) == {"k-new": new}
    other = {**new, "chunk": 1, "key": "k-other"}  # written by another run meanwhile: kept
    bench.write_ledger(ledger, {"k-other": other}, "now")
    bench.write_ledger(ledger, {"k-new": {**new, "sha256": "c"}}, "now")
    assert bench.read_ledger(ledger) == {"k-new": {**new, "sha256": "c"}, "k-other": other}
    ledger.write_text(json.dumps(new) + "\n{not json\n")
    try:
        bench.read_ledger(ledger)
    except SystemExit as exc:
        assert str(exc).startswith(f"{ledger}:2: not a ledger entry")
    else:
        raise AssertionError("a malformed ledger line was accepted")


def test_the_fast_engine_reproduces_every_reference_chunk_recorded_in_the_ledger(tmp_path):
    """The 100,000-claim differential's recorded chunks, checked against the fast engine on every run of
    the suite (about 2 ms per claim). Recorded for the shapes and sources of one fingerprint: after
    a change to them the ledger is about sources that no longer exist, until the bench computes it again."""
    entries = [json.loads(line) for line in LEDGER.read_text().splitlines()]
    assert entries, "the ledger is empty"
    if {e["fingerprint"] for e in entries} != {bench_module().reference_fingerprint()}:
        pytest.skip("bench/differential-ledger.jsonl was recorded for other shapes or sources; "
                    "bench/differential.py computes it again")
    result = run_bench("--claims", "100000", "--chunk", "500", "--seed", "42", "--ledger", str(LEDGER),
                       "--cache", str(tmp_path / "cache"), "--minutes", "0")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"({len(entries)} chunks: 0 against pySHACL's reports in the cache, {len(entries)} against the " \
           "ledger's digests), 0 differ;" in result.stdout
