"""/codes, /queries, /validate and /healthz: thin wrappers over the library."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, jsonify, request

from server.claims.errors import ClaimInputError
from server.claims.readers import read_text
from server.codecard import UnknownCodeError
from server.codes import CodeFormatError
from server.namedqueries import ParameterError
from server.web import pages
from server.web.security import requires_token
from server.web.sparql import run_query, text

bp = Blueprint("api", __name__)

_CLAIM_TYPES = {"application/json": None, "application/ld+json": "jsonld", "text/turtle": "turtle"}


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
    ctype = (request.mimetype or "").lower()
    if ctype not in _CLAIM_TYPES:
        return text(415, "POST claims as application/json (the claim form or JSON-LD), application/ld+json "
                         "or text/turtle")
    try:
        body = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        return _problem(400, "the body is not UTF-8")
    errors: list[ClaimInputError] = []
    try:
        claims = read_text(body, "request body", _CLAIM_TYPES[ctype], errors)
    except ClaimInputError as exc:
        return _problem(400, str(exc))
    if errors and not claims:
        return _problem(400, "; ".join(str(e) for e in errors))
    report = current_app.extensions["m99kg.validator"].validate(claims)
    accept = request.accept_mimetypes
    if accept.best_match(["application/json", "text/turtle", "application/ld+json"]) in ("text/turtle",
                                                                                          "application/ld+json"):
        fmt = "turtle" if accept.best == "text/turtle" else "json-ld"
        return Response(report.graph.serialize(format=fmt), 200, content_type=accept.best)
    payload = report.as_json()
    if errors:
        payload["inputErrors"] = [str(e) for e in errors]
    return Response(json.dumps(payload, ensure_ascii=False), 200, content_type="application/json")
