"""The W3C SPARQL 1.1 Protocol and Service Description tests, sent as real HTTP requests to /sparql.

The corpus is the copy in ../shared/corpora/sparql-protocol (see its README.md). Three manifests:

* protocol/manifest.ttl: 34 mf:ProtocolTest entries whose HTTP exchanges are RDF (ht:, cnt:);
* protocol-textual-2026-03/manifest.ttl: the same 34 tests as raw HTTP requests in prose
  (`#### Request` / `#### Response` blocks). Several send the dataset in a form body where the RDF
  version sends a direct POST, so both variants are run;
* service-description/manifest.ttl: 3 tests with names only.

Each protocol test is classified from its requests, not from its name (docs/sparql-protocol.md):

* "query": only query operations; applies to a read-only endpoint and must pass as the manifest says
  (status class, result format parsed with rdflib's own parsers, ASK answer);
* "bad-update": an update operation the manifest expects to be rejected (4xx); a read-only endpoint
  must reject it too, so it applies and must pass;
* "update": an update the manifest expects to succeed. The endpoint refuses updates by design, so
  the test is not applicable; the runner checks the refusal instead (400 saying read-only), that
  the test's follow-up ASK gives the opposite answer (nothing was written), and that the data is
  still there afterwards.

The service is the real one (app factory, query worker pool, waitress) on 127.0.0.1 and a free port,
over an on-disk snapshot holding the knowledge graphs plus the test graphs data1-3 (the protocol
tests name them by IRI); snapshot.ensure_snapshot has no way to add graphs, so the snapshot is bulk
loaded here the same way. `python tests/test_sparql_protocol_w3c.py` prints one line per test.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse, urlsplit
from urllib.request import url2pathname

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import RDF, RDFS
from rdflib.collection import Collection
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.query import Result

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # when run as a script

from server import resources  # noqa: E402
from server.namespaces import GRAPH_CODESET  # noqa: E402
from server.sparql.pool import QueryPool  # noqa: E402
from server.store import Store  # noqa: E402
from server.web.app import create_app  # noqa: E402
from server.web.config import Config  # noqa: E402
from tests.httpserve import free_port, serving  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "sparql-protocol"
RDF_MANIFEST = CORPUS / "protocol" / "manifest.ttl"
TEXT_MANIFEST = CORPUS / "protocol-textual-2026-03" / "manifest.ttl"
SD_MANIFEST = CORPUS / "service-description" / "manifest.ttl"
ENDPOINT = "/sparql"

# Measured against this service; a drop fails, a rise fails until these are raised (with KNOWN_FAILURES).
TOTAL = {"rdf": 34, "text": 34, "sd": 3}
PASSED = {"rdf": 27, "text": 27, "sd": 2}
NOT_APPLICABLE = {"rdf": 7, "text": 7, "sd": 1}
# test key -> why this service does not pass it (strict xfail: a fix fails too, so update both)
KNOWN_FAILURES: dict[str, str] = {}
# Service description tests the corpus gives no means to run: key -> reason
SD_NOT_RUN = {"sd:conforms-to-schema": "the corpus has neither an action nor the schema to conform to; the "
                                       "description is checked for sd:Service, sd:endpoint and parseable RDF only"}

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")

# What a client may receive (SPARQL 1.1 Protocol section 2.1.6 and the result-format recommendations);
# a format mapping for rdflib's parsers, not knowledge of the domain.
RESULT_MEDIA = {"application/sparql-results+json": "json", "application/json": "json",
                "application/sparql-results+xml": "xml", "application/xml": "xml",
                "text/csv": "csv", "text/tab-separated-values": "tsv"}
BOOLEAN_MEDIA = {m: k for m, k in RESULT_MEDIA.items() if k in ("json", "xml")}
RDF_MEDIA = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml",
             "application/ld+json": "json-ld", "text/n3": "n3", "application/n-quads": "nquads",
             "application/trig": "trig"}
FORM = "application/x-www-form-urlencoded"


@dataclass
class Request:
    method: str
    path: str  # as in the manifest, starting with /sparql/
    headers: dict[str, str]
    body: bytes | None
    statuses: frozenset[str]  # "2xx", "3xx", "4xx"
    fmt: str | None = None  # "boolean", "tabular", "RDF"
    boolean: bool | None = None

    @property
    def media(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass
class ProtocolTest:
    key: str  # "rdf:query_get", "text:query_get"
    name: str
    requests: list[Request]
    graphs: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        updates = [r for r in self.requests if operation(r) == "update"]
        if not updates:
            return "query"
        return "update" if any(r.statuses & {"2xx", "3xx"} for r in updates) else "bad-update"


@dataclass
class Outcome:
    status: str  # "pass", "fail", "n/a"
    detail: str


# --- reading the manifests -----------------------------------------------------------------------

def _entries(path: Path) -> tuple[rdflib.Graph, list[rdflib.URIRef]]:
    g = rdflib.Graph().parse(path, format="turtle")
    manifest = next(g.subjects(RDF.type, MF.Manifest))
    return g, list(Collection(g, g.value(manifest, MF.entries)))


def _local(iri: rdflib.term.Node) -> str:
    return str(iri).rsplit("#", 1)[-1]


def _statuses(names) -> frozenset[str]:
    return frozenset(re.sub(r"^StatusCode", "", _local(n)) for n in names)


def rdf_tests() -> list[ProtocolTest]:
    """The ht:/cnt: requests of protocol/manifest.ttl."""
    g, entries = _entries(RDF_MANIFEST)
    tests = []
    for entry in entries:
        graphs = [(Path(url2pathname(urlparse(str(g.value(d, UT.graph))).path)), str(g.value(d, RDFS.label)))
                  for d in g.objects(entry, UT.graphData)]
        requests = []
        for node in Collection(g, g.value(g.value(entry, MF.action), HT.requests)):
            headers = {}
            if (hnode := g.value(node, HT.headers)) is not None:
                headers = {str(g.value(h, HT.fieldName)).lower(): str(g.value(h, HT.fieldValue))
                           for h in Collection(g, hnode)}
            body = None
            if (bnode := g.value(node, HT.body)) is not None:
                body = str(g.value(bnode, CNT.chars)).encode(str(g.value(bnode, CNT.characterEncoding) or "UTF-8"))
            resp = g.value(node, HT.resp)
            fmt, boolean = g.value(resp, MF.expectedFormat), g.value(resp, MF.expectedBoolean)
            requests.append(Request(str(g.value(node, HT.methodName)), str(g.value(node, HT.absolutePath)), headers,
                                    body, _statuses(g.objects(resp, MF.expectedStatus)),
                                    None if fmt is None else str(fmt), None if boolean is None else boolean.toPython()))
        tests.append(ProtocolTest("rdf:" + _local(entry), str(g.value(entry, MF.name)), requests, graphs))
    return tests


def _indented(block: str) -> list[str]:
    """The lines of a prose block that belong to the HTTP message (indented by four spaces)."""
    lines = block.split("\n")
    out = []
    for line in lines:
        if line.startswith("    ") or not line.strip():
            out.append(line[4:])
        elif out:  # prose such as "followed by" ends the message
            break
    while out and not out[-1].strip():
        out.pop()
    while out and not out[0].strip():
        out.pop(0)
    return out


def _text_request(block: str) -> tuple[str, str, dict[str, str], bytes | None]:
    lines = _indented(block)
    method, path, _version = lines[0].split()
    headers, i = {}, 1
    while i < len(lines) and lines[i].strip():
        name, value = lines[i].split(":", 1)
        headers[name.strip().lower()] = value.strip()
        i += 1
    headers.pop("host", None)
    headers.pop("content-length", None)  # recomputed from the body actually sent
    text = "\n".join(lines[i + 1:]).rstrip()
    charset = re.search(r"charset=([\w-]+)", headers.get("content-type", ""))
    body = text.encode(charset.group(1) if charset else "utf-8") if text else None
    return method, path, headers, body


def _text_response(block: str) -> tuple[frozenset[str], str | None, bool | None]:
    lines = [line.strip() for line in _indented(block) if line.strip()]
    statuses = frozenset(re.findall(r"\b([2-5]xx)\b", lines[0]))
    ctype = next((line for line in lines if line.lower().startswith("content-type:")), "")
    answers = [line for line in lines if line in ("true", "false")]
    fmt = ("boolean" if "boolean" in ctype or answers else "tabular" if "tabular" in ctype
           else "RDF" if "RDF results" in ctype else None)
    return statuses, fmt, (answers[0] == "true") if answers else None


def text_tests() -> list[ProtocolTest]:
    """The raw HTTP requests written in the rdfs:comment of the 2026-03 textual manifest."""
    g, entries = _entries(TEXT_MANIFEST)
    tests = []
    for entry in entries:
        parts = re.split(r"^#### (Request|Response)[ \t]*$", str(g.value(entry, RDFS.comment)), flags=re.M)
        pairs = list(zip(parts[1::2], parts[2::2], strict=True))
        requests = []
        for (kind_a, req), (kind_b, resp) in zip(pairs[::2], pairs[1::2], strict=True):
            assert (kind_a, kind_b) == ("Request", "Response"), entry
            requests.append(Request(*_text_request(req), *_text_response(resp)))
        tests.append(ProtocolTest("text:" + _local(entry), str(g.value(entry, MF.name)), requests))
    return tests


def sd_tests() -> list[str]:
    _g, entries = _entries(SD_MANIFEST)
    return ["sd:" + _local(e) for e in entries]


def operation(req: Request) -> str:
    """'query', 'update' or 'none': which SPARQL operation a request asks for, from its parameters,
    its media type, or (when the media type is wrong or missing) by parsing the body."""
    if req.media == "application/sparql-update":
        return "update"
    if req.media == "application/sparql-query":
        return "query"
    params = parse_qs(urlsplit(req.path).query, keep_blank_values=True)
    body = (req.body or b"").decode("utf-8", "replace")
    if req.media == FORM or re.match(r"^[\w-]+=", body):
        for name, values in parse_qs(body, keep_blank_values=True).items():
            params.setdefault(name, []).extend(values)
        body = ""
    if {"update", "using-graph-uri", "using-named-graph-uri"} & set(params):
        return "update"
    if "query" in params:
        return "query"
    if body.strip():
        for parse, op in ((parseQuery, "query"), (parseUpdate, "update")):
            try:
                parse(body)
                return op
            except Exception:  # rdflib raises pyparsing errors of several kinds
                continue
    return "none"


def collect() -> list[ProtocolTest]:
    return rdf_tests() + text_tests()


# --- the service -----------------------------------------------------------------------------------

@contextmanager
def running_service(data_dir: Path, graphs: list[tuple[Path, str]]) -> Iterator[int]:
    """The real service on a free loopback port over the knowledge graphs plus `graphs`; yields the port."""
    snapshot = data_dir / "snapshot-with-protocol-graphs"
    store = ox.Store(str(snapshot))
    for path, graph in resources.knowledge_files() + graphs:
        store.bulk_load(path=str(path), format=ox.RdfFormat.from_extension(path.suffix.lstrip(".")),
                        to_graph=ox.NamedNode(graph))
    store.flush()
    del store
    port = free_port()
    pool = QueryPool(str(snapshot), workers=2, timeout=10.0)
    config = Config(port=port, data_dir=data_dir, workers=2, token=None, cors_origins=[])
    app = create_app(config, pool, Store(oxstore=ox.Store.read_only(str(snapshot))))
    try:
        with serving(app, port, threads=4):
            yield port
    finally:
        pool.close()


@dataclass
class Reply:
    status: int
    media: str
    body: bytes


def send(port: int, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Reply:
    """One request with exactly the manifest's headers (http.client adds Host and Content-Length only)."""
    if path.startswith("/sparql/"):
        path = ENDPOINT + path[len("/sparql/"):]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        media = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        return Reply(resp.status, media, data)
    finally:
        conn.close()


