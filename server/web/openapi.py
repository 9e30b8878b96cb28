"""/openapi.json: an OpenAPI 3.1 description of every endpoint."""

from __future__ import annotations

from flask import Blueprint, jsonify

from server import __version__

bp = Blueprint("openapi", __name__)

_QUERY_RESULT = {"description": "results in the negotiated format (SPARQL JSON, XML, CSV, TSV; Turtle, N-Triples, "
                                "JSON-LD, RDF/XML for graphs)"}
_ERRORS = {"400": {"description": "malformed query, bad parameter, SERVICE, or row limit exceeded"},
           "401": {"description": "bearer token required (when M99KG_TOKEN is set)"},
           "406": {"description": "no acceptable result format"},
           "413": {"description": "body too large"},
           "415": {"description": "unsupported request content type"},
           "503": {"description": "time limit exceeded (the query was stopped) or every worker busy"}}

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "m99kg", "version": __version__,
             "description": "ICD-10-CM M99 knowledge graph: SPARQL, named queries, code cards, claim validation."},
    "paths": {
        "/sparql": {
            "get": {"summary": "SPARQL 1.1 query (GET); without a query: the service description",
                    "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                                   for n in ("query", "default-graph-uri", "named-graph-uri")],
                    "responses": {"200": _QUERY_RESULT, **_ERRORS}},
            "post": {"summary": "SPARQL 1.1 query (URL-encoded form or application/sparql-query body); read-only",
                     "requestBody": {"content": {"application/x-www-form-urlencoded": {},
                                                 "application/sparql-query": {}}},
                     "responses": {"200": _QUERY_RESULT, **_ERRORS}},
        },
        "/queries": {"get": {"summary": "list the named queries with their typed parameters",
                             "responses": {"200": {"description": "JSON list"}}}},
        "/queries/{name}": {"get": {"summary": "run a named query; parameters as query-string values",
                                    "parameters": [{"name": "name", "in": "path", "required": True,
                                                    "schema": {"type": "string"}}],
                                    "responses": {"200": _QUERY_RESULT, "404": {"description": "no such query"},
                                                  **_ERRORS}}},
        "/codes/{code}": {"get": {"summary": "the code card of an ICD-10-CM code (dotted or not)",
                                  "parameters": [{"name": "code", "in": "path", "required": True,
                                                  "schema": {"type": "string"}}],
                                  "responses": {"200": {"description": "the card (JSON)"},
                                                "400": {"description": "not an ICD-10-CM code"},
                                                "404": {"description": "not in the release"}}}},
        "/validate": {"post": {"summary": "validate claims (JSON form, JSON-LD, Turtle); JSON report or SHACL report",
                               "requestBody": {"content": {"application/json": {}, "application/ld+json": {},
                                                           "text/turtle": {}}},
                               "responses": {"200": {"description": "JSON report (see docs/claims.md), or the SHACL "
                                                                    "report graph for Accept: text/turtle"},
                                             "400": {"description": "input that cannot be read, with where and what"},
                                             "401": _ERRORS["401"], "413": _ERRORS["413"], "415": _ERRORS["415"]}}},
        "/healthz": {"get": {"summary": "liveness", "responses": {"200": {"description": "ok"}}}},
        "/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI"}}}},
    },
}


@bp.get("/openapi.json")
def openapi() -> object:
    return jsonify(SPEC)
