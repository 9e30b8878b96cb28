"""The HTTP service, served by waitress on 127.0.0.1 and driven by real clients."""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import rdflib
from SPARQLWrapper import JSON, SPARQLWrapper

from server.namespaces import GRAPH_CODESET
from server.web.app import create_app
from server.web.config import Config
from server.web.serve import build
from tests.httpserve import free_port, serving

ROOT = Path(__file__).resolve().parent.parent
M9904 = "http://purl.bioontology.org/ontology/ICD10CM/M99.04"
TITLE_Q = f"SELECT DISTINCT ?t WHERE {{ <{M9904}> <http://www.w3.org/2004/02/skos/core#prefLabel> ?t }}"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


class Access(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    config = Config(port=port, data_dir=tmp_path_factory.mktemp("data"), query_timeout=3.0, row_limit=1000,
                    max_body=200_000, workers=2, token=None, cors_origins=["https://analyst.example"])
    app, pool = build(config)
    access = Access()
    logger = logging.getLogger("m99kg.access")
    logger.addHandler(access)
    logger.setLevel(logging.INFO)
    with serving(app, port):
        yield {"base": f"http://127.0.0.1:{port}", "app": app, "pool": pool, "access": access}
    pool.close()
    logger.removeHandler(access)


def call(server, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(server["base"] + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def q(query: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query})


# --- the SPARQL 1.1 Protocol query operation ----------------------------------------------------

def test_get_post_form_and_post_direct(server):
    for method, path, body, headers in [
        ("GET", q(TITLE_Q), None, {}),
        ("POST", "/sparql", urllib.parse.urlencode({"query": TITLE_Q}).encode(),
         {"Content-Type": "application/x-www-form-urlencoded"}),
        ("POST", "/sparql", TITLE_Q.encode(), {"Content-Type": "application/sparql-query"}),
    ]:
        status, h, data = call(server, path, method, body, headers)
        assert status == 200 and h["Content-Type"].startswith("application/sparql-results+json")
        rows = json.loads(data)["results"]["bindings"]
        assert [r["t"]["value"] for r in rows] == ["Segmental and somatic dysfunction of sacral region"]


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "application/sparql-results+xml",
                                    "text/csv", "text/tab-separated-values"])
def test_select_formats(server, accept):
    status, h, data = call(server, q(TITLE_Q), headers={"Accept": accept})
    assert status == 200 and h["Content-Type"] == accept
    text = data.decode()
    if accept == "text/csv":
        assert list(csv.reader(io.StringIO(text)))[1] == ["Segmental and somatic dysfunction of sacral region"]
    elif accept == "text/tab-separated-values":
        assert text.splitlines() == ["?t", '"Segmental and somatic dysfunction of sacral region"@en']
    elif "xml" in accept:
        assert "<literal xml:lang=\"en\">Segmental and somatic dysfunction of sacral region</literal>" in text