def ask(port: int, query: str) -> bool | None:
    reply = send(port, "GET", ENDPOINT + "?" + urlencode({"query": query}), {"Accept": "application/sparql-results+json"},
                 None)
    return json.loads(reply.body)["boolean"] if reply.status == 200 else None


# --- checking ----------------------------------------------------------------------------------------

def check(req: Request, reply: Reply) -> str | None:
    """None when the reply is what the manifest expects, else what is wrong."""
    got = f"{reply.status // 100}xx"
    if got not in req.statuses:
        return f"status {reply.status}, expected {'/'.join(sorted(req.statuses))}: {reply.body[:160]!r}"
    if req.fmt == "RDF":
        if reply.media not in RDF_MEDIA:
            return f"RDF expected, got {reply.media or 'no Content-Type'}"
        try:
            rdflib.Graph().parse(data=reply.body, format=RDF_MEDIA[reply.media])
        except Exception as exc:  # any parser error is a failure
            return f"the {reply.media} body does not parse: {exc}"
    elif req.fmt in ("boolean", "tabular"):
        allowed = BOOLEAN_MEDIA if req.fmt == "boolean" else RESULT_MEDIA
        if reply.media not in allowed:
            return f"{req.fmt} results expected, got {reply.media or 'no Content-Type'}"
        try:
            result = Result.parse(io.BytesIO(reply.body), format=allowed[reply.media])
        except Exception as exc:
            return f"the {reply.media} body does not parse as SPARQL results: {exc}"
        want_type = "ASK" if req.fmt == "boolean" else "SELECT"
        if result.type != want_type:
            return f"{want_type} results expected, got {result.type}"
        if req.boolean is not None and result.askAnswer != req.boolean:
            return f"ASK answered {result.askAnswer}, expected {req.boolean}"
    return None


