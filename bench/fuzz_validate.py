"""Mutation fuzzing of POST /validate: every answer to broken input must be a 4xx with a message.

Seeds are real inputs of every format the service reads: the project's example claims (JSON, and the
same claims as JSON-LD with the project context and as Turtle), the FHIR Claims and the X12 837P files
of ../shared/corpora. Each case takes a seed and either changes its JSON structure (a value replaced
by an odd one: null, a huge number, an empty list, a lone surrogate, a remote @context, lists nested
thousands deep, ...; a key dropped or added) or its bytes (flipped, cut, repeated, truncated, a
delimiter or thousands of opening brackets inserted), and posts
it with the seed's media type (now and then another one). A case fails when the service answers
5xx, when a body shows a traceback, or when the test client raises. Cases are generated from
--seed, so a failure is replayed exactly; failing bodies are written to --out.

This found five 500s in November 2026 (an empty JSON-LD @context list, a lone surrogate in FHIR, a
FHIR resource type the model could not look up, a segment pyx12 itself failed on, JSON nested
thousands deep); they are tests now. tests/test_fuzz_validate.py runs 3,000 cases on every test
run; this script runs as long as asked:

Run: .venv/bin/python bench/fuzz_validate.py [--seed 1] [--minutes 5] [--out /tmp/fuzz]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPORA = ROOT.parent / "shared" / "corpora"

ODD_VALUES = [None, True, False, 0, -1, 1e308, 10**30, "", " ", "\x00", "\ud800x", "M99.0", "M99.99", "😀😀",
              [], {}, [[]], {"@id": "x"}, "2026-02-30", "9999-12-31", "0000-01-01", "1" * 5000,
              {"@context": "http://example.org/ctx"}, -0.0, "NaN"]
ODD_KEYS = ["@context", "@id", "@type", "@graph", "extra", "resourceType", "id", "lines", "diagnoses", "contained"]
ODD_BYTES = [b"~", b"*", b":", b"^", b"\x00", b"{", b"}", b'"', b"<", b">", b"@prefix", b"\\u", b"\n", b"\xff"]


def seeds() -> list[tuple[str, bytes]]:
    """(media type, body) of the real inputs the mutations start from."""
    import pyoxigraph as ox

    from server.claims.readers import CONTEXT_IRI, read_text

    out: list[tuple[str, bytes]] = []
    claim_files = sorted((ROOT / "examples").glob("*.json")) + sorted((ROOT / "tests" / "claims").rglob("*.json"))
    for path in claim_files:
        data = path.read_bytes()
        out.append(("application/json", data))
        obj = json.loads(data)
        if isinstance(obj, dict):
            out.append(("application/ld+json", json.dumps({"@context": CONTEXT_IRI, **obj}).encode()))
        try:
            triples = [t for graph in read_text(data.decode(), path.name) for t in graph.triples]
        except ValueError:
            continue  # an example of bad input: its JSON seed is enough
        out.append(("text/turtle", ox.serialize(triples, format=ox.RdfFormat.TURTLE,
                                                prefixes={"m99": "https://w3id.org/m99kg/vocab#"})))
    out += [("application/fhir+json", p.read_bytes()) for p in sorted((CORPORA / "fhir-claim").rglob("*.json"))[:60]]
    out += [("application/edi-x12", p.read_bytes()) for p in sorted((CORPORA / "x12-837p").rglob("*"))
            if p.is_file() and p.suffix in (".837", ".edi", ".txt", ".x12")
            and p.stem.upper() not in ("LICENSE", "README")]
    return out


def _odd(rng: random.Random) -> object:
    if rng.random() < 0.02:  # arrays inside arrays, a few or hundreds deep
        value: object = []
        for _ in range(rng.choice([3, 60, 600])):  # json.dumps itself stops near 1,000 (bytes go deeper)
            value = [value]
        return value
    return copy.deepcopy(rng.choice(ODD_VALUES))  # a fresh copy: later mutations must not change the table


def _mutate_json(rng: random.Random, node: object) -> None:
    """Change one place of a JSON document: a value made odd, a member or item dropped or added, or go deeper."""
    if not isinstance(node, (dict, list)) or not node:
        return
    key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
    roll = rng.random()
    if roll < 0.35:
        node[key] = _odd(rng)
    elif roll < 0.5:
        del node[key]
    elif roll < 0.6:
        extra = _odd(rng) if rng.random() < 0.9 else copy.deepcopy(node[key])
        if isinstance(node, dict):
            node[rng.choice(ODD_KEYS)] = extra
        else:
            node.append(extra)
    else:
        _mutate_json(rng, node[key])


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if not b:
            break
        i = rng.randrange(len(b))
        roll = rng.random()
        if roll < 0.3:
            b[i] = rng.randrange(256)
        elif roll < 0.5:
            del b[i:i + rng.randint(1, 50)]
        elif roll < 0.7:
            b[i:i] = b[rng.randrange(len(b)):][:rng.randint(1, 80)]
        elif roll < 0.8:
            del b[i:]
        elif roll < 0.98:
            b[i:i] = rng.choice(ODD_BYTES)
        else:
            b[i:i] = rng.choice([b"[", b"{", b"(", b"[ <x> "]) * rng.choice([60, 3000])
    return bytes(b)


def cases(seed: int, inputs: list[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    """An endless, reproducible stream of (media type, mutated body)."""
    rng = random.Random(seed)
    types = sorted({t for t, _ in inputs} | {"application/x-ndjson"})
    while True:
        media, data = rng.choice(inputs)
        body = None
        if media.endswith("json") and rng.random() < 0.6:
            doc = json.loads(data)
            try:
                for _ in range(rng.randint(1, 4)):
                    _mutate_json(rng, doc)
                body = json.dumps(doc).encode("utf-8", "surrogatepass")
            except RecursionError:  # nested values nested again, past what copy and json.dumps take
                body = None
        yield (rng.choice(types) if rng.random() < 0.05 else media), body or _mutate_bytes(rng, data)


def service_client():
    """A test client of the real app over the embedded knowledge store (/validate needs no query pool)."""
    from server.store import knowledge_store
    from server.web.app import create_app
    from server.web.config import Config

    class NoQueries:
        def execute(self, req):
            raise RuntimeError("the fuzzer sends no SPARQL")

        def close(self) -> None:
            pass

    return create_app(Config(token=None, cors_origins=[]), NoQueries(), knowledge_store()).test_client()


def check(client, media: str, body: bytes) -> tuple[int, str | None]:
    """(status, why this answer is wrong or None): a 5xx, a traceback in the body, or an exception the
    app did not handle (the test client re-raises it; status 0) are wrong."""
    try:
        answer = client.post("/validate", data=body, content_type=media)
    except Exception as exc:
        return 0, f"raised {type(exc).__name__}: {exc}"
    if answer.status_code >= 500:
        return answer.status_code, f"answered {answer.status_code}: {answer.data[:200]!r}"
    if b"Traceback" in answer.data:
        return answer.status_code, f"answered {answer.status_code} with a traceback"
    return answer.status_code, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where failing bodies are written")
    args = parser.parse_args()
    import logging

    logging.disable(logging.ERROR)  # the app logs each unhandled error; the summary below says it
    inputs, client = seeds(), service_client()
    print(f"{len(inputs)} seed inputs: " + ", ".join(sorted({t for t, _ in inputs})), flush=True)
    deadline, n, failed = time.monotonic() + args.minutes * 60, 0, 0
    for media, body in cases(args.seed, inputs):
        if time.monotonic() >= deadline:
            break
        n += 1
        _status, why = check(client, media, body)
        if why:
            failed += 1
            args.out.mkdir(parents=True, exist_ok=True)
            path = args.out / f"seed{args.seed}-case{n}.bin"
            path.write_bytes(body)
            print(f"case {n} ({media}) {why}; body in {path}", flush=True)
    print(f"{n} cases in {args.minutes:g} min, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
