"""Compare the fast engine with the reference (pySHACL, claim by claim) on the same claims.

Used by tests/test_fast_engine.py (2,000 generated claims in CI) and bench/validate_batch.py
(100,000). The reference runs inside `cached_queries()`, which only skips rdflib's re-parsing of
identical SPARQL text; its evaluation, and so its report, is pySHACL's.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator

from server.claims.graph import ClaimGraph
from server.validation.engine import Validator
from server.validation.fast import FastValidator
from server.validation.output import claim_json
from server.validation.querycache import cached_queries


def differences(claims: list[ClaimGraph], reference: Validator, fast: FastValidator, batch_size: int = 1000,
                limit: int = 20) -> tuple[int, list[str]]:
    """(number of claims that differ, up to `limit` readable descriptions of the differences)."""
    ours: list[dict] = []
    for start in range(0, len(claims), batch_size):
        ours += [claim_json(c) for c in fast.validate(claims[start:start + batch_size]).claims]
    with cached_queries():
        theirs = [claim_json(c) for claim in claims for c in reference.validate([claim]).claims]
    return compare_json(theirs, ours, limit)


# -- the reference on several cores (the bench and the CI test validate thousands of claims) ------

_reference: Validator | None = None


def _init_reference() -> None:
    global _reference
    from server.store import knowledge_store

    _reference = Validator(knowledge_store(shapes=False))


def _reference_chunk(objects: list[dict]) -> list[dict]:
    from server.claims.jsonform import claims_from_objects

    assert _reference is not None
    claims = claims_from_objects(objects, "differential", [])
    with cached_queries():
        return [claim_json(c) for claim in claims for c in _reference.validate([claim]).claims]


@contextlib.contextmanager
def reference_runner(workers: int = 2, chunk: int = 50) -> Iterator[Callable[[list[dict]], list[dict]]]:
    """A function giving pySHACL's per-claim JSON reports for claim objects, on `workers` processes
    started once (each loads the knowledge store: seconds), for callers that call it many times."""
    import multiprocessing as mp

    with mp.get_context("forkserver").Pool(workers, initializer=_init_reference) as pool:
        def run(objects: list[dict]) -> list[dict]:
            chunks = [objects[i:i + chunk] for i in range(0, len(objects), chunk)]
            return [r for part in pool.imap(_reference_chunk, chunks) for r in part]

        yield run


def reference_json(objects: list[dict], workers: int = 2, chunk: int = 50) -> list[dict]:
    """pySHACL's per-claim JSON reports for claim objects, claim by claim, on `workers` processes."""
    with reference_runner(workers, chunk) as run:
        return run(objects)


def fast_json(objects: list[dict], fast: FastValidator, batch_size: int = 1000) -> list[dict]:
    from server.claims.jsonform import claims_from_objects

    out: list[dict] = []
    for start in range(0, len(objects), batch_size):
        claims = claims_from_objects(objects[start:start + batch_size], "differential", [])
        out += [claim_json(c) for c in fast.validate(claims).claims]
    return out


def compare_json(reference: list[dict], fast: list[dict], limit: int = 20) -> tuple[int, list[str]]:
    """(claims whose reports differ, readable descriptions of the first `limit`)."""
    n, out = 0, []
    for a, b in zip(reference, fast, strict=True):
        if a != b:
            n += 1
            if len(out) < limit:
                only_ref = [r for r in a["results"] if r not in b["results"]]
                only_fast = [r for r in b["results"] if r not in a["results"]]
                out.append(f"claim {a['claim']}:\n  pySHACL only: {json.dumps(only_ref, ensure_ascii=False)}\n"
                           f"  fast only:    {json.dumps(only_fast, ensure_ascii=False)}")
    return n, out