SENTINELS = [f"ASK {{ GRAPH <{GRAPH_CODESET}> {{ ?s ?p ?o }} }}",
             "ASK { GRAPH <http://kasei.us/2009/09/sparql/data/data1.rdf> { ?s ?p ?o } }"]


def run(test: ProtocolTest, port: int) -> Outcome:
    if test.kind != "update":
        statuses = []
        for i, req in enumerate(test.requests):
            reply = send(port, req.method, req.path, req.headers, req.body)
            if problem := check(req, reply):
                return Outcome("fail", f"request {i + 1}: {problem}")
            statuses.append(f"{reply.status} {reply.media}".strip())
        return Outcome("pass", "as the manifest expects: " + ", ".join(statuses))
    # An update that the manifest expects to succeed: the read-only endpoint must refuse it.
    for i, req in enumerate(test.requests):
        reply = send(port, req.method, req.path, req.headers, req.body)
        if operation(req) == "update":
            if reply.status != 400 or b"read-only" not in reply.body:
                return Outcome("fail", f"request {i + 1}: the update was not refused as read-only: "
                                       f"{reply.status} {reply.body[:160]!r}")
            continue
        if reply.status != 200:
            return Outcome("fail", f"request {i + 1}: follow-up query got {reply.status} {reply.body[:160]!r}")
        if req.boolean is not None:
            flipped = Request(req.method, req.path, req.headers, req.body, req.statuses, req.fmt, not req.boolean)
            if problem := check(flipped, reply):
                return Outcome("fail", f"request {i + 1}: the refused update seems to have been applied: {problem}")
    if not all(ask(port, q) for q in SENTINELS):
        return Outcome("fail", "data is missing after the refused update")
    return Outcome("n/a", "update refused by design (400, read-only); follow-up query shows nothing was written")


