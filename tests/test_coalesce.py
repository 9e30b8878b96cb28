"""Concurrent /validate requests share fast-engine batches, and each still gets its own report."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from server.claims.graph import ClaimGraph
from server.claims.readers import read_path
from server.validation.coalesce import Coalescer, claim_nodes
from server.validation.fast import FastValidator
from server.validation.output import claim_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "claims"


class Gate:
    """The fast validator, recording each batch, and holding the first batch until released."""

    def __init__(self, inner: FastValidator, poison: str | None = None) -> None:
        self.inner = inner
        self.poison = poison
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def validate(self, claims: list[ClaimGraph]):
        self.batches.append([c.claim_id for c in claims])
        self.entered.set()
        assert self.release.wait(60)
        if any(c.claim_id == self.poison for c in claims):
            raise RuntimeError("poisoned batch")
        return self.inner.validate(claims)


@pytest.fixture(scope="module")
def fast(store) -> FastValidator:
    return FastValidator(store)


def claims_of(rule: str, kind: str) -> list[ClaimGraph]:
    return read_path(EXAMPLES / rule / f"{kind}.json")


def alone(fast: FastValidator, claims: list[ClaimGraph]) -> list[dict]:
    return [claim_json(r) for r in fast.validate(claims).claims]


def run_queued(coalescer: Coalescer, gate: Gate, requests: list[list[ClaimGraph]]) -> list:
    """The first request leads and is held; the others queue behind it; then all are released."""
    answers: list = [None] * len(requests)

    def call(i: int) -> None:
        try:
            answers[i] = [claim_json(r) for r in coalescer.validate(requests[i])]
        except Exception as exc:  # the test looks at what each request got
            answers[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(requests))]
    threads[0].start()
    assert gate.entered.wait(60)
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 60
    while len(coalescer._queue) < len(requests) - 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.release.set()
    for t in threads:
        t.join(120)
    return answers


def test_waiting_requests_are_validated_as_one_batch(fast):
    rules = ["diagnosis-header", "cmt-level-regions", "medicare-98943-at", "stenosis-imaging", "visit-audit"]
    requests = [claims_of(rule, "fires") for rule in rules]
    gate = Gate(fast)
    coalescer = Coalescer(gate)  # type: ignore[arg-type]
    answers = run_queued(coalescer, gate, requests)
    assert gate.batches == [[requests[0][0].claim_id], [r[0].claim_id for r in requests[1:]]]
    assert (coalescer.batches, coalescer.requests) == (2, 5)
    for request, answer in zip(requests, answers, strict=True):
        assert answer == alone(fast, request)
    assert any(not a[0]["conforms"] for a in answers)


def test_requests_sharing_a_node_never_share_a_batch(fast):
    """fires.json and passes.json of a rule use the same claim id: the same claim node, other facts."""
    requests = [claims_of("diagnosis-header", "fires"), claims_of("diagnosis-header", "passes"),
                claims_of("diagnosis-header", "fires"), claims_of("visit-audit", "fires")]
    gate = Gate(fast)
    coalescer = Coalescer(gate)  # type: ignore[arg-type]
    answers = run_queued(coalescer, gate, requests)
    assert [len(b) for b in gate.batches] == [1, 2, 1]  # passes + visit-audit, then the second fires
    assert answers[0] == answers[2] == alone(fast, requests[0])
    assert answers[1] == alone(fast, requests[1]) != answers[0]
    assert answers[3] == alone(fast, requests[3])


def reordered(claims: list[ClaimGraph]) -> list[ClaimGraph]:
    """The same claims with their N-Triples lines in another order (as another reading may give them)."""
    out = []
    for c in claims:
        assert c.ntriples is not None
        lines = c.ntriples.splitlines()
        out.append(ClaimGraph(c.iri, c.claim_id, source=c.source, linked=c.linked,
                              ntriples="\n".join(reversed(lines)) + "\n"))
    return out


def test_a_request_made_twice_is_validated_once(fast):
    twice = claims_of("diagnosis-header", "fires")
    requests = [claims_of("visit-audit", "fires"), twice, reordered(twice), claims_of("diagnosis-header", "passes")]
    gate = Gate(fast)
    coalescer = Coalescer(gate)  # type: ignore[arg-type]
    answers = run_queued(coalescer, gate, requests)
    assert [len(b) for b in gate.batches] == [1, 1, 1]  # the second fires.json rides with the first
    assert coalescer.requests == 4
    assert answers[1] == answers[2] == alone(fast, requests[1])
    assert answers[3] == alone(fast, requests[3]) != answers[1]


def test_a_claim_pointing_at_another_requests_node_waits(fast):
    """A claim naming a node that another request's claim describes must not see that node's facts."""
    victim = claims_of("stenosis-imaging", "fires")[0]
    other = claims_of("visit-audit", "fires")[0]
    dx = next(n for n in victim.linked if "/dx/" in n or "diagnosis" in n)
    assert other.ntriples is not None
    pointing = ClaimGraph(other.iri, other.claim_id, source=other.source, linked=other.linked,
                          ntriples=other.ntriples
                          + f"<{other.iri}> <https://w3id.org/m99kg/vocab#hasDiagnosis> <{dx}> .\n")
    subjects, objects = claim_nodes(pointing)
    assert f"<{dx}>" in objects and f"<{other.iri}>" in subjects
    gate = Gate(fast)
    coalescer = Coalescer(gate)  # type: ignore[arg-type]
    answers = run_queued(coalescer, gate, [claims_of("cmt-level-regions", "fires"), [victim], [pointing]])
    assert gate.batches[1] == [victim.claim_id] and gate.batches[2] == [pointing.claim_id]
    assert answers[1] == alone(fast, [victim])
    assert answers[2] == alone(fast, [pointing])


def test_a_failing_batch_fails_only_the_request_that_broke_it(fast):
    requests = [claims_of("visit-audit", "fires"), claims_of("diagnosis-header", "fires"),
                claims_of("stenosis-imaging", "fires"), claims_of("cmt-level-regions", "passes")]
    gate = Gate(fast, poison=requests[2][0].claim_id)
    coalescer = Coalescer(gate)  # type: ignore[arg-type]
    answers = run_queued(coalescer, gate, requests)
    assert isinstance(answers[2], RuntimeError)
    for i in (0, 1, 3):
        assert answers[i] == alone(fast, requests[i])
    assert not coalescer._queue and not coalescer._leading


def test_a_large_request_is_validated_on_its_own_in_chunks(fast):
    claims = [c for rule in ("diagnosis-header", "visit-audit", "stenosis-imaging") for c in claims_of(rule, "fires")]
    gate = Gate(fast)
    gate.release.set()
    coalescer = Coalescer(gate, max_claims=2)  # type: ignore[arg-type]
    answer = [claim_json(r) for r in coalescer.validate(claims)]
    assert [len(b) for b in gate.batches] == [2, 1]
    assert answer == alone(fast, claims) and coalescer.batches == 0


def test_many_threads_get_their_own_reports(fast):
    """No gate: 24 threads with 8 different claims race; every answer equals the claim alone."""
    rules = sorted(p.name for p in EXAMPLES.iterdir() if (p / "fires.json").exists())[:8]
    requests = [claims_of(rule, kind) for rule in rules for kind in ("fires", "passes")] * 3
    expected = [alone(fast, r) for r in requests]
    coalescer = Coalescer(fast)
    answers: list = [None] * len(requests)

    def call(i: int) -> None:
        answers[i] = [claim_json(r) for r in coalescer.validate(requests[i])]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert answers == expected
    assert coalescer.requests == len(requests) and not coalescer._leading