@pytest.mark.parametrize(("accept", "fmt"), [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                            ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")])
def test_construct_formats(server, accept, fmt):
    status, h, data = call(server, q(f"CONSTRUCT WHERE {{ <{M9904}> ?p ?o }}"), headers={"Accept": accept})
    assert status == 200 and h["Content-Type"] == accept
    g = rdflib.Graph().parse(data=data.decode(), format=fmt)
    assert (rdflib.URIRef(M9904), rdflib.URIRef("https://w3id.org/m99kg/vocab#region"),
            rdflib.URIRef("https://w3id.org/m99kg/id/region/sacral")) in g


def test_ask_and_dataset_parameters(server):
    ask = f"ASK {{ <{M9904}> <https://w3id.org/m99kg/vocab#region> ?r }}"
    status, _h, data = call(server, q(ask), headers={"Accept": "application/sparql-results+xml"})
    assert status == 200 and b"<boolean>true</boolean>" in data
    # only the code set as default graph: it has no facets
    path = "/sparql?" + urllib.parse.urlencode({"query": ask, "default-graph-uri": GRAPH_CODESET})
    assert json.loads(call(server, path)[2])["boolean"] is False
    # the same dataset named in the query itself (FROM), and a FROM NAMED alone: an empty default graph
    assert json.loads(call(server, q(ask.replace("ASK", f"ASK FROM <{GRAPH_CODESET}>")))[2])["boolean"] is False
    assert json.loads(call(server, q(ask.replace("ASK", f"ASK FROM NAMED <{GRAPH_CODESET}>")))[2])["boolean"] is False
    named = f"ASK FROM NAMED <{GRAPH_CODESET}> {{ GRAPH ?g {{ <{M9904}> ?p ?o }} }}"
    assert json.loads(call(server, q(named))[2])["boolean"] is True


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), [
    ("GET", "/sparql?query=SELEC%20%3Fx", None, {}, 400),
    ("GET", "/sparql?query=ASK%7B%7D&query=ASK%7B%7D", None, {}, 400),
    ("POST", "/sparql", b"update=CLEAR%20ALL", {"Content-Type": "application/x-www-form-urlencoded"}, 400),
    ("POST", "/sparql", b"CLEAR ALL", {"Content-Type": "application/sparql-update"}, 400),
    ("POST", "/sparql", b"ASK {}", {"Content-Type": "text/plain"}, 415),
    ("POST", "/sparql", "ASK {}".encode("utf-16"), {"Content-Type": "application/sparql-query; charset=UTF-16"}, 400),
    ("PUT", "/sparql", b"ASK {}", {"Content-Type": "application/sparql-query"}, 405),
    ("GET", "/sparql?query=ASK%7B%7D", None, {"Accept": "image/png"}, 406),
])
def test_status_codes(server, method, path, body, headers, status):
    got, _h, data = call(server, path, method, body, headers)
    assert got == status, data
    assert data and b"Traceback" not in data


def test_malformed_query_gets_the_parser_message(server):
    status, _h, data = call(server, "/sparql?query=SELECT%20%3Fx%20WHERE%20%7B")
    assert status == 400 and data.startswith(b"malformed query:")


