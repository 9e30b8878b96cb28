"""The plain JSON form of a claim (the public contract of README "Claims") into claim graphs.

The JSON is checked field by field first, so that a wrong type is reported with its path
(`claims[2].lines[0].pointers[1]: expected an integer`) rather than as an RDF error; then the
project's JSON-LD context (ontology/claim-context.jsonld) makes it RDF, with no code in between,
and graph.normalize() numbers the lists. A batch of claims is one JSON-LD document (an "@graph"
of the checked claims) parsed straight into the normalising store, so reading costs one parse
and one run of the updates per batch, not per claim. Rules about *values* (an unknown code, 13 diagnoses, a
pointer to nothing) are not input errors: they are findings of the SHACL rules.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from typing import Any

import pyoxigraph as ox

from server import resources
from server.claims.errors import ClaimInputError
from server.claims.graph import ClaimGraph, normalize, normalize_document

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,63}$")
_TOKEN = re.compile(r"^[a-z][a-z-]{0,40}$")
_CODE = re.compile(r"^[A-Za-z0-9.]{1,12}$")
_MODIFIER = re.compile(r"^[A-Za-z0-9]{2}$")

_STRING_FIELDS = ("provider", "patient")
_TOKEN_FIELDS = ("payer", "providerType")
_DATE_FIELDS = ("serviceDate", "treatmentStart", "xrayDate")
_KNOWN = {"id", "diagnoses", "lines", "findings", "visitNumber", *_STRING_FIELDS, *_TOKEN_FIELDS, *_DATE_FIELDS}
_LINE_KNOWN = {"procedure", "modifiers", "units", "pointers"}
_FINDING_KNOWN = {"region", "element", "text", "value"}


@cache
def context() -> dict[str, Any]:
    """The JSON-LD context, read from the ontology folder (never fetched)."""
    return json.loads((resources.ontology_dir() / "claim-context.jsonld").read_text(encoding="utf-8"))["@context"]


def _fail(where: str, problem: str) -> None:
    raise ClaimInputError(where, problem)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_unknown(obj: dict, known: set[str], where: str) -> None:
    for key in obj:
        if key.startswith("@"):
            _fail(f"{where}.{key}", "JSON-LD keywords are not part of the plain JSON form; send JSON-LD instead")
        if key not in known:
            _fail(f"{where}.{key}", f"unknown field; the claim form has: {', '.join(sorted(known))}")


def _objects(obj: dict, key: str, known: set[str], where: str, what: str):
    """Yield (path, item) for a list-of-objects field, after checking its shape and field names."""
    items = obj.get(key, [])
    if not isinstance(items, list):
        _fail(f"{where}.{key}", f"expected a list of {what}s")
    for i, item in enumerate(items):
        path = f"{where}.{key}[{i}]"
        if not isinstance(item, dict):
            _fail(path, f"expected a JSON object (one {what})")
        _check_unknown(item, known, path)
        yield path, item


def check_text(value: Any, where: str) -> None:
    """Every string must be Unicode text: JSON allows a lone UTF-16 surrogate escape ("\\ud800"),
    which no RDF parser accepts."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            _fail(where, f"not valid Unicode text: a lone surrogate {value[exc.start]!r} at character {exc.start}")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where)
            check_text(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_text(item, f"{where}[{i}]")


def check_claim(obj: Any, where: str) -> None:
    """Raise ClaimInputError naming the first field that does not have the contract's type."""
    if not isinstance(obj, dict):
        _fail(where, "expected a JSON object (one claim)")
    check_text(obj, where)
    _check_unknown(obj, _KNOWN, where)
    if not isinstance(obj.get("id"), str) or not _ID.match(obj["id"]):
        _fail(f"{where}.id", "required: the claim identifier, 1-64 letters, digits, '.', '_', '~' or '-'")
    for key in _STRING_FIELDS:
        if key in obj and not isinstance(obj[key], str):
            _fail(f"{where}.{key}", "expected a string")
    for key in _TOKEN_FIELDS:
        if key in obj and (not isinstance(obj[key], str) or not _TOKEN.match(obj[key])):
            _fail(f"{where}.{key}", "expected a lower-case token such as 'medicare' or 'chiropractor'")
    for key in _DATE_FIELDS:
        if key in obj:
            try:
                dt.date.fromisoformat(obj[key]) if isinstance(obj[key], str) and len(obj[key]) == 10 else _fail(
                    f"{where}.{key}", "expected a date YYYY-MM-DD")
            except ValueError:
                _fail(f"{where}.{key}", f"{obj[key]!r} is not a valid date YYYY-MM-DD")
    if "visitNumber" in obj and (not _is_int(obj["visitNumber"]) or obj["visitNumber"] < 1):
        _fail(f"{where}.visitNumber", "expected a positive integer")
    diagnoses = obj.get("diagnoses", [])
    if not isinstance(diagnoses, list):
        _fail(f"{where}.diagnoses", "expected a list of ICD-10-CM codes")
    for i, code in enumerate(diagnoses):
        if not isinstance(code, str) or not _CODE.match(code):
            _fail(f"{where}.diagnoses[{i}]", "expected an ICD-10-CM code as a string (M99.04 or M9904)")
    for lw, line in _objects(obj, "lines", _LINE_KNOWN, where, "service line"):
        if not isinstance(line.get("procedure"), str) or not _CODE.match(line["procedure"]):
            _fail(f"{lw}.procedure", "required: a CPT code as a string (98940)")
        mods = line.get("modifiers", [])
        if not isinstance(mods, list) or not all(isinstance(m, str) and _MODIFIER.match(m) for m in mods):
            _fail(f"{lw}.modifiers", "expected a list of two-character modifiers such as [\"AT\"]")
        if "units" in line and (not _is_int(line["units"]) or line["units"] < 1):
            _fail(f"{lw}.units", "expected a positive integer")
        pointers = line.get("pointers", [])
        if not isinstance(pointers, list) or not all(_is_int(p) for p in pointers):
            _fail(f"{lw}.pointers", "expected a list of integers (1-based positions in diagnoses)")
    for fw, finding in _objects(obj, "findings", _FINDING_KNOWN, where, "finding"):
        if not isinstance(finding.get("element"), str) or not _TOKEN.match(finding["element"]):
            _fail(f"{fw}.element", "required: a documentation element such as 'asymmetry'")
        for key in ("region", "value"):
            if key in finding and (not isinstance(finding[key], str) or not _TOKEN.match(finding[key])):
                _fail(f"{fw}.{key}", "expected a lower-case token such as 'sacral'")
        if "text" in finding and not isinstance(finding["text"], str):
            _fail(f"{fw}.text", "expected a string")


def claim_to_triples(obj: dict) -> list[ox.Triple]:
    """Apply the JSON-LD context to one checked claim object."""
    doc = json.dumps({"@context": context(), **obj})
    quads = ox.parse(doc.encode("utf-8"), format=ox.RdfFormat.JSON_LD)
    return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]


