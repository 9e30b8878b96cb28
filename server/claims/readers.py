"""Read claim files of any supported format into claim graphs.

Formats: the plain JSON form (README "Claims"), JSON-LD, Turtle, FHIR R4 (a Claim or a Bundle)
and X12 837P. The format is detected from the content (overridable): text starting with an ISA
segment is X12; a JSON document with "resourceType" is FHIR; with "@context" JSON-LD; other JSON
is the plain form; anything else is Turtle. FHIR and X12 are mapped onto the plain JSON form
(server/claims/fhir.py, server/claims/x12.py), so every format gives the same claim graph.

JSON-LD may use the project's own context by its IRI, which is
resolved to the local file; any other remote context is refused, never fetched.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox

from server.claims import jsonform
from server.claims.errors import ClaimInputError
from server.claims.graph import ClaimGraph, normalize

CONTEXT_IRI = "https://w3id.org/m99kg/claim-context.jsonld"
FORMATS = ("json", "jsonld", "turtle", "fhir", "x12")
MAX_BYTES = 50 * 1024 * 1024


def detect_format(text: str) -> str:
    stripped = text.lstrip()
    if stripped[:3] == "ISA":
        return "x12"
    head = stripped[:1]
    if head in ("{", "["):
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            return "json"  # let the JSON reader report where (or that it nests too deeply)
        items = data if isinstance(data, list) else [data]
        if any(isinstance(i, dict) and "resourceType" in i for i in items):
            return "fhir"
        if any(isinstance(i, dict) and "@context" in i for i in items):
            return "jsonld"
        return "json"
    return "turtle"


def _local_contexts(node: object, where: str) -> object:
    """Replace the project's context IRI by the context itself; refuse any other remote context."""
    if isinstance(node, list):
        return [_local_contexts(n, where) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "@context":
            contexts = value if isinstance(value, list) else [value]
            resolved = []
            for c in contexts:
                if isinstance(c, str):
                    if c != CONTEXT_IRI:
                        raise ClaimInputError(where, f"remote JSON-LD context {c!r} refused: contexts are never "
                                              f"fetched; inline it or use {CONTEXT_IRI}")
                    resolved.append(jsonform.context())
                else:
                    resolved.append(_local_contexts(c, where))
            out[key] = resolved[0] if len(resolved) == 1 else resolved  # [] (no context) stays []
        else:
            out[key] = _local_contexts(value, where)
    return out


def _rdf(text: str, fmt: str, source: str) -> list[ClaimGraph]:
    if fmt == "jsonld":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ClaimInputError(f"{source}:{exc.lineno}:{exc.colno}", f"not valid JSON: {exc.msg}") from None
        jsonform.check_text(doc, source)
        text = json.dumps(_local_contexts(doc, source))
        rdf_format = ox.RdfFormat.JSON_LD
    else:
        rdf_format = ox.RdfFormat.TURTLE
    try:
        triples = [ox.Triple(q.subject, q.predicate, q.object)
                   for q in ox.parse(text.encode("utf-8"), format=rdf_format, base_iri="https://w3id.org/m99kg/claim/")]
    except SyntaxError as exc:
        raise ClaimInputError(source, f"not valid {'JSON-LD' if fmt == 'jsonld' else 'Turtle'}: {exc}") from None
    graphs = normalize(triples, source)
    if not graphs:
        raise ClaimInputError(source, "no claim found: expected a node of type m99:Claim "
                              "(https://w3id.org/m99kg/vocab#Claim) or with m99:hasDiagnosis")
    return graphs


#: what a RecursionError while reading JSON means: Python's JSON decoder and the readers recurse once
#: per level, and a body of "[[[[..." a few thousand deep exhausts the interpreter's recursion limit
TOO_DEEP = "nested too deeply: arrays or objects inside one another hundreds of levels deep (a claim nests a few)"


def read_text(text: str, source: str, fmt: str | None = None,
              errors: list[ClaimInputError] | None = None) -> list[ClaimGraph]:
    """Claims in `text`; ClaimInputError (naming source, line or field) when it cannot be read.

    With `errors`, a bad claim inside a JSON array is recorded there and the others still load.
    """
    try:
        return _read_text(text, source, fmt, errors)
    except RecursionError:
        raise ClaimInputError(source, TOO_DEEP) from None


def _read_text(text: str, source: str, fmt: str | None, errors: list[ClaimInputError] | None) -> list[ClaimGraph]:
    fmt = fmt or detect_format(text)
    if fmt not in FORMATS:
        raise ClaimInputError(source, f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "json":
        from server.claims.accounted import claim_graphs

        return claim_graphs(jsonform.load_json(text, source), source, errors)
    if fmt == "fhir":
        from server.claims import fhir

        return fhir.claims_from_fhir(text, source, errors)
    if fmt == "x12":
        from server.claims import x12

        return x12.claims_from_x12(text, source, errors)
    return _rdf(text, fmt, source)


def read_path(path: Path, fmt: str | None = None, errors: list[ClaimInputError] | None = None) -> list[ClaimGraph]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ClaimInputError(str(path), f"cannot read: {exc.strerror}") from None
    if size > MAX_BYTES:
        raise ClaimInputError(str(path), f"file is {size} bytes; the limit is {MAX_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ClaimInputError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ClaimInputError(str(path), f"cannot read: {exc.strerror}") from None
    return read_text(text, str(path), fmt, errors)
