"""The human pages, driven in a real headless Chromium (Debian's) against the real waitress server.

Without /usr/bin/chromium or the playwright package the browser tests skip locally and FAIL in CI
(env CI set): `make test` installs the browser with .ci/install-browser.
"""

from __future__ import annotations

import csv
import io
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import rdflib

from server.web.app import create_app
from server.web.config import Config
from server.web.serve import build
from tests.httpserve import free_port, serving

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SACRAL_TITLE = "Segmental and somatic dysfunction of sacral region"
TITLE_QUERY = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?code ?title WHERE { ?c skos:notation ?code ; skos:prefLabel ?title . FILTER(?code IN ("M99.04", "M99.03")) }
ORDER BY ?code"""
REGIONS_CONSTRUCT = ("CONSTRUCT { ?r a <https://w3id.org/m99kg/vocab#Region> } "
                     "WHERE { ?r a <https://w3id.org/m99kg/vocab#Region> }")
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def _missing(what: str):
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: `make test` installs it (.ci/install-browser, the test extra)")
    pytest.skip(f"{what} is missing (CI fails here)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    config = Config(port=port, data_dir=tmp_path_factory.mktemp("data"), query_timeout=2.0, row_limit=1000,
                    max_body=200_000, workers=2, token=None, cors_origins=[])
    app, pool = build(config)
    with serving(app, port):
        yield {"base": f"http://127.0.0.1:{port}", "app": app, "pool": pool}
    pool.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _missing(str(CHROMIUM))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Screenshots for a person to look at; M99KG_SCREENSHOTS keeps them in a folder of one's choice."""
    folder = os.environ.get("M99KG_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser, server):
    """A fresh browser tab; afterwards, every request it made must have gone to the service itself."""
    context = browser.new_context(base_url=server["base"], viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    requests: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.requests = requests
    yield tab
    context.close()
    elsewhere = [u for u in requests if not u.startswith(server["base"] + "/")]
    assert not elsewhere, f"pages loaded resources from elsewhere: {elsewhere}"


def fetch(server, path: str, headers: dict | None = None):
    req = urllib.request.Request(server["base"] + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def cells(tab, selector: str = "table.results tbody tr") -> list[list[str]]:
    return [[" ".join(c.split()) for c in row.locator("td").all_inner_texts()] for row in tab.locator(selector).all()]


# --- query page ---------------------------------------------------------------------------------

def test_home_links_every_page(page, shots):
    response = page.goto("/")
    assert response.status == 200
    for href in ("/ui/query", "/ui/codes", "/ui/validate", "/openapi.json"):
        assert page.locator(f"nav a[href='{href}']").count() == 1
    page.screenshot(path=str(shots / "home.png"), full_page=True)
    page.get_by_role("link", name="Query the graph").click()
    page.wait_for_url("**/ui/query")
    assert page.locator("#query").input_value().lstrip().startswith("PREFIX")  # prefilled example


def test_typed_sparql_gives_table_rows(page, shots):
    page.goto("/ui/query")
    page.fill("#query", TITLE_QUERY)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("table.results")
    assert page.locator("table.results thead th").all_inner_texts() == ["code", "title"]
    assert cells(page) == [["M99.03", "Segmental and somatic dysfunction of lumbar region @en"],
                           ["M99.04", SACRAL_TITLE + " @en"]]
    assert page.locator("#query").input_value() == TITLE_QUERY  # the query stays in the editor
    page.screenshot(path=str(shots / "query-select.png"), full_page=True)


def test_named_query_with_parameter(page, server, shots):
    page.goto("/ui/query")
    with page.expect_navigation():
        page.select_option("#name", "pairings-for-code")  # the picker submits itself
    assert "Procedures (CPT) that an M99 code supports" in page.locator("p.summary").inner_text()
    page.get_by_role("textbox", name="code icd10cm").fill("M99.04")
    page.get_by_role("button", name="Run pairings-for-code").click()
    page.wait_for_selector("table.results")
    rows = cells(page)
    status, _h, data = fetch(server, "/queries/pairings-for-code?code=M99.04")
    assert status == 200
    api_rows = json.loads(data)["results"]["bindings"]
    assert len(rows) == len(api_rows) > 3
    headers = page.locator("table.results thead th").all_inner_texts()
    procedures = {r[headers.index("procedureNotation")].split()[0] for r in rows}
    assert procedures == {b["procedureNotation"]["value"] for b in api_rows}
    assert "98940" in procedures
    page.screenshot(path=str(shots / "query-named.png"), full_page=True)

    links = {a.inner_text(): a.get_attribute("href") for a in page.locator(".downloads a").all()}
    assert set(links) == {"SPARQL JSON", "SPARQL XML", "CSV", "TSV"}
    expected = {"SPARQL JSON": "application/sparql-results+json", "SPARQL XML": "application/sparql-results+xml",
                "CSV": "text/csv", "TSV": "text/tab-separated-values"}
    for label, href in links.items():
        status, headers_, body = fetch(server, href)
        assert status == 200 and headers_["Content-Type"].startswith(expected[label]), label
        assert "attachment" in headers_["Content-Disposition"]
        if label == "CSV":
            table = list(csv.reader(io.StringIO(body.decode())))
            assert len(table) == len(api_rows) + 1 and "procedureNotation" in table[0]


def test_construct_shows_turtle_and_graph_downloads(page, server):
    page.goto("/ui/query")
    page.fill("#query", REGIONS_CONSTRUCT)
    page.get_by_role("button", name="Run", exact=True).click()
    text = page.locator("pre.graph").inner_text()
    graph = rdflib.Graph().parse(data=text, format="turtle")
    assert len(graph) == 10  # the ten M99 regions
    links = {a.inner_text(): a.get_attribute("href") for a in page.locator(".downloads a").all()}
    for label, media, fmt in [("Turtle", "text/turtle", "turtle"), ("N-Triples", "application/n-triples", "nt"),
                              ("JSON-LD", "application/ld+json", "json-ld"),
                              ("RDF/XML", "application/rdf+xml", "xml")]:
        status, headers, body = fetch(server, links[label])
        assert status == 200 and headers["Content-Type"] == media, label
        assert len(rdflib.Graph().parse(data=body.decode(), format=fmt)) == 10, label


def test_ask_shows_a_boolean(page):
    page.goto("/ui/query?" + urllib.parse.urlencode({"query": "ASK { ?c ?p ?o }", "run": "1"}))
    assert page.locator("p.boolean").inner_text() == "ASK answers true"


def test_malformed_query_and_timeout_are_readable(page):
    response = page.goto("/ui/query")
    page.fill("#query", "SELECT ?x WHERE { ?x ?y }")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Run", exact=True).click()
    assert nav.value.status == 400
    alert = page.locator("#result .error").inner_text()
    assert "400" in alert and "malformed query" in alert
    page.fill("#query", RUNAWAY)
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Run", exact=True).click()
    assert nav.value.status == 503
    assert "time limit" in page.locator("#result .error").inner_text()
    assert response.status == 200


def test_named_query_bad_parameter_is_readable(page):
    page.goto("/ui/query?name=pairings-for-code&p_code=not+a+code&run=1")
    assert "is not an ICD-10-CM code" in page.locator("p.error").inner_text()


# --- code pages ---------------------------------------------------------------------------------

def test_code_page_and_parent_link(page, shots):
    response = page.goto("/codes/M99.04")
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    assert page.locator("h1").inner_text() == "M99.04 " + SACRAL_TITLE
    assert "billable" in page.locator(".badges").inner_text()
    assert page.locator("#pairings tbody tr").count() > 3
    assert page.locator("#icd9-backward").inner_text().startswith("739.4")
    page.screenshot(path=str(shots / "code.png"), full_page=True)
    page.locator("#parent a").click()
    page.wait_for_url("**/codes/M99.0")
    assert page.locator("h1").inner_text() == "M99.0 Segmental and somatic dysfunction"
    assert page.locator("#children li").count() == 10  # M99.00 ... M99.09


def test_confusable_link_and_jump_box(page):
    page.goto("/codes/M99.04")
    first = page.locator("#confusable tbody tr a.code").first
    target = first.inner_text()
    first.click()
    page.wait_for_url(f"**/codes/{target}")
    assert page.locator("h1 .code").inner_text() == target
    page.fill("#nav-code", "m9904")
    page.press("#nav-code", "Enter")
    page.wait_for_url("**/codes/M99.04")
    assert SACRAL_TITLE in page.locator("h1").inner_text()


def test_unknown_and_malformed_codes(page, shots):
    response = page.goto("/codes/M99.99")
    assert response.status == 404
    assert "M99.99 is not a code of the" in page.locator(".error").inner_text()
    page.screenshot(path=str(shots / "code-404.png"), full_page=True)
    response = page.goto("/ui/codes/not-a-code")
    assert response.status == 400
    assert "is not an ICD-10-CM code" in page.locator(".error").inner_text()


def test_codes_stay_json_for_programs(server):
    status, headers, data = fetch(server, "/codes/M99.04")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(data)["title"] == SACRAL_TITLE
    status, headers, _ = fetch(server, "/codes/M99.04", {"Accept": "*/*"})
    assert headers["Content-Type"] == "application/json" and "Accept" in headers["Vary"]
    status, headers, data = fetch(server, "/codes/M99.04", {"Accept": "text/html,*/*;q=0.8"})
    assert headers["Content-Type"].startswith("text/html") and SACRAL_TITLE.encode() in data
    status, headers, data = fetch(server, "/codes/M99.99", {"Accept": "application/json"})
    assert status == 404 and json.loads(data)["status"] == 404


# --- validation page ----------------------------------------------------------------------------

def _validate(page, text: str | None = None, file: Path | None = None, fmt: str = "auto"):
    page.goto("/ui/validate")
    if text is not None:
        page.fill("#claims", text)
    if file is not None:
        page.set_input_files("#file", str(file))
    page.select_option("#format", fmt)
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Validate").click()
    return nav.value


def test_validate_clean_claim_conforms(page, shots):
    response = _validate(page, (ROOT / "examples" / "clean-medicare-claim.json").read_text())
    assert response.status == 200
    assert page.locator("#verdict").inner_text() == "Every claim conforms"
    assert page.locator(".summary-counts").inner_text().split() == ["claims", "1", "violations", "0", "warnings",
                                                                   "0", "notes", "0"] or "violations\n0" in \
        page.locator(".summary-counts").inner_text()
    page.screenshot(path=str(shots / "validate-clean.png"), full_page=True)


def test_validate_rule_fires(page, shots):
    fires = ROOT / "examples" / "claims" / "diagnosis-header" / "fires.json"
    _validate(page, fires.read_text())
    assert page.locator("#verdict").inner_text() == "Not every claim conforms"
    assert "diagnosis-header" in page.locator("code.rule").all_inner_texts()
    row = page.locator("table.findings tbody tr").first.inner_text()
    assert "Violation" in row and "M99.44" in row
    page.screenshot(path=str(shots / "validate-fires.png"), full_page=True)


def test_validate_malformed_json_names_line_and_column(page, shots):
    response = _validate(page, '{"id": "X",\n "payer": medicare}', fmt="json")
    assert response.status == 400
    assert page.locator("#input-errors").inner_text().count("pasted text:2:11: not valid JSON") == 1
    page.screenshot(path=str(shots / "validate-error.png"), full_page=True)


def test_validate_file_upload(page):
    fires = ROOT / "examples" / "claims" / "stenosis-site" / "fires.json"
    expected = json.loads((fires.parent / "expected.json").read_text())
    _validate(page, file=fires)
    assert "stenosis-site" in page.locator("code.rule").all_inner_texts()
    assert expected["severity"] in page.locator("table.findings").inner_text()


def test_pages_load_only_their_own_resources(page):
    for path in ("/", "/ui/query", "/codes/M99.04", "/ui/validate"):
        page.goto(path)
    assert any(u.endswith("/ui/static/m99kg.css") for u in page.requests)
    assert any(u.endswith("/ui/static/m99kg.js") for u in page.requests)
    # the `page` fixture asserts that every request went to the service


# --- the bearer token (no browser needed: the form field and the header) ------------------------

def test_token_guards_running_and_validating(server):
    store = server["app"].extensions["m99kg.cards"].store
    app = create_app(Config(token="s3cret", data_dir=Path("unused")), server["pool"], store)
    client = app.test_client()
    page_ = client.get("/ui/query")
    assert page_.status_code == 200 and b'name="token"' in page_.data and b'method="post"' in page_.data
    refused = client.get("/ui/query", query_string={"query": "ASK {}", "run": "1"})
    assert refused.status_code == 401 and b"access token" in refused.data
    ran = client.post("/ui/query", data={"query": "ASK {}", "run": "1", "token": "s3cret"})
    assert ran.status_code == 200 and b"ASK answers" in ran.data
    assert b"formaction=\"/ui/download\"" in ran.data  # downloads are form buttons, not links with the token
    wrong = client.post("/ui/validate", data={"claims": "{}", "token": "nope"})
    assert wrong.status_code == 401
    header = client.post("/ui/download", data={"query": "ASK {}", "format": "csv"},
                         headers={"Authorization": "Bearer s3cret"})
    assert header.status_code == 200 and header.data == b"true\n"
    assert client.get("/ui/download", query_string={"query": "ASK {}", "format": "csv"}).status_code == 401