def load_json(text: str, source: str) -> list[Any]:
    """Parse JSON text holding one claim or a list of claims; errors name the line and column."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClaimInputError(f"{source}:{exc.lineno}:{exc.colno}", f"not valid JSON: {exc.msg}") from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise ClaimInputError(source, "expected a claim object or a JSON array of claims")


def claims_from_json(text: str, source: str = "<input>",
                     errors: list[ClaimInputError] | None = None) -> list[ClaimGraph]:
    """Every claim of a JSON document as a normalised claim graph.

    A document that is not JSON raises ClaimInputError. A claim with a malformed field raises too,
    unless `errors` is given: then the error is appended there and the other claims still load.
    """
    return claims_from_objects(load_json(text, source), source, errors)


def claims_from_objects(items: list[Any], source: str = "<input>", errors: list[ClaimInputError] | None = None,
                        wheres: list[str] | None = None) -> list[ClaimGraph]:
    """Claim objects of the plain JSON form (parsed, or mapped from FHIR or X12) as claim graphs.

    `wheres` names each item in error messages (an X12 reader passes the segment position of the
    claim's CLM); by default the item's index in `items`.
    """
    seen: set[str] = set()
    good: list[dict] = []
    if wheres is None:
        wheres = [f"{source}: claims[{i}]" for i in range(len(items))] if len(items) > 1 else [f"{source}: claim"]
    for obj, where in zip(items, wheres, strict=True):
        try:
            check_claim(obj, where)
            if obj["id"] in seen:
                raise ClaimInputError(f"{where}.id", f"claim {obj['id']!r} appears twice in one file")
        except ClaimInputError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        seen.add(obj["id"])
        good.append(obj)
    graphs = _normalize_objects(good, source) if good else []
    order = {obj["id"]: i for i, obj in enumerate(items) if isinstance(obj, dict) and isinstance(obj.get("id"), str)}
    return sorted(graphs, key=lambda g: order.get(g.claim_id, len(order)))


def _normalize_objects(objects: list[dict], source: str) -> list[ClaimGraph]:
    """Checked claim objects as one JSON-LD document with an "@graph": one parse, one run of the rules.

    Each claim's lists get their own blank nodes (the parser names every list node apart), and the
    claims have distinct IRIs (ids are checked unique), so the batch gives the graphs one document
    per claim would. Should the batch not parse (check_claim lets through nothing known to fail),
    the claims are read one by one so the error is the one the failing claim gives on its own.
    """
    doc = json.dumps({"@context": context(), "@graph": objects}).encode("utf-8")  # ASCII, as claim_to_triples
    try:
        return normalize_document(doc, ox.RdfFormat.JSON_LD, source)
    except SyntaxError:
        triples: list[ox.Triple] = []
        for obj in objects:
            triples += claim_to_triples(obj)
        return normalize(triples, source)
