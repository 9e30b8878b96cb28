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
