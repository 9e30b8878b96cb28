"""The synthetic-claims generator: deterministic, streaming, valid JSON form, clean claims clean,
faulty claims reported by the rules they name, every rule reachable; and `m99kg generate`."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from server.claims.errors import ClaimInputError
from server.claims.jsonform import check_claim, claims_from_objects
from server.cli import main
from server.synth import data
from server.synth.generator import generate, generate_detailed, generate_with_labels
from server.synth.people import npi_is_valid
from server.synth.writers import write_json, write_jsonl
from server.validation.catalogue import rules

ROOT = Path(__file__).resolve().parent.parent


def jsonl(count: int, seed: int, **options) -> bytes:
    out = io.StringIO()
    write_jsonl(generate(count, seed, **options), out)
    return out.getvalue().encode("utf-8")


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not():
    first = jsonl(600, 42)
    assert first == jsonl(600, 42)
    assert first != jsonl(600, 43)
    assert len(first.splitlines()) == 600


def test_every_claim_has_the_json_form_and_loads_as_a_claim_graph():
    claims = list(generate(3000, 7))
    for claim in claims:
        check_claim(claim, claim["id"])
    assert len({c["id"] for c in claims}) == len(claims)
    errors: list[ClaimInputError] = []
    graphs = claims_from_objects(claims[:300], "synthetic", errors)
    assert errors == [] and len(graphs) == 300


def test_providers_have_valid_npis_and_the_mix_is_realistic():
    claims = list(generate(4000, 3))
    assert all(npi_is_valid(c["provider"]) for c in claims)
    assert npi_is_valid("1234567893") and not npi_is_valid("1234567890")
    types = defaultdict(int)
    for c in claims:
        types[c["providerType"]] += 1
    assert max(types, key=types.get) == "chiropractor"
    assert set(types) == {"chiropractor", "osteopath", "physical-therapist", "physician"}
    assert {c["payer"] for c in claims} == {"medicare", "commercial"}
    served = sorted(c["serviceDate"] for c in claims)
    assert (dt.date.fromisoformat(served[-1]) - dt.date.fromisoformat(served[0])).days >= 365


def test_clean_episodes_have_increasing_visits_and_consistent_dates():
    visits = defaultdict(list)
    for claim, intended in generate_with_labels(3000, 11):
        if intended or "visitNumber" not in claim:
            continue
        served = claim["serviceDate"]
        assert claim["treatmentStart"] <= served
        if "xrayDate" in claim:
            assert claim["xrayDate"] < claim["treatmentStart"]
        visits[claim["patient"]].append((served, claim["visitNumber"]))
    assert len(visits) > 50
    for seq in visits.values():
        assert [v for _, v in seq] == sorted(v for _, v in seq)
        assert len({v for _, v in seq}) == len(seq)
        assert [d for d, _ in seq] == sorted(d for d, _ in seq)


def test_the_fault_rate_is_the_share_of_labelled_claims():
    assert not any(rules_ for _, rules_ in generate_with_labels(1500, 5, fault_rate=0.0))
    assert all(rules_ for _, rules_ in generate_with_labels(300, 5, fault_rate=1.0))
    share = sum(1 for _, r in generate_with_labels(6000, 5) if r) / 6000
    assert 0.31 < share < 0.39


def test_the_intended_rules_cover_every_rule_of_the_catalogue():
    catalogue = {r.id for r in rules()}
    assert len(catalogue) == 46
    seen: set[str] = set()
    mutated: set[str] = set()
    for s in generate_detailed(6000, 2024):
        seen.update(s.rules)
        if s.operators and not s.operators[0].startswith("example:"):
            mutated.update(s.rules)
    assert seen == catalogue
    assert len(mutated) >= 35, sorted(catalogue - mutated)   # most faults are mutations, not copies


def test_the_rule_examples_copy_is_in_sync_with_examples_claims():
    folder = data.repo_examples_dir()
    if not folder.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{folder} is missing")
        pytest.skip("examples/claims not present (installed package)")
    assert data.collect_examples(folder) == data.rule_examples(), \
        "server/synth/data/rule-examples.json is stale: run python -m server.synth.data"
    assert set(data.rule_examples()) == {r.id for r in rules()}


# VmHWM is the peak resident memory of this process image (ru_maxrss would also count the pytest
# process it was forked from, which exec does not reset on Linux)
_MEMORY_PROBE = """
import sys
from server.synth.generator import generate
n, keep = int(sys.argv[1]), sys.argv[2] == "keep"
held = []
for claim in generate(n, 9):
    if keep:
        held.append(claim)
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