def run_sd(key: str, port: int) -> Outcome:
    if key in SD_NOT_RUN:
        return Outcome("n/a", SD_NOT_RUN[key])
    reply = send(port, "GET", ENDPOINT, {"Accept": "text/turtle, application/rdf+xml;q=0.8"}, None)
    if reply.status != 200 or reply.media not in RDF_MEDIA:
        return Outcome("fail", f"GET {ENDPOINT} gave {reply.status} {reply.media}")
    try:
        g = rdflib.Graph().parse(data=reply.body, format=RDF_MEDIA[reply.media])
    except Exception as exc:
        return Outcome("fail", f"the description does not parse: {exc}")
    if key == "sd:returns-rdf":
        return Outcome("pass", f"{len(g)} triples of {reply.media}") if len(g) else Outcome("fail", "empty graph")
    endpoint = rdflib.URIRef(f"http://127.0.0.1:{port}{ENDPOINT}")
    services = [s for s in g.subjects(SD.endpoint, endpoint) if (s, RDF.type, SD.Service) in g]
    return Outcome("pass", "sd:Service with sd:endpoint <.../sparql>") if services else \
        Outcome("fail", f"no sd:Service with sd:endpoint {endpoint}")


def run_all(port: int, tests: list[ProtocolTest]) -> dict[str, Outcome]:
    outcomes = {t.key: run(t, port) for t in tests}
    outcomes.update({key: run_sd(key, port) for key in sd_tests()})
    return outcomes


