"""/sparql: the SPARQL 1.1 Protocol query operation, read-only, with a service description."""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request

from server.sparql import results as res
from server.sparql.worker import QueryRequest
from server.web.security import requires_token
from server.web.sparql_text import shape_problem

bp = Blueprint("sparql", __name__)
FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"


def text(status: int, message: str) -> Response:
    return Response(message.rstrip("\n") + "\n", status, content_type="text/plain; charset=utf-8")


def run_query(query: str, default_graphs: list[str], named_graphs: list[str], base_iri: str | None = None) -> Response:
    """Hand a query to the worker pool with the request's Accept header; shared with /queries."""
    problem = shape_problem(query)
    if problem:
        return text(400, problem)
    for iri in default_graphs + named_graphs:
        try:
            ox.NamedNode(iri)
        except ValueError:
            return text(400, f"not an IRI: {iri!r}")
    pool = current_app.extensions["m99kg.pool"]
    answer = pool.execute(QueryRequest(query, request.headers.get("Accept"), default_graphs, named_graphs,
                                       base_iri=base_iri))
    return Response(answer.body, answer.status, content_type=answer.content_type)


def service_description() -> Response:
    endpoint = request.base_url
    sd = "http://www.w3.org/ns/sparql-service-description#"
    node, t = ox.NamedNode(endpoint + "#service"), ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    triples = [ox.Triple(node, t, ox.NamedNode(sd + "Service")),
               ox.Triple(node, ox.NamedNode(sd + "endpoint"), ox.NamedNode(endpoint)),
               ox.Triple(node, ox.NamedNode(sd + "supportedLanguage"), ox.NamedNode(sd + "SPARQL11Query")),
               ox.Triple(node, ox.NamedNode(sd + "feature"), ox.NamedNode(sd + "UnionDefaultGraph"))]
    formats = ["SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
               "Turtle", "N-Triples", "JSON-LD", "RDF_XML"]
    triples += [ox.Triple(node, ox.NamedNode(sd + "resultFormat"), ox.NamedNode("http://www.w3.org/ns/formats/" + f))
                for f in formats]
    media = res.negotiate(request.headers.get("Accept"), res.GRAPH_TYPES, res.DEFAULT_GRAPH)
    if media is None:
        return text(406, "the service description is available as " + ", ".join(res.GRAPH_TYPES))
    return Response(res.write_graph(triples, res.GRAPH_TYPES[media]), 200, content_type=media)


@bp.route("/sparql", methods=["GET", "POST"])
@requires_token
def sparql() -> Response:
    if request.method == "GET":
        if "update" in request.args:
            return text(400, "updates are refused: this endpoint is read-only")
        queries = request.args.getlist("query")
        if not queries:
            return service_description()
        args = request.args
    else:
        ctype = (request.mimetype or "").lower()
        if ctype == FORM:
            args = request.form
            if "update" in args:
                return text(400, "updates are refused: this endpoint is read-only")
            queries = args.getlist("query")
        elif ctype == DIRECT:
            charset = (request.mimetype_params.get("charset") or "utf-8").lower()
            if charset not in ("utf-8", "utf8"):
                return text(400, f"the query must be UTF-8, not {charset}")
            try:
                queries = [request.get_data().decode("utf-8")]
            except UnicodeDecodeError:
                return text(400, "the query body is not valid UTF-8")
            args = request.args
        elif ctype == UPDATE:
            return text(400, "updates are refused: this endpoint is read-only")
        else:
            return text(415, f"POST a query as {FORM} or {DIRECT}, not {ctype or 'a body without Content-Type'}")
    if len(queries) != 1:
        return text(400, f"exactly one query is expected, got {len(queries)}")
    return run_query(queries[0], args.getlist("default-graph-uri"), args.getlist("named-graph-uri"), endpoint_iri())


def endpoint_iri() -> str | None:
    """The endpoint's URL as the query's base IRI (the protocol lets the service define it), so a query
    with relative IRIs such as `CONSTRUCT { <s> <p> 1 } WHERE {}` works; None when the Host header
    makes it no IRI."""
    try:
        return ox.NamedNode(request.base_url).value
    except ValueError:
        return None
