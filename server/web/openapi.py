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

_HTML = {"description": "an HTML page (see docs/pages.md)"}
_PAGES = {
    "/": {"get": {"summary": "HTML: the home page, linking the other pages", "responses": {"200": _HTML}}},
    "/ui/query": {
        "get": {"summary": "HTML: SPARQL editor and named-query picker; with run=1 runs the query (query=..., or "
                           "name=... and p_<param>=...) through the /sparql worker pool and shows the result",
                "responses": {"200": _HTML, "400": {"description": "the page, with the endpoint's error"},
                              "401": _ERRORS["401"], "503": _ERRORS["503"]}},
        "post": {"summary": "HTML: the same as a form POST (used when M99KG_TOKEN is set; the form carries the "
                            "token field)", "responses": {"200": _HTML, "401": _ERRORS["401"]}}},
    "/ui/download": {
        "get": {"summary": "a query's results as a file: query=... or name=...&p_<param>=..., and format=json, "
                           "xml, csv, tsv (SELECT, ASK) or turtle, ntriples, jsonld, rdfxml (CONSTRUCT, DESCRIBE)",
                "responses": {"200": _QUERY_RESULT, **_ERRORS}},
        "post": {"summary": "the same as a form POST (token in the form when M99KG_TOKEN is set)",
                 "responses": {"200": _QUERY_RESULT, **_ERRORS}}},
    "/ui/codes": {"get": {"summary": "HTML: code search; ?code=X redirects (303) to /codes/X",
                          "responses": {"200": _HTML, "303": {"description": "to the code page"},
                                        "400": {"description": "not an ICD-10-CM code (HTML)"}}}},
    "/ui/codes/{code}": {"get": {"summary": "HTML: the code card page, whatever the Accept header",
                                 "parameters": [{"name": "code", "in": "path", "required": True,
                                                 "schema": {"type": "string"}}],
                                 "responses": {"200": _HTML, "400": {"description": "not an ICD-10-CM code (HTML)"},
                                               "404": {"description": "not in the release (HTML)"}}}},
    "/ui/validate": {
        "get": {"summary": "HTML: the claim validation form", "responses": {"200": _HTML}},
        "post": {"summary": "HTML: validate pasted or uploaded claims (multipart form: claims or file, format, "
                            "token) and show the report",
                 "requestBody": {"content": {"multipart/form-data": {}, "application/x-www-form-urlencoded": {}}},
                 "responses": {"200": _HTML, "400": {"description": "input that cannot be read (HTML, with where "
                                                                    "and what)"},
                               "401": _ERRORS["401"], "413": _ERRORS["413"]}}},
}

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
                                  "responses": {"200": {"description": "the card (JSON); a client that prefers "
                                                                       "text/html (a browser) gets the HTML page"},
                                                "400": {"description": "not an ICD-10-CM code"},
                                                "404": {"description": "not in the release"}}}},
        "/validate": {"post": {"summary": "validate one claim or a batch (JSON form or array, JSON Lines, JSON-LD, "
                                          "Turtle, FHIR R4, X12 837P); JSON report, JSON Lines or SHACL report",
                               "parameters": [{"name": "engine", "in": "query", "required": False,
                                               "schema": {"type": "string", "enum": ["fast", "reference"]},
                                               "description": "fast (default): the compiled shapes on Oxigraph; "
                                                              "reference: pySHACL claim by claim, at most 50 "
                                                              "claims per request (more: 413)"}],
                               "requestBody": {"content": {"application/json": {}, "application/x-ndjson": {},
                                                           "application/ld+json": {}, "text/turtle": {},
                                                           "application/fhir+json": {}, "application/edi-x12": {}}},
                               "responses": {"200": {"description": "JSON report (see docs/claims.md), JSON Lines for "
                                                                    "Accept: application/x-ndjson, or the SHACL "
                                                                    "report graph for Accept: text/turtle"},
                                             "400": {"description": "input that cannot be read, with where and what"},
                                             "401": _ERRORS["401"], "413": _ERRORS["413"], "415": _ERRORS["415"]}}},
        "/healthz": {"get": {"summary": "liveness", "responses": {"200": {"description": "ok"}}}},
        **_PAGES,
        "/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI"}}}},
    },
}


@bp.get("/openapi.json")
def openapi() -> object:
    return jsonify(SPEC)