def summary(outcomes: dict[str, Outcome]) -> tuple[dict[str, Counter], str]:
    counts: dict[str, Counter] = {p: Counter() for p in TOTAL}
    for key, outcome in outcomes.items():
        counts[key.split(":")[0]][outcome.status] += 1
    labels = {"rdf": "protocol manifest", "text": "textual requests", "sd": "service description"}
    parts = [f"{labels[p]} {c['pass']}/{sum(c.values())} pass, {c['fail']} fail, {c['n/a']} not applicable"
             for p, c in counts.items()]
    return counts, "W3C SPARQL 1.1 Protocol on /sparql: " + "; ".join(parts)


# --- pytest ------------------------------------------------------------------------------------------

HAVE_CORPUS = RDF_MANIFEST.is_file() and TEXT_MANIFEST.is_file() and SD_MANIFEST.is_file()
# Outside CI a checkout without ../shared skips the suite; in CI (CI set) a missing corpus fails it.
pytestmark = pytest.mark.skipif(not HAVE_CORPUS and not os.environ.get("CI"),
                                reason=f"W3C SPARQL protocol corpus not found at {CORPUS}")
TESTS = collect() if HAVE_CORPUS else []


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    assert HAVE_CORPUS, f"W3C SPARQL protocol corpus not found at {CORPUS}"
    graphs = sorted({g for t in TESTS for g in t.graphs})
    with running_service(tmp_path_factory.mktemp("protocol-data"), graphs) as port:
        return run_all(port, TESTS)


def _param(test: ProtocolTest):
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[test.key])] if test.key in KNOWN_FAILURES else []
    return pytest.param(test.key, test.kind, id=test.key, marks=marks)


@pytest.mark.parametrize(("key", "kind"), [_param(t) for t in TESTS])
def test_protocol_entry(outcomes, key: str, kind: str) -> None:
    outcome = outcomes[key]
    assert outcome.status == ("n/a" if kind == "update" else "pass"), outcome.detail


def test_service_description_entries(outcomes) -> None:
    for key in sd_tests():
        assert outcomes[key].status == ("n/a" if key in SD_NOT_RUN else "pass"), (key, outcomes[key].detail)


def test_classification() -> None:
    """The data-driven classification agrees across the two manifests and with the corpus README's counts."""
    assert HAVE_CORPUS, f"W3C SPARQL protocol corpus not found at {CORPUS}"
    kinds = {t.key: t.kind for t in TESTS}
    for key, kind in kinds.items():
        if key.startswith("rdf:"):
            assert kinds["text:" + key[4:]] == kind, key
    assert Counter(k for key, k in kinds.items() if key.startswith("rdf:")) == {"query": 20, "bad-update": 7,
                                                                              "update": 7}
    assert set(KNOWN_FAILURES) <= set(kinds)
    graphs = {iri for t in TESTS for _p, iri in t.graphs}
    assert graphs == {f"http://kasei.us/2009/09/sparql/data/data{i}.rdf" for i in (1, 2, 3)}


def test_pass_count(outcomes, capsys) -> None:
    counts, line = summary(outcomes)
    with capsys.disabled():
        print("\n" + line)
    failing = {k for k, o in outcomes.items() if o.status == "fail"}
    assert failing == set(KNOWN_FAILURES), {k: outcomes[k].detail for k in failing}
    for part, total in TOTAL.items():
        assert sum(counts[part].values()) == total, part
        assert counts[part]["pass"] >= PASSED[part], (part, counts[part])
        assert counts[part]["pass"] == PASSED[part], f"{part}: more passes than recorded; raise PASSED"
        assert counts[part]["n/a"] == NOT_APPLICABLE[part], part


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        tests = collect()
        with running_service(Path(tmp), sorted({g for t in tests for g in t.graphs})) as port:
            results = run_all(port, tests)
    kinds = {t.key: t.kind for t in tests}
    for key, outcome in results.items():
        print(f"{key:42} {kinds.get(key, 'sd'):10} {outcome.status:5} {outcome.detail}")
    print(summary(results)[1])
