"""The human pages: a query page, code pages and a validation page, rendered on the server.

They are thin views over the same machinery as the API, so a person sees exactly what a client
gets: queries go through the worker pool of /sparql (time and row limits apply), code pages read
the same card as /codes/<code>, and the validation page uses the same reader and validator as
/validate. Pages work without JavaScript; the one small script only submits the named-query
picker when its selection changes. Every page forbids loading anything from another origin
(Content-Security-Policy), so nothing a user types or pastes leaves the service.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request
from werkzeug.utils import secure_filename

from server.claims.errors import ClaimInputError
from server.claims.readers import read_text
from server.codecard import UnknownCodeError
from server.codes import CodeFormatError, normalize_icd10cm
from server.namedqueries import NamedQuery, ParameterError
from server.namespaces import ICD10CM, PREFIXES
from server.sparql.worker import QueryRequest, QueryResponse
from server.web.sparql import text
from server.web.sparql_text import shape_problem

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/ui/static")


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    media: str
    extension: str


#: Download formats offered on the query page, keyed by the `format` parameter of /ui/download.
RESULT_FORMATS = (Format("json", "SPARQL JSON", "application/sparql-results+json", "srj"),
                  Format("xml", "SPARQL XML", "application/sparql-results+xml", "srx"),
                  Format("csv", "CSV", "text/csv", "csv"),
                  Format("tsv", "TSV", "text/tab-separated-values", "tsv"))
GRAPH_FORMATS = (Format("turtle", "Turtle", "text/turtle", "ttl"),
                 Format("ntriples", "N-Triples", "application/n-triples", "nt"),
                 Format("jsonld", "JSON-LD", "application/ld+json", "jsonld"),
                 Format("rdfxml", "RDF/XML", "application/rdf+xml", "rdf"))
FORMATS = {f.key: f for f in RESULT_FORMATS + GRAPH_FORMATS}
#: What the page itself asks the pool for: SPARQL JSON for SELECT and ASK, Turtle for graphs.
PAGE_ACCEPT = "application/sparql-results+json, text/turtle;q=0.9"
CLAIM_FORMATS = (("auto", "detect from the content"), ("json", "claim JSON form"), ("jsonld", "JSON-LD"),
                 ("turtle", "Turtle"), ("fhir", "FHIR R4 Claim or Bundle"), ("x12", "X12 837P"))
TABLE_ROWS = 1000  # more rows than this are not drawn; the downloads have them all
GRAPH_CHARS = 200_000
EXAMPLE_QUERY = """PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
# Every billable M99 code of a spinal region, with its title
SELECT ?code ?title ?region WHERE {
  ?c a m99:M99Code ; skos:notation ?code ; skos:prefLabel ?title ;
     m99:region ?r .
  ?r a m99:SpinalRegion ; skos:prefLabel ?region .
}
ORDER BY ?code
"""
_CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'")
PARAM_PREFIX = "p_"  # named-query parameter fields; parameter names cannot contain "_", so no clash
AUTH_MESSAGE = ("this service needs an access token: type it into the Access token field "
                "(API clients send Authorization: Bearer <token>)")


# --- the bearer token -----------------------------------------------------------------------------

def token_required() -> bool:
    return bool(current_app.config["M99KG"].token)


def authorised() -> bool:
    """The API's rule (server/web/security.py), plus the token as a field of a POSTed form.

    A browser cannot add an Authorization header to a form submission, so the pages also accept
    the token in the body of a POST; never in a URL, where it would end up in history and logs.
    """
    token = current_app.config["M99KG"].token
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    given = request.form.get("token", "") if request.method == "POST" else ""
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A rendered page with headers that keep it self-contained and out of shared caches."""
    context.setdefault("token_required", token_required())
    response = Response(render_template(template, **context), status, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(status: int, heading: str, message: str) -> Response:
    response = page("error.html", status, heading=heading, message=message, http_status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="m99kg"'
    return response


def code_url(code: str | None) -> str | None:
    """The page of a code, or None for what has no page (chapter and block ranges)."""
    if not code:
        return None
    try:
        notation = normalize_icd10cm(code.rstrip("-"))
    except CodeFormatError:
        return None
    return "/codes/" + quote(notation)


@bp.app_template_global()
def link_for_term(term: Mapping[str, str]) -> str | None:
    """ICD-10-CM IRIs in results link to their code page."""
    if term.get("type") == "uri" and term["value"].startswith(ICD10CM):
        return code_url(term["value"][len(ICD10CM):])
    return None


@bp.app_template_global()
def short_iri(iri: str) -> str:
    """An IRI under one of the project's prefixes written as prefix:name, so tables stay readable."""
    best = max((ns for ns in PREFIXES.values() if iri.startswith(ns) and len(iri) > len(ns)), key=len, default=None)
    if best is None:
        return iri
    prefix = next(k for k, v in PREFIXES.items() if v == best)
    return f"{prefix}:{iri[len(best):]}"


bp.add_app_template_global(code_url, "code_url")


# --- home -----------------------------------------------------------------------------------------

@bp.get("/")
def home() -> Response:
    return page("home.html", queries=len(current_app.extensions["m99kg.queries"]))


# --- query page -----------------------------------------------------------------------------------

@dataclass
class Job:
    """What the user asked to run: free SPARQL text, or a named query with parameter values."""

    query: str
    named: NamedQuery | None
    values: dict[str, str]
    error: str | None = None

    def download_params(self) -> dict[str, str]:
        if self.named is not None:
            return {"name": self.named.name, **{PARAM_PREFIX + k: v for k, v in self.values.items() if v}}
        return {"query": self.query}


def _fields() -> Mapping[str, str]:
    return request.form if request.method == "POST" else request.args


def _job(fields: Mapping[str, str], bind: bool = True) -> Job:
    """Read the form. Fields of parameters the chosen query does not declare are ignored: they are
    left over from the query picked before."""
    name = (fields.get("name") or "").strip()
    if not name:
        return Job(fields.get("query") or "", None, {})
    named = current_app.extensions["m99kg.queries"].get(name)
    if named is None:
        return Job("", None, {}, f"there is no named query {name!r}; pick one from the list")
    values = {p.name: (fields.get(PARAM_PREFIX + p.name) or "").strip() for p in named.params}
    if not bind:
        return Job(named.text, named, values)
    try:
        return Job(named.bind(values), named, values)
    except ParameterError as exc:
        return Job(named.text, named, values, str(exc))


def execute(query: str, accept: str) -> QueryResponse:
    """Run a query in the pool of /sparql, with its refusals and limits."""
    if not query.strip():
        return QueryResponse(400, "text/plain", b"the query is empty: type a SPARQL query or pick a named query")
    problem = shape_problem(query)
    if problem:
        return QueryResponse(400, "text/plain", problem.encode())
    return current_app.extensions["m99kg.pool"].execute(QueryRequest(query, accept))


def _result(answer: QueryResponse) -> dict[str, Any]:
    """The pool's answer as what the template draws: a table, a boolean, graph text or an error."""
    body = answer.body.decode("utf-8", errors="replace")
    if answer.status != 200:
        return {"kind": "error", "status": answer.status, "message": body.strip()}
    if answer.content_type.startswith("application/sparql-results+json"):
        data = json.loads(body)
        if "boolean" in data:
            return {"kind": "ask", "value": bool(data["boolean"]), "formats": RESULT_FORMATS}
        variables = data["head"]["vars"]
        bindings = data["results"]["bindings"]
        return {"kind": "select", "vars": variables, "rows": bindings[:TABLE_ROWS], "total": len(bindings),
                "formats": RESULT_FORMATS}
    return {"kind": "graph", "text": body[:GRAPH_CHARS], "cut": len(body) > GRAPH_CHARS, "formats": GRAPH_FORMATS}


@bp.route("/ui/query", methods=["GET", "POST"])
def query_page() -> Response:
    fields = _fields()
    job = _job(fields, bind="run" in fields)
    queries = current_app.extensions["m99kg.queries"]
    context: dict[str, Any] = {"queries": list(queries.values()), "job": job, "param_prefix": PARAM_PREFIX,
                               "query_text": fields.get("query") or EXAMPLE_QUERY, "result": None,
                               "downloads": None}
    status = 200
    if "run" in fields and job.error is None:
        if not authorised():
            context["result"] = {"kind": "error", "status": 401, "message": AUTH_MESSAGE}
            status = 401
        else:
            result = _result(execute(job.query, PAGE_ACCEPT))
            context["result"] = result
            status = result.get("status", 200)
            if "formats" in result:
                # with a token the downloads are buttons of the form (POST, token typed again), not links
                params = job.download_params()
                context["downloads"] = [(f, None if token_required()
                                         else "/ui/download?" + urlencode({**params, "format": f.key}))
                                        for f in result["formats"]]
    elif job.error:
        status = 400
    return page("query.html", status, **context)


@bp.route("/ui/download", methods=["GET", "POST"])
def download() -> Response:
    """A query's results as a file in the chosen format (the endpoints negotiate by Accept only)."""
    if not authorised():
        return error_page(401, "Access token needed", AUTH_MESSAGE)
    fields = _fields()
    fmt = FORMATS.get(fields.get("format") or "")
    if fmt is None:
        return text(400, f"format must be one of {', '.join(FORMATS)}")
    job = _job(fields)
    if job.error:
        return text(400, job.error)
    answer = execute(job.query, fmt.media)
    if answer.status != 200:
        return Response(answer.body, answer.status, content_type="text/plain; charset=utf-8")
    response = Response(answer.body, 200, content_type=answer.content_type)
    stem = job.named.name if job.named is not None else "query"
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt.extension}"'
    return response


# --- code pages -----------------------------------------------------------------------------------

@bp.get("/ui/codes")
def code_search() -> Response:
    code = (request.args.get("code") or "").strip()
    if not code:
        return page("code_search.html")
    try:
        target = code_url(normalize_icd10cm(code))
    except CodeFormatError as exc:
        return error_page(400, "Not an ICD-10-CM code", str(exc))
    return redirect(target, 303)


@bp.get("/ui/codes/<code>")
def code_page(code: str) -> Response:
    return render_code(code)


def render_code(code: str) -> Response:
    """The HTML code card; also what /codes/<code> answers a browser."""
    cards = current_app.extensions["m99kg.cards"]
    try:
        card = cards.card(code)
    except CodeFormatError as exc:
        return error_page(400, "Not an ICD-10-CM code", str(exc))
    except UnknownCodeError as exc:
        return error_page(404, "Code not found", str(exc))
    parent = card["hierarchy"][-1] if card["hierarchy"] else None
    sources = {s["key"]: s for s in card.get("sources", [])}
    return page("code.html", card=card, parent=parent, sources=sources)


# --- validation page ------------------------------------------------------------------------------

def _claim_text() -> tuple[str, str, str | None]:
    """(text, source name, problem) from the uploaded file, or else the textarea."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        source = secure_filename(upload.filename) or "uploaded file"
        data = upload.read()
        try:
            return data.decode("utf-8"), source, None
        except UnicodeDecodeError as exc:
            return "", source, f"{source}: not UTF-8 text (byte {exc.start})"
    return request.form.get("claims") or "", "pasted text", None


@bp.route("/ui/validate", methods=["GET", "POST"])
def validate_page() -> Response:
    context: dict[str, Any] = {"formats": CLAIM_FORMATS, "chosen": "auto", "claims": "", "report": None,
                               "input_errors": []}
    if request.method == "GET":
        return page("validate.html", **context)
    if not authorised():
        context["input_errors"] = [AUTH_MESSAGE]
        return page("validate.html", 401, **context)
    chosen = request.form.get("format") or "auto"
    body, source, problem = _claim_text()
    context.update(chosen=chosen, claims=request.form.get("claims") or "", source=source)
    if chosen not in dict(CLAIM_FORMATS):
        problem = f"unknown input format {chosen!r}; choose one of {', '.join(dict(CLAIM_FORMATS))}"
    elif problem is None and not body.strip():
        problem = "nothing to validate: paste claims into the text box or choose a file"
    if problem:
        context["input_errors"] = [problem]
        return page("validate.html", 400, **context)
    errors: list[ClaimInputError] = []
    try:
        claims = read_text(body, source, None if chosen == "auto" else chosen, errors)
    except ClaimInputError as exc:
        claims, errors = [], [exc]
    except ModuleNotFoundError:
        claims, errors = [], [ClaimInputError(source, f"the {chosen} reader is not part of this build yet")]
    context["input_errors"] = [str(e) for e in errors]
    if not claims:
        return page("validate.html", 400, **context)
    context["report"] = current_app.extensions["m99kg.coalescer"].report(claims).as_json()
    return page("validate.html", **context)