def peak_rss_kib(count: int, keep: bool) -> int:
    """Peak resident memory of a fresh interpreter that generates `count` claims (tracemalloc would
    slow the generator several times over; the process peak measures the same thing here)."""
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(count), "keep" if keep else "drop"],
                          capture_output=True, text=True, check=True, cwd=ROOT, timeout=300)
    return int(done.stdout.strip())


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc for the peak memory")
def test_streaming_keeps_memory_flat():
    base = peak_rss_kib(2_000, keep=False)
    streamed = peak_rss_kib(200_000, keep=False)
    held = peak_rss_kib(20_000, keep=True)
    # holding 20,000 claims costs tens of MiB, so holding 200,000 would cost hundreds;
    # streaming 200,000 stays within a few MiB of streaming 2,000
    assert held - base > 20_000, (base, held)
    assert streamed - base < 10_000, (base, streamed)


def test_the_json_writer_streams_a_valid_array():
    out = io.StringIO()
    assert write_json(generate(50, 1), out) == 50
    parsed = json.loads(out.getvalue())
    assert [c["id"] for c in parsed] == [c["id"] for c in generate(50, 1)]
    empty = io.StringIO()
    assert write_json(iter(()), empty) == 0 and json.loads(empty.getvalue()) == []


def test_bad_arguments_are_refused_before_generating():
    with pytest.raises(ValueError, match="fault_rate"):
        generate_detailed(10, 1, fault_rate=1.5)
    with pytest.raises(ValueError, match="providers"):
        generate_detailed(10, 1, providers=2)
    with pytest.raises(ValueError, match="count"):
        generate_detailed(-1, 1)


# -- the reference validator on a sample --------------------------------------------------------------

def sample() -> list:
    """Clean claims of every provider type, one claim per mutation operator, a few rule examples."""
    picked, clean_types, templates = {}, set(), 0
    for s in generate_detailed(5000, 77):
        if not s.rules:
            key = (s.claim["providerType"], s.claim["payer"])
            if key not in clean_types and len(clean_types) < 8:
                clean_types.add(key)
                picked[("clean", *key)] = s
        elif s.operators[0].startswith("example:"):
            if templates < 3 and s.operators not in picked:
                templates += 1
                picked[s.operators] = s
        elif len(s.operators) == 1 and s.operators not in picked:
            picked[s.operators] = s
    return list(picked.values())[:42]


def test_clean_claims_pass_and_faulty_claims_get_their_rules(store):
    from server.validation.engine import Validator
    from server.validation.querycache import cached_queries

    items = sample()
    assert len(items) >= 30
    with cached_queries():  # pySHACL with rdflib's parse of each constraint text done once
        report = Validator(store).validate(claims_from_objects([s.claim for s in items], "synthetic"))
    problems = []
    for s, result in zip(items, report.claims, strict=True):
        assert result.claim == s.claim["id"]
        got = {r.rule for r in result.results}
        if not s.rules and result.results:
            problems.append((s.claim["id"], "clean claim reported", [(r.rule, r.message) for r in result.results]))
        elif set(s.rules) - got:
            problems.append((s.claim["id"], s.operators, "missing", sorted(set(s.rules) - got), "got", sorted(got)))
    assert problems == []


# -- m99kg generate ------------------------------------------------------------------------------------

def test_cli_writes_json_to_a_file_and_labels(tmp_path, capsys):
    out, labels = tmp_path / "claims.json", tmp_path / "labels.jsonl"
    assert main(["generate", "--count", "40", "--seed", "3", "--out", str(out), "--labels", str(labels)]) == 0
    claims = json.loads(out.read_text())
    assert [c["id"] for c in claims] == [c["id"] for c in generate(40, 3)]
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert [r["id"] for r in rows] == [c["id"] for c in claims]
    assert [tuple(r["rules"]) for r in rows] == [r for _, r in generate_with_labels(40, 3)]
    assert "40 claims" in capsys.readouterr().err


