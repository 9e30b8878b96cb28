"""A few thousand mutated real inputs (JSON, JSON-LD, Turtle, FHIR, X12) posted to /validate: each
gets a 2xx or a 4xx, never a 5xx or a traceback (bench/fuzz_validate.py, seeded, so a failure here
replays exactly with `bench/fuzz_validate.py --seed N`)."""

from __future__ import annotations

import importlib.util
import itertools
import logging
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = 1500


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_validate", ROOT / "bench" / "fuzz_validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_seeds_cover_every_format_the_service_reads(fuzz):
    media = {m for m, _ in fuzz.seeds()}
    assert {"application/json", "application/ld+json", "text/turtle"} <= media
    if fuzz.CORPORA.is_dir():
        assert {"application/fhir+json", "application/edi-x12"} <= media


@pytest.mark.parametrize("seed", [11, 12])
def test_mutated_inputs_get_a_4xx_with_a_message_never_a_500(fuzz, seed, caplog):
    inputs, client = fuzz.seeds(), fuzz.service_client()
    statuses: set[int] = set()
    failures = []
    with caplog.at_level(logging.CRITICAL):
        for n, (media, body) in enumerate(itertools.islice(fuzz.cases(seed, inputs), CASES)):
            status, why = fuzz.check(client, media, body)
            statuses.add(status)
            if why:
                failures.append(f"case {n} ({media}): {why}")
    assert not failures, failures[:5]
    assert {200, 400} <= statuses  # the mutations reach both the readers' errors and the validator


def test_inputs_fuzzing_found_are_400s_over_http(fuzz):
    client = fuzz.service_client()
    bodies = [
        ("application/ld+json", b'{"@context": [], "id": "A", "diagnoses": ["M99.03"]}', "no claim found"),
        ("application/fhir+json", b'{"resourceType": "Claim", "id": "\\ud800"}', "lone surrogate"),
    ]
    deep = "[" * 5000 + "]" * 5000
    for media in ("application/json", "application/ld+json", "application/fhir+json", "application/x-ndjson"):
        bodies.append((media, deep.encode(), "nested too deeply"))  # a RecursionError (500) before
    bodies.append(("application/json", ('{"id": "A", "x": ' + deep + "}").encode(), "nested too deeply"))
    for media, body, message in bodies:
        answer = client.post("/validate", data=body, content_type=media)
        assert answer.status_code == 400 and message in answer.get_json()["error"], answer.data
