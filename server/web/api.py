"""/codes, /queries, /validate and /healthz: thin wrappers over the library."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, jsonify, request

from server.claims.errors import ClaimInputError
from server.claims.readers import read_text
from server.codecard import UnknownCodeError
from server.codes import CodeFormatError
from server.namedqueries import ParameterError
from server.validation.batch import json_lines, parse
from server.validation.engine import Report
from server.validation.fast import report_graph
from server.validation.output import claim_json
from server.web import pages
from server.web.security import requires_token
from server.web.sparql import run_query, text

bp = Blueprint("api", __name__)

_CLAIM_TYPES = {"application/json": None, "application/ld+json": "jsonld", "text/turtle": "turtle",
                "application/fhir+json": "fhir", "application/edi-x12": "x12", "application/x-ndjson": "jsonl"}


def _problem(status: int, message: str) -> Response:
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    return response


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok", "queries": len(current_app.extensions["m99kg.queries"])})


@bp.get("/codes/<code>")
def code(code: str) -> Response:
    """JSON by default; the HTML page for a client that prefers text/html to JSON (a browser)."""
    accept = request.accept_mimetypes
    if accept.quality("text/html") > accept.quality("application/json"):
        response = pages.render_code(code)
    else:
        cards = current_app.extensions["m99kg.cards"]
        try:
            response = jsonify(cards.card(code))
        except CodeFormatError as exc:
            response = _problem(400, str(exc))
        except UnknownCodeError as exc:
            response = _problem(404, str(exc))
    response.vary.add("Accept")
    return response


@bp.get("/queries")
def queries() -> Response:
    return jsonify([
        {"name": q.name, "summary": q.summary, "tags": list(q.tags),
         "parameters": [{"name": p.name, "type": p.type, "optional": p.optional, "description": p.description}
                        for p in q.params]}
        for q in current_app.extensions["m99kg.queries"].values()
    ])


@bp.get("/queries/<name>")
@requires_token
def run_named(name: str) -> Response:
    named = current_app.extensions["m99kg.queries"].get(name)
    if named is None:
        return _problem(404, f"no query named {name!r}; GET /queries lists them")
    values = {k: v for k, v in request.args.items()}
    try:
        sparql = named.bind(values)
    except ParameterError as exc:
        return _problem(400, str(exc))
    return run_query(sparql, [], [])


@bp.post("/validate")
@requires_token
def validate() -> Response:
    """One claim or a batch (a JSON array, JSON Lines, a FHIR Bundle, an 837P file) in; the report out."""
    engine = request.args.get("engine", "fast")
    if engine not in ("fast", "reference"):
        return _problem(400, "engine is 'fast' (the default) or 'reference' (pySHACL, claim by claim)")
    ctype = (request.mimetype or "").lower()
    if ctype not in _CLAIM_TYPES:
        return text(415, "POST claims as application/json (the claim form, JSON-LD or FHIR), application/ld+json, "
                         "text/turtle, application/fhir+json, application/edi-x12 or application/x-ndjson")
    try:
        body = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        return _problem(400, "the body is not UTF-8")
    errors: list[ClaimInputError] = []
    try:
        if _CLAIM_TYPES[ctype] == "jsonl":
            claims = _json_lines(body, errors)
        else:
            claims = read_text(body, "request body", _CLAIM_TYPES[ctype], errors)
    except ClaimInputError as exc:
        return _problem(400, str(exc))
    if errors and not claims:
        return _problem(400, "; ".join(str(e) for e in errors))
    if engine == "reference":
        limit = current_app.config["M99KG"].reference_max_claims
        if len(claims) > limit:  # pySHACL takes about 0.5 s a claim and holds the GIL meanwhile
            return _problem(413, f"engine=reference validates at most {limit} claims per request (pySHACL needs "
                                 f"about half a second per claim); this body has {len(claims)}. The default "
                                 "engine gives the same reports, or use `m99kg validate --engine reference`")
        reports = current_app.extensions["m99kg.reference-validator"].validate(claims).claims
        compilation = current_app.extensions["m99kg.validator"].compilation
        report = Report(reports, lambda: report_graph(reports, compilation))  # the graph only when asked for
    else:
        report = current_app.extensions["m99kg.coalescer"].report(claims)  # shares batches with others
        reports = report.claims
    accept = request.accept_mimetypes
    best = accept.best_match(["application/json", "application/x-ndjson", "text/turtle", "application/ld+json"])
    if best in ("text/turtle", "application/ld+json"):
        return Response(report.graph.serialize(format="turtle" if best == "text/turtle" else "json-ld"), 200,
                        content_type=best)
    if best == "application/x-ndjson":
        lines = "".join(json.dumps(claim_json(r), ensure_ascii=False) + "\n" for r in reports)
        return Response(lines, 200, content_type="application/x-ndjson")
    payload = report.as_json()
    if errors:
        payload["inputErrors"] = [str(e) for e in errors]
    return Response(json.dumps(payload, ensure_ascii=False), 200, content_type="application/json")


def _json_lines(body: str, errors: list[ClaimInputError]) -> list:
    """Claims of a JSON Lines body (one claim object per line); a bad line is an error, the others load."""
    claims = []
    for unit in json_lines(body.splitlines(), "request body", batch_size=10_000):
        found, unit_errors = parse(unit)
        claims += found
        errors += unit_errors
    if not claims and not errors:
        raise ClaimInputError("request body", "no claim: expected one JSON claim object per line")
    return claims