def test_service_description(server):
    status, h, data = call(server, "/sparql", headers={"Accept": "text/turtle"})
    assert status == 200 and h["Content-Type"] == "text/turtle"
    g = rdflib.Graph().parse(data=data.decode(), format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (None, sd.endpoint, rdflib.URIRef(server["base"] + "/sparql")) in g


# --- limits and safety ---------------------------------------------------------------------------

def test_service_is_refused(server):
    status, _h, data = call(server, q("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"))
    assert status == 400 and b"SERVICE is refused" in data
    # the word inside a literal is not a SERVICE clause
    status, _h, _d = call(server, q('ASK { FILTER("SERVICE <x> {}" != "") }'))
    assert status == 200


def test_queries_nested_or_chained_past_the_limits_are_refused_before_they_run(server):
    """Found by hand-fuzzing /sparql: `{` nested 3,000 deep or 10,000 operands chained with UNION made
    Oxigraph overflow its stack and kill the worker, and the answer blamed the time limit."""
    deep = "SELECT * WHERE " + "{" * 3000 + "}" * 3000
    status, _h, data = call(server, "/sparql", "POST", deep.encode(), {"Content-Type": "application/sparql-query"})
    assert status == 400 and b"nests brackets more than 64 deep (line 1)" in data
    chained = "SELECT * WHERE { " + " UNION ".join(["{ ?s ?p ?o }"] * 10000) + " } LIMIT 1"
    status, _h, data = call(server, "/sparql", "POST", chained.encode(), {"Content-Type": "application/sparql-query"})
    assert status == 400 and b"tokens outside strings and IRIs" in data
    # brackets and words inside strings, IRIs and comments do not count
    quoted = 'SELECT ?x WHERE { BIND("' + "((({{{" * 5000 + '" AS ?x) } # ' + "(" * 100
    assert call(server, "/sparql", "POST", quoted.encode(), {"Content-Type": "application/sparql-query"})[0] == 200
    assert call(server, q(TITLE_Q))[0] == 200


def test_a_worker_that_dies_is_reported_as_such_and_replaced(server):
    from server.sparql.worker import QueryRequest

    pool = server["pool"]
    # past the web layer's limits but within the worker's 256 MB stack (an 8 MB stack dies at 3,000)
    assert pool.execute(QueryRequest("SELECT * WHERE " + "{" * 5000 + "}" * 5000)).status == 200
    answer = pool.execute(QueryRequest("SELECT * WHERE " + "{" * 150_000 + "}" * 150_000))  # dies even there
    assert answer.status == 503 and b"worker stopped while running this query" in answer.body
    assert b"time limit" not in answer.body
    time.sleep(1.5)  # the replacement worker
    assert call(server, q(TITLE_Q))[0] == 200


def test_a_query_past_the_memory_limit_stops_its_worker_alone(server, capsys):
    """A sorted cross product grows by about 350 MB a second; without a cap, a longer --timeout or more
    workers could take the machine's memory."""
    from server.cli import main as cli_main
    from server.sparql.pool import QueryPool
    from server.sparql.worker import QueryRequest

    pool = QueryPool(server["pool"].store_path, workers=1, timeout=30.0, memory_mb=700)
    try:
        started = time.monotonic()
        answer = pool.execute(QueryRequest("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f"))
        assert answer.status == 503 and b"more than the 700 MiB a query worker may use" in answer.body, answer.body
        assert time.monotonic() - started < 25
        answer = pool.execute(QueryRequest(TITLE_Q))  # waits for the fresh worker
        assert answer.status == 200 and b"Segmental" in answer.body
    finally:
        pool.close()
    assert cli_main(["serve", "--query-memory", "100"]) == 2
    assert "at least 512 MiB" in capsys.readouterr().err


def test_runaway_query_is_stopped_and_others_are_served_meanwhile(server):
    result = {}

    def runaway() -> None:
        start = time.monotonic()
        result["status"], _h, result["body"] = call(server, q(RUNAWAY))
        result["elapsed"] = time.monotonic() - start

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    start = time.monotonic()
    status, _h, _d = call(server, q(TITLE_Q))
    assert status == 200 and time.monotonic() - start < 2.0
    thread.join(30)
    assert result["status"] == 503 and b"time limit" in result["body"]
    assert result["elapsed"] < 3.0 + 2.0
    time.sleep(1.5)  # the replacement worker
    assert call(server, q(TITLE_Q))[0] == 200


def test_row_limit(server):
    status, _h, data = call(server, q("SELECT * WHERE { ?s ?p ?o }"))
    assert status == 400 and b"row limit" in data


def test_oversized_body_is_413(server):
    body = b"query=" + b"A" * 300_000
    status, _h, _d = call(server, "/sparql", "POST", body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413


def test_cors_for_configured_origin_only(server):
    _s, h, _d = call(server, q(TITLE_Q), headers={"Origin": "https://analyst.example"})
    assert h["Access-Control-Allow-Origin"] == "https://analyst.example"
    _s, h, _d = call(server, q(TITLE_Q), headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in h


def test_access_log_has_no_query_strings_or_claim_content(server):
    call(server, q('ASK { FILTER("secret-patient-P-17" != "") }'))
    body = (ROOT / "examples" / "clean-medicare-claim.json").read_bytes()
    call(server, "/validate", "POST", body, {"Content-Type": "application/json"})
    lines = server["access"].lines
    assert any(line.startswith("POST /validate 200") for line in lines)
    assert not any("secret" in line or "P-17" in line or "query=" in line for line in lines)


def test_bearer_token_guards_claim_endpoints(server):
    config = Config(token="s3cret")
    app = create_app(config, server["pool"], server["app"].extensions["m99kg.cards"].store)
    client = app.test_client()
    assert client.post("/validate", data=b"{}", content_type="application/json").status_code == 401
    assert client.get("/sparql?query=ASK%7B%7D").status_code == 401
    ok = client.get("/sparql?query=ASK%7B%7D", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert client.get("/codes/M99.04").status_code == 200  # no claim content


# --- real SPARQL clients ----------------------------------------------------------------------------

def test_sparqlwrapper(server):
    client = SPARQLWrapper(server["base"] + "/sparql")
    client.setQuery(TITLE_Q)
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]
    assert rows[0]["t"]["value"] == "Segmental and somatic dysfunction of sacral region"


def test_rdflib_sparqlstore(server):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    g = rdflib.Graph(store=SPARQLStore(server["base"] + "/sparql", returnFormat="json"))
    rows = list(g.query(TITLE_Q))
    assert str(rows[0][0]) == "Segmental and somatic dysfunction of sacral region"


# --- named queries, codes, validation, OpenAPI ---------------------------------------------------------

def test_named_queries(server):
    status, _h, data = call(server, "/queries")
    listing = {entry["name"]: entry for entry in json.loads(data)}
    assert status == 200 and "pairings-for-code" in listing
    assert listing["pairings-for-code"]["parameters"][0] == {
        "name": "code", "type": "icd10cm", "optional": False, "description": "The M99 code, with or without the dot."}
    status, _h, data = call(server, "/queries/pairings-for-code?code=M9904")
    procedures = {row["procedureNotation"]["value"] for row in json.loads(data)["results"]["bindings"]}
    assert status == 200 and {"98940", "98943"} <= procedures
    status, h, data = call(server, "/queries/pairings-for-code?code=M99.04", headers={"Accept": "text/csv"})
    assert status == 200 and h["Content-Type"] == "text/csv" and b"98940" in data


@pytest.mark.parametrize(("path", "status"), [
    ("/queries/pairings-for-code", 400),                               # required parameter missing
    ("/queries/pairings-for-code?code=M99.04%3E%20%7D", 400),          # not a code: cannot inject
    ("/queries/pairings-for-code?code=M99.04&colour=blue", 400),       # unknown parameter
    ("/queries/no-such-query", 404),
])
def test_named_query_errors(server, path, status):
    got, _h, data = call(server, path)
    assert got == status and "error" in json.loads(data)


def test_code_cards(server):
    status, _h, data = call(server, "/codes/M99.04")
    assert status == 200 and json.loads(data)["region"]["label"] == "sacral region"
    assert call(server, "/codes/M99.99")[0] == 404
    assert call(server, "/codes/hello")[0] == 400


def test_validate(server):
    body = (ROOT / "examples" / "claims" / "diagnosis-header" / "fires.json").read_bytes()
    status, _h, data = call(server, "/validate", "POST", body, {"Content-Type": "application/json"})
    report = json.loads(data)
    assert status == 200 and report["conforms"] is False
    assert report["claims"][0]["results"][0]["codes"] == ["M99.4", "M99.44"]
    status, h, data = call(server, "/validate", "POST", body, {"Content-Type": "application/json",
                                                                "Accept": "text/turtle"})
    assert status == 200 and h["Content-Type"].startswith("text/turtle")
    assert (None, rdflib.URIRef("http://www.w3.org/ns/shacl#conforms"), None) in rdflib.Graph().parse(
        data=data.decode(), format="turtle")
    status, _h, data = call(server, "/validate", "POST", b'{"id": "A", "diagnoses": [,]}',
                            {"Content-Type": "application/json"})
    assert status == 400 and "not valid JSON" in json.loads(data)["error"]
    status, _h, data = call(server, "/validate", "POST", b'{"id": "BARE"}', {"Content-Type": "application/json"})
    assert status == 400 and "claim 'BARE' has none of the fields a claim is read by" in json.loads(data)["error"]
    assert call(server, "/validate", "POST", b"x", {"Content-Type": "text/plain"})[0] == 415


def test_validate_batches_in_every_body_format(server):
    from server.claims.fhir_write import write_fhir_bundle
    from server.claims.x12_write import write_837p

    clean = json.loads((ROOT / "examples" / "clean-medicare-claim.json").read_text())
    header = json.loads((ROOT / "examples" / "claims" / "diagnosis-header" / "fires.json").read_text())
    lines = "\n".join([json.dumps(clean), "{broken", json.dumps(header)]).encode()
    status, h, data = call(server, "/validate", "POST", lines, {"Content-Type": "application/x-ndjson",
                                                                 "Accept": "application/x-ndjson"})
    assert status == 200 and h["Content-Type"].startswith("application/x-ndjson")
    reports = [json.loads(x) for x in data.decode().splitlines()]
    assert [r["claim"] for r in reports] == [clean["id"], header["id"]]
    assert reports[0]["conforms"] and not reports[1]["conforms"]
    status, _h, data = call(server, "/validate", "POST", lines, {"Content-Type": "application/x-ndjson"})
    report = json.loads(data)
    assert report["summary"]["claims"] == 2 and "request body:2:2" in report["inputErrors"][0]
    array = json.dumps([clean, header]).encode()
    fast = json.loads(call(server, "/validate", "POST", array, {"Content-Type": "application/json"})[2])
    ref = json.loads(call(server, "/validate?engine=reference", "POST", array,
                          {"Content-Type": "application/json"})[2])
    assert fast == ref and fast["summary"]["claims"] == 2
    bundle = json.dumps(write_fhir_bundle([clean])).encode()
    status, _h, data = call(server, "/validate", "POST", bundle, {"Content-Type": "application/fhir+json"})
    assert status == 200 and json.loads(data)["claims"][0]["claim"] == clean["id"]
    x12 = write_837p([{k: v for k, v in clean.items() if k not in ("findings", "visitNumber")}]).encode()
    status, _h, data = call(server, "/validate", "POST", x12, {"Content-Type": "application/edi-x12"})
    assert status == 200 and json.loads(data)["claims"][0]["claim"] == clean["id"]
    assert call(server, "/validate?engine=other", "POST", array, {"Content-Type": "application/json"})[0] == 400
    # pySHACL holds a request thread (and the GIL) about 0.5 s a claim: a large body is refused, not run for hours
    many = json.dumps([dict(clean, id=f"REF-{i}") for i in range(51)]).encode()
    status, _h, data = call(server, "/validate?engine=reference", "POST", many, {"Content-Type": "application/json"})
    assert status == 413 and "at most 50 claims" in json.loads(data)["error"] and "has 51" in json.loads(data)["error"]
    status, _h, data = call(server, "/validate", "POST", many, {"Content-Type": "application/json"})
    assert status == 200 and json.loads(data)["summary"]["claims"] == 51


def test_concurrent_validate_requests_each_get_their_own_report(server):
    """Concurrent requests share fast-engine batches (server/validation/coalesce.py); fires.json and
    passes.json of a rule have the same claim id, so some requests must not share a batch."""
    rules = ["diagnosis-header", "cmt-level-regions", "stenosis-imaging", "visit-audit", "medicare-98943-at"]
    bodies = [(ROOT / "examples" / "claims" / r / f"{k}.json").read_bytes() for r in rules for k in ("fires", "passes")]
    headers = {"Content-Type": "application/json"}
    expected = [json.loads(call(server, "/validate", "POST", b, headers)[2]) for b in bodies]
    assert all(e["claims"][0]["results"] for e in expected[::2])  # every fires.json has findings
    assert all(a != b for a, b in zip(expected[::2], expected[1::2], strict=True))
    coalescer = server["app"].extensions["m99kg.coalescer"]
    before = coalescer.requests
    answers: list = [None] * (3 * len(bodies))

    def post(i: int) -> None:
        answers[i] = json.loads(call(server, "/validate", "POST", bodies[i % len(bodies)], headers)[2])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(answers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == expected * 3
    assert coalescer.requests - before == len(answers) and not coalescer._queue


def test_openapi_lists_every_endpoint(server):
    spec = json.loads(call(server, "/openapi.json")[2])
    assert {"/sparql", "/queries", "/queries/{name}", "/codes/{code}", "/validate", "/healthz"} <= set(spec["paths"])
