"""A remote SPARQL 1.1 server as the store: the real `oxigraph` server (PyPI package oxigraph), started
on 127.0.0.1, loaded once through the knowledge sync, and compared answer for answer with the
embedded store and the embedded service."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.cli import main as cli_main
from server.codecard import CodeCards
from server.namedqueries import load_queries
from server.namespaces import GRAPH_CODESET, GRAPH_ONTOLOGY, GRAPH_SHAPES
from server.remote.pool import RemoteQueryPool
from server.remote.protocol import Endpoints, ProtocolClient, StoreRefused, StoreUnavailable
from server.remote.store import GRAPH_META, RemoteStore
from server.remote.sync import FINGERPRINT, sync_knowledge
from server.sparql import worker
from server.sparql.worker import QueryRequest, QueryResponse
from server.web.app import create_app
from server.web.config import Config
from server.web.serve import build, build_remote
from tests.httpserve import free_port, serving

ROOT = Path(__file__).resolve().parent.parent
M9904 = "http://purl.bioontology.org/ontology/ICD10CM/M99.04"
SKOS = "http://www.w3.org/2004/02/skos/core#"
TITLE_Q = f"SELECT DISTINCT ?t WHERE {{ <{M9904}> <{SKOS}prefLabel> ?t }}"
CHILDREN_Q = (f"SELECT ?c ?t WHERE {{ ?c <{SKOS}broader> <http://purl.bioontology.org/ontology/ICD10CM/M99.0> ; "
              f"<{SKOS}prefLabel> ?t }} ORDER BY ?c ?t")
# a cross product over the 433,000 triples of the union: nothing streams back before the time limit
SLOW_Q = 'SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . FILTER(STR(?c) = CONCAT(STR(?f), "never")) }'
GROUP_LIST = re.compile(r"[A-Za-z0-9.-]+(?:,? [A-Za-z0-9.-]+)+")
SAMPLE = {"icd10cm": "M99.04", "mechanism": "subluxation", "region": "sacral", "site": "neural-canal",
          "cpt": "98941", "region-list": "cervical,lumbar", "family": "cmt", "strength": "typical"}


def oxigraph_executable() -> str:
    found = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("the oxigraph server (PyPI package oxigraph==0.5.13) is not installed")
        pytest.skip("the oxigraph server (PyPI package oxigraph) is not installed")
    return found


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    """A real Oxigraph server on a free port, with its own query time limit as a backstop."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("oxigraph-log") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([oxigraph_executable(), "serve", "--location",
                                    str(tmp_path_factory.mktemp("oxigraph-db")), "--bind", f"127.0.0.1:{port}",
                                    "--timeout-s", "8"], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/query?query=ASK%7B%7D", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"oxigraph did not start: {log.read_text(errors='replace')[-500:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def remote(oxigraph):
    """The RemoteStore, with the knowledge put there by the first sync (the report is kept)."""
    store = RemoteStore.at(oxigraph, timeout=30)
    started = time.monotonic()
    report = sync_knowledge(store)
    return {"store": store, "first": report, "first_seconds": time.monotonic() - started, "base": oxigraph}


class LocalPool:
    """The embedded workers' own query function over the session store, in process (no snapshot)."""

    def __init__(self, store, row_limit: int) -> None:
        self.store, self.row_limit = store, row_limit

    def execute(self, req: QueryRequest) -> QueryResponse:
        req.row_limit = min(req.row_limit, self.row_limit)
        return worker.run(self.store.ox, req)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def services(remote, store):
    """The service started with --store (real waitress server) and the embedded service (test client)."""
    port = free_port()
    config = Config(port=port, store_url=remote["base"], query_timeout=3.0, row_limit=1000, workers=2,
                    token=None, cors_origins=[])
    started = time.monotonic()
    app, pool = build(config)
    start_seconds = time.monotonic() - started
    embedded = create_app(Config(query_timeout=3.0, row_limit=1000, token=None, cors_origins=[]),
                          LocalPool(store, 1000), store).test_client()
    with serving(app, port):
        yield {"base": f"http://127.0.0.1:{port}", "app": app, "embedded": embedded, "start_seconds": start_seconds}
    pool.close()


def call(base: str, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def both(services, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    """(remote service answer, embedded service answer), each as (status, content type, body)."""
    status, h, data = call(services["base"], path, method, body, headers)
    local = services["embedded"].open(path, method=method, data=body, headers=headers or {})
    return (status, h["Content-Type"], data), (local.status_code, local.headers["Content-Type"], local.data)


def bindings(body: bytes) -> list[tuple]:
    """SPARQL JSON rows as pyoxigraph terms, comparable with rows_as_text."""
    result = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    names = [v.value for v in result.variables]
    return rows_as_text([{n: s[n] for n in names if s[n] is not None} for s in result])


def q(query: str, **params: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query, **params})


def rows_as_text(rows: list[dict]) -> list[tuple]:
    """Rows comparable across stores: GROUP_CONCAT's order is unspecified, so its lists are sorted."""
    def text(term) -> str:
        if isinstance(term, ox.Literal) and " " in term.value and GROUP_LIST.fullmatch(term.value):
            return " ".join(sorted(term.value.replace(",", " ").split()))
        return str(term)
    return sorted(tuple(sorted((k, text(v)) for k, v in row.items())) for row in rows)


# --- the knowledge sync ---------------------------------------------------------------------------

def test_first_sync_uploads_every_knowledge_graph(remote, store):
    assert sorted(remote["first"].uploaded) == sorted([GRAPH_ONTOLOGY, GRAPH_CODESET, GRAPH_SHAPES])
    rs = remote["store"]
    for graph in (GRAPH_ONTOLOGY, GRAPH_CODESET, GRAPH_SHAPES):
        assert rs.graph_size(graph) == store.graph_size(graph) > 0
    recorded = rs.select(f"SELECT ?g ?f WHERE {{ GRAPH <{GRAPH_META}> {{ ?g <{FINGERPRINT}> ?f }} }}", union=False)
    assert {r["g"].value: r["f"].value for r in recorded} == remote["first"].fingerprints


def test_second_sync_is_skipped_by_fingerprint(remote):
    started = time.monotonic()
    again = sync_knowledge(remote["store"])
    assert again.uploaded == [] and len(again.current) == 3
    assert time.monotonic() - started < max(2.0, remote["first_seconds"] / 3)


def test_a_stale_or_emptied_graph_alone_is_uploaded_again(remote, store):
    rs = remote["store"]
    rs.update(f'DELETE WHERE {{ GRAPH <{GRAPH_META}> {{ <{GRAPH_SHAPES}> <{FINGERPRINT}> ?f }} }} ;'
              f'INSERT DATA {{ GRAPH <{GRAPH_META}> {{ <{GRAPH_SHAPES}> <{FINGERPRINT}> "stale" }} }}')
    assert sync_knowledge(rs).uploaded == [GRAPH_SHAPES]
    assert rs.delete_graph(GRAPH_SHAPES) is True
    assert sync_knowledge(rs).uploaded == [GRAPH_SHAPES]
    assert rs.graph_size(GRAPH_SHAPES) == store.graph_size(GRAPH_SHAPES)


# --- RemoteStore answers like the embedded Store ---------------------------------------------------

def test_named_queries_answer_the_same(remote, store):
    compared = 0
    for name, named in load_queries().items():
        if any(not p.optional and p.type not in SAMPLE for p in named.params):
            continue
        sparql = named.bind({p.name: SAMPLE[p.type] for p in named.params if not p.optional})
        local, there = store.select(sparql), remote["store"].select(sparql)
        assert rows_as_text(there) == rows_as_text(local), name
        compared += 1
    assert compared >= 10


def test_code_card_is_the_embedded_card(remote, store):
    queries = load_queries()
    for code in ("M99.04", "M99.4", "M48.08"):
        assert CodeCards(remote["store"], queries).card(code) == CodeCards(store, queries).card(code)


def test_ask_construct_and_write_operations(remote, store):
    rs = remote["store"]
    ask = f"ASK {{ <{M9904}> m99:region region:sacral }}"  # project prefixes work without PREFIX lines
    assert rs.ask(ask) is True and store.ask(ask) is True
    assert rs.ask(ask, union=False) is False  # no dataset: Oxigraph's empty default graph
    construct = f"CONSTRUCT WHERE {{ <{M9904}> ?p ?o }}"
    assert set(rs.construct(construct)) == set(store.construct(construct)) != set()
    scratch = "https://w3id.org/m99kg/graph/test-scratch"
    triple = ox.Triple(ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p"), ox.Literal("one"))
    rs.put_graph(scratch, [triple])
    rs.post_graph(scratch, [ox.Triple(triple.subject, triple.predicate, ox.Literal("two"))])
    rs.update(f'INSERT DATA {{ GRAPH <{scratch}> {{ <urn:x:s> <urn:x:p> "three" }} }}')
    assert rs.graph_size(scratch) == 3 and scratch in rs.graphs()
    assert rs.ask('ASK { <urn:x:s> ?p "one" }') is False  # not in the project's union
    rs.put_graph(scratch, [triple])
    assert rs.graph_size(scratch) == 1
    one_file = ROOT / "ontology" / "generated" / "icd9-crosswalk.ttl"
    rs.replace_graph(scratch, [one_file], bulk=False)  # the transactional PUT of a Turtle file
    assert rs.graph_size(scratch) == len(list(ox.parse(path=str(one_file), format=ox.RdfFormat.TURTLE)))
    assert rs.delete_graph(scratch) is True and rs.delete_graph(scratch) is False
    with pytest.raises(StoreRefused) as err:
        rs.update("INSERT DAT { }")
    assert err.value.status == 400 and err.value.message


def test_endpoint_layout_and_overrides(monkeypatch):
    e = Endpoints.from_base("http://db.example:7878/")
    assert (e.query, e.update, e.store) == ("http://db.example:7878/query", "http://db.example:7878/update",
                                            "http://db.example:7878/store")
    monkeypatch.setenv("M99KG_STORE_QUERY_URL", "https://db.example/ds/sparql")
    e = Endpoints.from_base("http://db.example:7878", store="http://db.example/ds/data")
    assert (e.query, e.update, e.store) == ("https://db.example/ds/sparql", "http://db.example:7878/update",
                                            "http://db.example/ds/data")
    with pytest.raises(ValueError, match="not an http"):
        Endpoints.from_base("db.example:7878")


# --- the service with --store answers like the embedded service ----------------------------------------

@pytest.mark.parametrize("accept", ["application/sparql-results+json", "text/csv"])
def test_sparql_select_is_the_embedded_answer(services, accept):
    there, here = both(services, q(CHILDREN_Q), headers={"Accept": accept})
    assert there == here and there[0] == 200 and there[1] == accept
    assert b"M99.04" in there[2]


def test_sparql_ask_and_dataset_parameters(services):
    ask = f"ASK {{ <{M9904}> <https://w3id.org/m99kg/vocab#region> ?r }}"
    there, here = both(services, q(ask))
    assert there == here and json.loads(there[2])["boolean"] is True
    there, here = both(services, q(ask, **{"default-graph-uri": GRAPH_CODESET}))
    assert there == here and json.loads(there[2])["boolean"] is False
    graphs = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    there, here = both(services, q(graphs))
    assert there == here and GRAPH_META.encode() not in there[2]


def test_sparql_construct_turtle_is_the_embedded_graph(services):
    there, here = both(services, q(f"CONSTRUCT WHERE {{ <{M9904}> ?p ?o }}"), headers={"Accept": "text/turtle"})
    assert there[0] == here[0] == 200 and there[1] == here[1] == "text/turtle"
    parsed = [set(ox.parse(body, format=ox.RdfFormat.TURTLE)) for body in (there[2], here[2])]
    assert parsed[0] == parsed[1] and len(parsed[0]) > 5


def test_code_card_named_query_and_validation_are_the_embedded_answers(services):
    there, here = both(services, "/codes/M99.04")
    assert there[0] == here[0] == 200 and json.loads(there[2]) == json.loads(here[2])
    there, here = both(services, "/codes/M99.99")
    assert there[0] == here[0] == 404
    there, here = both(services, "/queries/pairings-for-code?code=M99.04")
    assert there[0] == here[0] == 200 and bindings(there[2]) == bindings(here[2])
    status, h, data = call(services["base"], "/queries/pairings-for-code?code=M99.04", headers={"Accept": "text/csv"})
    assert status == 200 and h["Content-Type"] == "text/csv" and b"98940" in data
    body = (ROOT / "examples" / "clean-medicare-claim.json").read_bytes()
    there, here = both(services, "/validate", "POST", body, {"Content-Type": "application/json"})
    assert there[0] == here[0] == 200 and json.loads(there[2]) == json.loads(here[2])
    assert json.loads(there[2])["conforms"] is True
    body = (ROOT / "examples" / "claims" / "diagnosis-header" / "fires.json").read_bytes()
    there, here = both(services, "/validate", "POST", body, {"Content-Type": "application/json"})
    assert json.loads(there[2]) == json.loads(here[2]) and json.loads(there[2])["conforms"] is False


def test_malformed_query_gets_400_with_the_stores_message(services):
    status, _h, data = call(services["base"], "/sparql?query=SELECT%20%3Fx%20WHERE%20%7B")
    assert status == 400 and data.startswith(b"the store rejected the query: error at 1:")


def test_updates_are_refused_and_never_reach_the_store(services, remote):
    scratch = "https://w3id.org/m99kg/graph/should-not-exist"
    update = f'INSERT DATA {{ GRAPH <{scratch}> {{ <urn:x:a> <urn:x:b> "c" }} }}'
    for body, ctype in [(update.encode(), "application/sparql-update"),
                        (urllib.parse.urlencode({"update": update}).encode(), "application/x-www-form-urlencoded")]:
        status, _h, data = call(services["base"], "/sparql", "POST", body, {"Content-Type": ctype})
        assert status == 400 and b"read-only" in data
    status, _h, data = call(services["base"], q(update))  # an update sent as a query is not a query
    assert status == 400
    assert scratch not in remote["store"].graphs()


def test_service_and_row_limit_before_and_while_forwarding(services):
    status, _h, data = call(services["base"], q("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"))
    assert status == 400 and b"SERVICE is refused" in data
    # text that could crash the store's own parser is refused before it is forwarded
    deep = ("SELECT * WHERE " + "{" * 3000 + "}" * 3000).encode()
    status, _h, data = call(services["base"], "/sparql", "POST", deep, {"Content-Type": "application/sparql-query"})
    assert status == 400 and b"nests brackets more than 64 deep" in data
    status, _h, data = call(services["base"], q("SELECT * WHERE { ?s ?p ?o }"))
    assert status == 400 and b"row limit" in data


def test_restart_against_a_synced_store_is_quick(services):
    assert services["start_seconds"] < 10


# --- an unreachable or slow store -----------------------------------------------------------------

def test_unreachable_store_gives_503_with_a_clear_message(store):
    dead = f"http://127.0.0.1:{free_port()}"
    app, pool = build_remote(Config(store_url=dead, store_sync=False, query_timeout=2.0, token=None))
    client = app.test_client()
    for path in (q(TITLE_Q), "/codes/M99.04", "/queries/pairings-for-code?code=M99.04"):
        answer = client.get(path)
        assert answer.status_code == 503, path
        assert b"is unreachable" in answer.data and b"Traceback" not in answer.data
    body = (ROOT / "examples" / "clean-medicare-claim.json").read_bytes()
    answer = client.post("/validate", data=body, content_type="application/json")
    assert answer.status_code == 503 and b"unreachable" in answer.data
    pool.close()
    with pytest.raises(StoreUnavailable):
        RemoteStore.at(dead).select("SELECT * WHERE { ?s ?p ?o } LIMIT 1")


def test_serve_with_an_unreachable_store_exits_2_with_a_message(capsys):
    dead = f"http://127.0.0.1:{free_port()}"
    assert cli_main(["serve", "--store", dead, "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "cannot use the store" in err and "unreachable" in err and "Traceback" not in err
    assert cli_main(["serve", "--store", "db.example:7878"]) == 2
    assert "not an http" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["serve", "--store", dead, "--data", "var"])


def test_slow_remote_query_hits_the_time_limit_while_others_are_served(services):
    result = {}

    def slow() -> None:
        started = time.monotonic()
        result["status"], _h, result["body"] = call(services["base"], q(SLOW_Q))
        result["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    status, _h, _d = call(services["base"], q(TITLE_Q))
    assert status == 200 and time.monotonic() - started < 2.5
    thread.join(30)
    assert result["status"] == 503 and b"time limit" in result["body"], result
    assert result["elapsed"] < 3.0 + 2.0
    assert call(services["base"], q(TITLE_Q))[0] == 200


def test_remote_pool_times_out_on_a_silent_server():
    """A server that accepts the connection and never answers: the deadline still holds."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        pool = RemoteQueryPool(ProtocolClient(Endpoints.from_base(f"http://127.0.0.1:{port}")), timeout=1.0)
        started = time.monotonic()
        answer = pool.execute(QueryRequest(TITLE_Q))
        assert answer.status == 503 and b"1 s time limit" in answer.body
        assert time.monotonic() - started < 2.5
        with contextlib.suppress(OSError):
            listener.accept()[0].close()


def test_loading_claims_into_a_remote_store_is_idempotent_and_replaces(remote, store):
    """`m99kg load --store`: new claims by INSERT DATA, stored ones replaced in one update; the same
    quads as the embedded load."""
    from server.loading import load_outcomes
    from server.namespaces import GRAPH_CLAIMS, GRAPH_RESULTS
    from server.synth.generator import generate
    from server.validation import batch
    from server.validation.fast import FastValidator

    claims = list(generate(30, seed=11))
    validator = FastValidator(store)

    def outcomes(objects):
        return batch.validate_units(batch.object_units(objects, "test", 20), validator=validator, keep_claims=True)

    target: RemoteStore = remote["store"]
    changed = [dict(c, serviceDate="2026-01-05") for c in claims[:10]]
    load_outcomes(outcomes(claims), target)
    load_outcomes(outcomes(changed), target)
    embedded = ox.Store()
    load_outcomes(outcomes(changed + claims[10:]), embedded)
    for graph in (GRAPH_CLAIMS, GRAPH_RESULTS):
        rows = target.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", union=False)
        remote_quads = {(r["s"], r["p"], r["o"]) for r in rows}
        local_quads = {(q.subject, q.predicate, q.object)
                       for q in embedded.quads_for_pattern(None, None, None, ox.NamedNode(graph))}
        assert remote_quads == local_quads and local_quads


# --- a store behind authentication ------------------------------------------------------------------

USER, PASSWORD, TOKEN = "billing-team", "s3cret pässword", "tok-4f9a.Zq"
BASIC = "Basic " + __import__("base64").b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def guarded(oxigraph):
    """A reverse proxy in front of the Oxigraph server that wants HTTP Basic (or a bearer token) on every
    request, as a hosted triple store or an nginx in front of one does; it records what it was sent."""
    import http.client
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    upstream = urllib.parse.urlsplit(oxigraph)
    seen: list[tuple[str, str, str | None]] = []

    class Guard(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            auth = self.headers.get("Authorization")
            seen.append((self.command, self.path.split("?")[0], auth))
            if auth not in (BASIC, "Bearer " + TOKEN):
                payload = b"authentication required"
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="store"')
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            reply = conn.getresponse()
            payload = reply.read()
            self.send_response(reply.status)
            for name in ("Content-Type", "Server"):
                if reply.getheader(name):
                    self.send_header(name, reply.getheader(name))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, *_args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Guard)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{httpd.server_address[1]}", "seen": seen}
    httpd.shutdown()
    httpd.server_close()


def test_credentials_from_the_environment_go_to_every_endpoint(guarded, monkeypatch):
    graph = "https://example.org/graph/auth-scratch"
    triple = ox.Triple(ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p"), ox.Literal("o"))
    for env in ({"M99KG_STORE_USER": USER, "M99KG_STORE_PASSWORD": PASSWORD}, {"M99KG_STORE_TOKEN": TOKEN}):
        for name in ("M99KG_STORE_USER", "M99KG_STORE_PASSWORD", "M99KG_STORE_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        guarded["seen"].clear()
        rs = RemoteStore.at(guarded["base"])
        assert rs.ask(f"ASK {{ <{M9904}> ?p ?o }}", union=False) in (True, False)
        rs.update(f"INSERT DATA {{ GRAPH <{graph}> {{ <https://example.org/s> <https://example.org/q> 1 }} }}")
        rs.post_graph(graph, [triple])
        assert rs.graph_size(graph) == 2
        assert rs.delete_graph(graph) is True
        paths = {path for _m, path, _a in guarded["seen"]}
        assert paths == {"/query", "/update", "/store"}
        assert {auth for _m, _p, auth in guarded["seen"]} == {BASIC if "M99KG_STORE_USER" in env else "Bearer " + TOKEN}


def test_missing_or_wrong_credentials_are_a_clear_refusal(guarded, monkeypatch):
    for name in ("M99KG_STORE_USER", "M99KG_STORE_PASSWORD", "M99KG_STORE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(StoreRefused) as err:
        RemoteStore.at(guarded["base"]).select("SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    assert err.value.status == 401 and "M99KG_STORE_USER" in str(err.value) and "M99KG_STORE_TOKEN" in str(err.value)
    monkeypatch.setenv("M99KG_STORE_USER", USER)
    monkeypatch.setenv("M99KG_STORE_PASSWORD", "wrong")
    with pytest.raises(StoreRefused) as err:
        RemoteStore.at(guarded["base"]).select("SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    assert err.value.status == 401 and "wrong" not in str(err.value)


def test_load_and_serve_against_a_guarded_store(guarded, remote, monkeypatch, capsys):
    claim = ROOT / "examples" / "clean-medicare-claim.json"
    for name in ("M99KG_STORE_USER", "M99KG_STORE_PASSWORD", "M99KG_STORE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert cli_main(["load", "--store", guarded["base"], str(claim)]) == 2
    err = capsys.readouterr().err
    assert "401" in err and "M99KG_STORE_PASSWORD" in err and "Traceback" not in err
    monkeypatch.setenv("M99KG_STORE_USER", USER)
    monkeypatch.setenv("M99KG_STORE_PASSWORD", PASSWORD)
    assert cli_main(["load", "--store", guarded["base"], str(claim)]) == 0
    out = capsys.readouterr()
    assert "loaded 1 claims" in out.out and PASSWORD not in out.out + out.err
    rows = remote["store"].select("SELECT ?id WHERE { GRAPH <https://w3id.org/m99kg/graph/claims> "
                                  "{ ?c <https://w3id.org/m99kg/vocab#claimId> ?id } }", union=False)
    assert json.loads(claim.read_text())["id"] in {r["id"].value for r in rows}
    app, pool = build_remote(Config(store_url=guarded["base"], store_sync=True, query_timeout=5.0, token=None))
    try:
        answer = app.test_client().get(q(TITLE_Q))
        assert answer.status_code == 200 and b"Segmental" in answer.data
    finally:
        pool.close()


def test_credentials_in_a_url_or_half_given_are_refused_without_echoing_them(monkeypatch, capsys, caplog):
    for name in ("M99KG_STORE_USER", "M99KG_STORE_PASSWORD", "M99KG_STORE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert cli_main(["serve", "--store", f"https://{USER}:hunter2@db.example/ds"]) == 2
    assert cli_main(["load", "--store", f"https://{USER}:hunter2@db.example/ds", "x.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("carries credentials") == 2 and "hunter2" not in err and "https://db.example/ds" in err
    monkeypatch.setenv("M99KG_STORE_USER", USER)
    assert cli_main(["load", "--store", "https://db.example/ds", "x.json"]) == 2
    assert "M99KG_STORE_PASSWORD is not set" in capsys.readouterr().err
    monkeypatch.setenv("M99KG_STORE_TOKEN", TOKEN)
    with pytest.raises(ValueError, match="not both"):
        Endpoints.from_base("https://db.example/ds")
    with pytest.raises(ValueError, match="without 'Bearer '"):
        Endpoints.from_base("https://db.example/ds", environ={"M99KG_STORE_TOKEN": "Bearer " + TOKEN})
    with pytest.raises(ValueError, match="outside ASCII"):
        Endpoints.from_base("https://db.example/ds", environ={"M99KG_STORE_TOKEN": "токен"})
    with pytest.raises(ValueError, match="control character"):
        Endpoints.from_base("https://db.example/ds", environ={"M99KG_STORE_TOKEN": TOKEN + "\r\nX-Evil: 1"})
    endpoints = Endpoints.from_base("http://db.example:7878", environ={"M99KG_STORE_TOKEN": TOKEN})
    assert TOKEN not in repr(endpoints)
    with caplog.at_level("WARNING", logger="m99kg.store"):
        ProtocolClient(endpoints)
        ProtocolClient(Endpoints.from_base("http://127.0.0.1:7878", environ={"M99KG_STORE_TOKEN": TOKEN}))
        ProtocolClient(Endpoints.from_base("https://db.example", environ={"M99KG_STORE_TOKEN": TOKEN}))
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "db.example over plain http" in warnings[0] and TOKEN not in warnings[0]