def test_cli_jsonl_to_stdout_is_deterministic(capsys):
    assert main(["generate", "--count", "25", "--seed", "8", "--format", "jsonl", "--fault-rate", "0.5"]) == 0
    first = capsys.readouterr().out
    assert main(["generate", "--count", "25", "--seed", "8", "--format", "jsonl", "--fault-rate", "0.5"]) == 0
    assert capsys.readouterr().out == first == jsonl(25, 8, fault_rate=0.5).decode()


def test_cli_per_file_splits_into_a_folder(tmp_path):
    folder = tmp_path / "out"
    assert main(["generate", "--count", "25", "--seed", "4", "--format", "jsonl", "--per-file", "10",
                 "--out", str(folder)]) == 0
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["claims-00001.jsonl", "claims-00002.jsonl", "claims-00003.jsonl"]
    assert [len(f.read_text().splitlines()) for f in files] == [10, 10, 5]


@pytest.mark.parametrize("argv, message", [
    (["--fault-rate", "1.5"], "--fault-rate"),
    (["--per-file", "10"], "--per-file"),
    (["--start", "2025-13-01"], "--start"),
    (["--providers", "2"], "providers"),
])
def test_cli_bad_options_exit_2_with_a_message(argv, message, capsys):
    assert main(["generate", "--count", "5", "--seed", "1", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("fmt, module, ext", [("fhir", "server.claims.fhir_write", ".fhir.json"),
                                              ("x12", "server.claims.x12_write", ".x12")])
def test_cli_fhir_and_x12_read_back_as_the_same_claims(fmt, module, ext, tmp_path):
    importlib.import_module(module)  # the writer the command uses
    from server.claims.readers import read_path

    folder = tmp_path / fmt
    assert main(["generate", "--count", "30", "--seed", "6", "--format", fmt, "--per-file", "20",
                 "--out", str(folder)]) == 0
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [f"claims-00001{ext}", f"claims-00002{ext}"]
    errors: list[ClaimInputError] = []
    ids = [g.claim_id for f in files for g in read_path(f, fmt, errors)]
    assert errors == []
    from server.claims.x12_write import refusal

    # (an 837P leaves out the claims it cannot carry: test_x12_output_leaves_out_...)
    assert sorted(ids) == sorted(c["id"] for c in generate(30, 6) if fmt != "x12" or refusal(c) is None)


def test_x12_output_leaves_out_the_claims_an_837p_cannot_carry_and_says_how_many(tmp_path, capsys):
    """Some faults have no place in an 837P (a 13th diagnosis, a 5th pointer): `generate --format x12`
    stopped at the first such claim with exit 2. It now writes every other claim, with its label,
    and counts the ones left out."""
    from server.claims.readers import read_path
    from server.claims.x12_write import refusal

    folder, labels = tmp_path / "x12", tmp_path / "labels.jsonl"
    assert main(["generate", "--count", "500", "--seed", "7", "--format", "x12", "--per-file", "200",
                 "--out", str(folder), "--labels", str(labels)]) == 0
    every = list(generate(500, 7))
    kept = [c["id"] for c in every if refusal(c) is None]
    left_out = len(every) - len(kept)
    assert 0 < left_out < 20
    message = capsys.readouterr().err
    assert f"{len(kept)} claims" in message and f"{left_out} generated claims were left out" in message
    errors: list[ClaimInputError] = []
    files = sorted(folder.iterdir())
    assert len(files) == 3 and len(read_path(files[0], "x12", errors)) == 200  # full files of writable claims
    ids = [g.claim_id for f in files for g in read_path(f, "x12", errors)]
    assert errors == [] and sorted(ids) == sorted(kept)
    assert [json.loads(line)["id"] for line in labels.read_text().splitlines()] == kept


def test_output_does_not_depend_on_the_hash_seed():
    """Sets and dicts must not leak their per-process order into the claims."""
    code = "import sys; from tests.test_synth import jsonl; sys.stdout.buffer.write(jsonl(800, 13))"
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd=ROOT, timeout=120,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert outs[0] == outs[1] == jsonl(800, 13)
