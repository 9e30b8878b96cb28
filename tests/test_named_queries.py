"""The reference named queries, their typed (list and vocabulary) parameters, `m99kg query` and GET /queries.

Every expectation is computed here, independently of the query under test: from the ICD-10-CM
character table (4th character = mechanism, 5th = region) and from the Turtle files read with
rdflib and walked in Python (no SPARQL), so a wrong query and a wrong fact cannot agree by accident.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import RDF, SKOS

from server.cli import main as cli_main
from server.namedqueries import (
    MAX_LIST_ITEMS,
    ParameterError,
    QueryDefinitionError,
    load_queries,
    param_text,
    parse_query_file,
    vocabularies,
)

ROOT = Path(__file__).resolve().parent.parent
M99 = rdflib.Namespace("https://w3id.org/m99kg/vocab#")
OWL_DEPRECATED = rdflib.URIRef("http://www.w3.org/2002/07/owl#deprecated")
REGION = "https://w3id.org/m99kg/id/region/"
M99KG = shutil.which("m99kg") or str(Path(sys.executable).parent / "m99kg")
NEW = ("codes-by-region", "codes-by-mechanism", "codes-by-site", "manipulation-level", "billable-codes",
       "procedures-by-family", "diagnoses-for-procedure", "regions")


# --- independent facts ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kb() -> rdflib.Graph:
    """The facts the expectations come from: facets, terms, procedures, pairings and the generated M99 codes."""
    g = rdflib.Graph()
    for name in ("facets.ttl", "terms.ttl", "procedures.ttl", "pairings.ttl", "generated/m99-codes.ttl"):
        g.parse(ROOT / "ontology" / name, format="turtle")
    return g


@pytest.fixture(scope="module")
def queries():
    return load_queries()


@pytest.fixture(scope="module")
def run(store, queries):
    def run(name: str, **params: str) -> list[dict[str, str]]:
        return [{k: v.value for k, v in row.items()} for row in store.select(queries[name].bind(params))]
    return run


def notation(g: rdflib.Graph, node) -> str:
    return str(g.value(node, SKOS.notation))


def regions(kb) -> dict[str, rdflib.URIRef]:
    return {str(kb.value(r, M99.claimValue)): r for r in kb.subjects(RDF.type, M99.Region)}


def m99_codes(kb) -> dict[str, rdflib.URIRef]:
    """Every code of the generated M99 file (headers included), by notation."""
    return {notation(kb, c): c for c in kb.subjects(RDF.type, SKOS.Concept) if notation(kb, c).startswith("M99")}


# --- the query files --------------------------------------------------------------------------

def test_every_new_query_has_a_full_header(queries):
    for name in NEW:
        q = queries[name]
        assert len(q.summary) > 60 and "billing analyst" in q.summary, name
        assert q.tags, name
        assert q.path.name == f"{name}.rq"


def test_code_card_queries_still_bind(queries):
    cards = [q for q in queries.values() if "code-card" in q.tags]
    assert len(cards) >= 11
    for q in cards:
        text = q.bind({"code": "M99.04"} if q.params else {})
        assert "?_code" not in text


# --- codes-by-region --------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["head", "cervical", "thoracic", "lumbar", "sacral", "pelvic", "lower-extremity",
                                   "upper-extremity", "rib-cage", "abdomen"])
def test_codes_by_region_follows_the_character_table(run, kb, token):
    region = regions(kb)[token]
    fifth = str(kb.value(region, M99.fifthCharacter))
    mechanism_of = {str(kb.value(m, M99.fourthCharacter)): m for m in kb.subjects(RDF.type, M99.Mechanism)}
    rows = run("codes-by-region", region=token)
    # M99.{4th}{5th}: nine subcategories carry a region (M99.9 has no fifth character)
    assert [r["notation"] for r in rows] == [f"M99.{m}{fifth}" for m in range(9)]
    for r in rows:
        mechanism = mechanism_of[r["notation"][4]]
        assert r["billable"] == "true"
        assert r["mechanism"] == str(mechanism)
        assert r.get("site") == (str(kb.value(mechanism, M99.site)) if kb.value(mechanism, M99.site) else None)
        assert r["title"] == str(kb.value(m99_codes(kb)[r["notation"]], SKOS.prefLabel))


def test_codes_by_region_takes_a_token_a_prefixed_name_or_the_iri(run):
    by_token = run("codes-by-region", region="Lumbar")
    assert by_token == run("codes-by-region", region="region:lumbar") == run("codes-by-region", region=REGION + "lumbar")
    assert "M99.03" in {r["notation"] for r in by_token}


# --- codes-by-mechanism, codes-by-site --------------------------------------------------------

def test_codes_by_mechanism_for_every_mechanism(run, kb):
    codes = m99_codes(kb)
    for mechanism in kb.subjects(RDF.type, M99.Mechanism):
        token = str(mechanism).rsplit("/", 1)[1]
        direct = {n for n, c in codes.items() if kb.value(c, M99.mechanism) == mechanism}
        via = {n for n, c in codes.items()
               if kb.value(c, M99.mechanism) is not None  # None is a wildcard in an rdflib triple test
               and (kb.value(c, M99.mechanism), M99.hasComponent, mechanism) in kb}
        rows = run("codes-by-mechanism", mechanism=token)
        assert {r["notation"] for r in rows if r["match"] == "mechanism"} == direct, token
        assert {r["notation"] for r in rows if r["match"] == "component"} == via, token
        for r in rows:
            assert r["billable"] == str(kb.value(codes[r["notation"]], M99.billable)).lower()


def test_codes_by_mechanism_counts(run):
    rows = run("codes-by-mechanism", mechanism="segmental-dysfunction")
    assert [r["notation"] for r in rows] == ["M99.0"] + [f"M99.0{i}" for i in range(10)]
    assert rows[0]["billable"] == "false"
    osseous = {r["notation"]: r["match"] for r in run("codes-by-mechanism", mechanism="osseous")}
    assert len(osseous) == 22 and osseous["M99.33"] == "mechanism" and osseous["M99.63"] == "component"
    assert [r["notation"] for r in run("codes-by-mechanism", mechanism="unspecified")] == ["M99.9"]


@pytest.mark.parametrize(("site", "subcategories"), [("neural-canal", "2345"), ("foramina", "67"),
                                                     ("intervertebral-foramina", "67")])
def test_codes_by_site(run, kb, site, subcategories):
    rows = run("codes-by-site", site=site)
    expected = {n for n, c in m99_codes(kb).items()
                if str(kb.value(c, M99.anatomicSite) or "").endswith(("/" + site, "/intervertebral-" + site))}
    assert {r["notation"] for r in rows} == expected
    assert expected == {f"M99.{s}{r}" for s in subcategories for r in ["", *map(str, range(10))]}


# --- billable-codes ---------------------------------------------------------------------------

def test_billable_codes_under_headers(run, kb):
    codes = m99_codes(kb)
    billable = {n for n, c in codes.items() if kb.value(c, M99.billable).toPython() is True}
    assert {r["notation"] for r in run("billable-codes", code="M99")} == billable
    assert len(billable) == 91
    assert [r["notation"] for r in run("billable-codes", code="M99.4")] == [f"M99.4{i}" for i in range(10)]
    assert [r["notation"] for r in run("billable-codes", code="M999")] == ["M99.9"]


# --- procedures-by-family ---------------------------------------------------------------------

def test_procedures_by_family(run, kb):
    everything = {notation(kb, p) for p in kb.subjects(RDF.type, M99.ProcedureCode)}
    assert {r["notation"] for r in run("procedures-by-family")} == everything
    for family in kb.subjects(RDF.type, M99.ProcedureFamily):
        members = {notation(kb, p) for p in kb.subjects(M99.procedureFamily, family)}
        rows = {r["notation"]: r for r in run("procedures-by-family", family=str(kb.value(family, SKOS.notation)))}
        assert set(rows) == members, family
        for code, r in rows.items():
            p = rdflib.URIRef("http://purl.bioontology.org/ontology/CPT/" + code)
            assert r.get("minRegions") == (str(kb.value(p, M99.minRegions)) if kb.value(p, M99.minRegions) else None)
            assert r["deprecated"] == ("true" if kb.value(p, OWL_DEPRECATED) else "false")
            assert set(r.get("requiresPrimary", "").split()) == {notation(kb, x) for x in kb.objects(p, M99.requiresPrimary)}


# --- diagnoses-for-procedure ------------------------------------------------------------------

def expected_diagnoses(kb, cpt: str, strength: str | None = None) -> set[tuple[str, str]]:
    """(code, pairing) for every billable M99 code each pairing of the procedure applies to (pairings.ttl rules)."""
    codes = m99_codes(kb)
    procedure = rdflib.URIRef("http://purl.bioontology.org/ontology/CPT/" + cpt)
    out = set()
    for pairing in kb.subjects(M99.procedure, procedure):
        if strength and not str(kb.value(pairing, M99.strength)).endswith("/" + strength):
            continue
        dx = kb.value(pairing, M99.diagnosis)
        limit = set(kb.objects(pairing, M99.forRegion))
        for n, c in codes.items():
            if kb.value(c, M99.billable).toPython() is not True:
                continue
            if c != dx and (c, SKOS.broader, dx) not in kb:
                continue
            if limit and kb.value(c, M99.region) not in limit:
                continue
            out.add((n, str(pairing)))
    return out


@pytest.mark.parametrize("cpt", ["98940", "98941", "98943", "98925", "97140", "72100", "99213", "62323"])
def test_diagnoses_for_procedure(run, kb, cpt):
    got = {(r["notation"], r["pairing"]) for r in run("diagnoses-for-procedure", procedure=cpt)}
    assert got == expected_diagnoses(kb, cpt)
    assert got or cpt == "99213"


def test_diagnoses_for_procedure_by_strength(run, kb):
    for strength in ("typical", "conditional", "caution"):
        got = {(r["notation"], r["pairing"]) for r in run("diagnoses-for-procedure", procedure="98940", strength=strength)}
        assert got == expected_diagnoses(kb, "98940", strength)


# --- manipulation-level -----------------------------------------------------------------------

def expected_levels(kb, tokens: list[str]) -> dict[tuple[str, str], tuple[int, str | None]]:
    """(family, scope) -> (count, fitting code): spinal and extraspinal regions count as themselves, OMT
    regions through m99:omtRegion; the code is the one whose minRegions..maxRegions holds the count."""
    chosen = {regions(kb)[t] for t in tokens}
    out = {}
    procedures = [p for p in kb.subjects(M99.regionScope, None)]
    for family, scope in {(kb.value(p, M99.procedureFamily), kb.value(p, M99.regionScope)) for p in procedures}:
        units = {r for r in chosen if (r, RDF.type, scope) in kb}
        units |= {kb.value(r, M99.omtRegion) for r in chosen if (kb.value(r, M99.omtRegion), RDF.type, scope) in kb}
        n = len(units)
        fits = [notation(kb, p) for p in procedures
                if kb.value(p, M99.procedureFamily) == family and kb.value(p, M99.regionScope) == scope
                and kb.value(p, M99.minRegions).toPython() <= n <= kb.value(p, M99.maxRegions).toPython()]
        assert len(fits) <= 1
        out[(str(kb.value(family, SKOS.notation)), str(scope))] = (n, fits[0] if fits else None)
    return out


SPINAL = ["cervical", "thoracic", "lumbar", "sacral", "pelvic"]
ALL = ["head", *SPINAL, "lower-extremity", "upper-extremity", "rib-cage", "abdomen"]
SETS = [["cervical"], ["cervical", "thoracic", "lumbar"], SPINAL, ["head", "lower-extremity"], ALL,
        ["upper-extremity", "lower-extremity"], ["lumbar", "lumbar"], ["sacral", "pelvic", "rib-cage"],
        ALL[:7], ALL[:8], ["abdomen"]]


@pytest.mark.parametrize("tokens", SETS, ids=lambda t: "+".join(t))
def test_manipulation_level(run, kb, tokens):
    rows = run("manipulation-level", regions=",".join(tokens))
    got = {(r["familyNotation"], r["regionScope"]): (int(r["count"]), r.get("notation")) for r in rows}
    assert got == expected_levels(kb, tokens)
    for r in rows:
        assert len([x for x in r.get("counted", "").split(", ") if x]) == int(r["count"])


def level(rows, family, scope_suffix):
    return next(r.get("notation") for r in rows if r["familyNotation"] == family and r["regionScope"].endswith(scope_suffix))


def test_manipulation_level_known_answers(run):
    assert level(run("manipulation-level", regions="cervical"), "CMT", "#SpinalRegion") == "98940"
    assert level(run("manipulation-level", regions="cervical,thoracic,lumbar"), "CMT", "#SpinalRegion") == "98941"
    five = run("manipulation-level", regions=",".join(SPINAL))
    assert level(five, "CMT", "#SpinalRegion") == "98942" and level(five, "OMT", "OMTBodyRegion") == "98927"
    ext = run("manipulation-level", regions="head,lower-extremity")
    assert level(ext, "CMT", "#ExtraspinalRegion") == "98943" and level(ext, "CMT", "#SpinalRegion") is None
    assert level(ext, "OMT", "OMTBodyRegion") == "98925"  # two body regions: 1-2
    assert level(run("manipulation-level", regions=",".join(ALL)), "OMT", "OMTBodyRegion") == "98929"
    counted = next(r["counted"] for r in ext if r["familyNotation"] == "OMT")
    assert counted == "head, lower extremities"


# --- regions ----------------------------------------------------------------------------------

def test_regions_reference(run, kb):
    rows = run("regions")
    assert [r["token"] for r in rows] == ALL
    for r in rows:
        region = regions(kb)[r["token"]]
        spinal = (region, RDF.type, M99.SpinalRegion) in kb
        assert r["cmtKind"] == ("spinal" if spinal else "extraspinal")
        assert r["cmtCodes"] == ("98940 98941 98942" if spinal else "98943")
        assert r["omtCodes"] == "98925 98926 98927 98928 98929"
        assert r.get("medicareArea") == (str(kb.value(region, M99.medicareArea)) if spinal else None)
        assert r["codes"] == str(sum(1 for c in kb.subjects(M99.region, region)))


# --- parameter types --------------------------------------------------------------------------

def test_vocabulary_tokens_come_from_the_turtle(kb):
    assert set(vocabularies()["region"].tokens) == set(regions(kb))
    assert len(vocabularies()["mechanism"].tokens) == len(set(kb.subjects(RDF.type, M99.Mechanism)))


def test_list_parameters_are_typed_terms_joined_for_an_in_list():
    text = param_text("region-list", " cervical , region:lumbar," + REGION + "lumbar,SACRAL")
    assert text == ", ".join(f"<{REGION}{r}>" for r in ("cervical", "lumbar", "sacral"))
    assert param_text("token-list", "a,b-c") == '"a", "b-c"'
    assert param_text("icd10cm-list", "M9904,M99.05").count("<http://purl.bioontology.org/ontology/ICD10CM/") == 2


@pytest.mark.parametrize(("value", "message"), [
    ("cervical,lumbr", "item 2: 'lumbr' is not a region"),
    ("cervical,,lumbar", "item 2 is empty"),
    (" , ", "the list is empty"),
    ("cervical> } DROP ALL #", "is not a region"),
    ('cervical" || true', "is not a region"),
    (",".join(["cervical"] * (MAX_LIST_ITEMS + 1)), "at most"),
])
def test_bad_list_items_are_parameter_errors(queries, value, message):
    with pytest.raises(ParameterError, match="parameter regions of manipulation-level") as err:
        queries["manipulation-level"].bind({"regions": value})
    assert message in str(err.value)


def test_token_items_are_checked_against_a_strict_pattern():
    with pytest.raises(ValueError, match=r"item 2: .* is not a token"):
        param_text("token-list", 'ok,"bad"')
    with pytest.raises(ValueError, match="not a mechanism; expected one of segmental-dysfunction"):
        param_text("mechanism", "stenosis")


def test_header_types_are_checked(tmp_path):
    bad = tmp_path / "x.rq"
    bad.write_text("# name: x\n# summary: s\n# param: r nosuch-list d\nSELECT * WHERE { ?s ?p ?_r }\n")
    with pytest.raises(QueryDefinitionError, match="bad param line"):
        parse_query_file(bad)
    good = tmp_path / "y.rq"
    good.write_text("# name: y\n# summary: s\n# param: r region-list d\nSELECT * WHERE { ?s ?p ?o FILTER(?o IN (?_r)) }\n")
    assert parse_query_file(good).params[0].type == "region-list"


# --- the command ------------------------------------------------------------------------------

@pytest.fixture
def cli(store, monkeypatch, capsys):
    """`m99kg query ...` in process, over the session store (the command itself loads a fresh one)."""
    monkeypatch.setattr("server.store.knowledge_store", lambda **_kw: store)

    def call(*args: str) -> tuple[int, str, str]:
        status = cli_main(["query", *args])
        out, err = capsys.readouterr()
        return status, out, err
    return call


def test_cli_csv_and_json_agree_with_the_query(cli, run):
    expected = run("codes-by-region", region="sacral")
    status, out, _ = cli("codes-by-region", "--param", "region=sacral", "--format", "csv")
    assert status == 0
    table = list(csv.reader(io.StringIO(out)))
    assert table[0][:3] == ["code", "notation", "title"]
    assert [row[1] for row in table[1:]] == [r["notation"] for r in expected]
    status, out, _ = cli("manipulation-level", "-p", "regions=cervical,thoracic", "-p", "regions=head", "-f", "json")
    assert status == 0
    doc = json.loads(out)
    assert "count" in doc["head"]["vars"]
    levels = {b["familyNotation"]["value"]: b for b in doc["results"]["bindings"] if "notation" in b}
    assert levels["OMT"]["notation"]["value"] == "98926" and levels["OMT"]["count"]["datatype"].endswith("#integer")


def test_cli_table_is_aligned_and_shortened(cli):
    status, out, _ = cli("codes-by-region", "--param", "region=lumbar")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["code", "notation", "title", "billable"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].startswith("icd:M99.03") and "mech:segmental-dysfunction" in lines[2]
    assert lines[-1] == "(9 rows)"
    column = lines[0].index("notation")
    assert all(line[column:].startswith("M99.") for line in lines[2:-1])


def test_cli_list_names_every_query(cli, queries):
    status, out, _ = cli("--list")
    assert status == 0
    for name in queries:
        assert f"\n{name}" in "\n" + out
    assert "--param regions=… (region-list)" in out


@pytest.mark.parametrize(("args", "message"), [
    (["nosuch"], "no query named 'nosuch'"),
    (["codes-by-region"], "needs the parameter region"),
    (["codes-by-region", "-p", "region=lumbr"], "'lumbr' is not a region"),
    (["codes-by-region", "-p", "regionlumbar"], "expected NAME=VALUE"),
    (["codes-by-region", "-p", "region=lumbar", "-p", "colour=red"], "has no parameter colour"),
    (["manipulation-level", "-p", "regions=cervical,,head"], "item 2 is empty"),
    ([], "name a query"),
])
def test_cli_bad_input_exits_2_without_a_traceback(args, message):
    r = subprocess.run([M99KG, "query", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr and r.stdout == ""


# --- the service ------------------------------------------------------------------------------

def test_service_lists_and_checks_the_new_queries(store):
    from server.web.app import create_app
    from server.web.config import Config

    client = create_app(Config(token=None), None, store).test_client()  # no pool: nothing here runs a query
    listed = {q["name"]: q for q in client.get("/queries").get_json()}
    assert set(NEW) <= set(listed)
    assert listed["manipulation-level"]["parameters"] == [
        {"name": "regions", "type": "region-list", "optional": False,
         "description": listed["manipulation-level"]["parameters"][0]["description"]}]
    assert listed["procedures-by-family"]["parameters"][0]["optional"] is True
    bad = client.get("/queries/manipulation-level?regions=cervical,lumbr")
    assert bad.status_code == 400 and "'lumbr' is not a region" in bad.get_json()["error"]


def test_every_list_item_combination_of_two_regions_is_accepted(queries):
    for a, b in itertools.combinations(ALL, 2):
        assert "?_regions" not in queries["manipulation-level"].bind({"regions": f"{a},{b}"})


def test_the_query_shape_limits_leave_every_named_query_and_rule_query_well_inside():
    """/sparql refuses text nested past MAX_NESTING or longer than MAX_TOKENS (server/web/sparql_text.py);
    the project's own SPARQL (named queries, and the rules' SHACL-SPARQL, which an analyst may paste)
    must stay far inside, or the limits would refuse real work."""
    import re

    from server.web.sparql_text import MAX_NESTING, MAX_TOKENS, nesting_and_tokens, shape_problem

    texts = [q.text for q in load_queries().values()]
    for path in sorted((ROOT / "shapes").glob("*.ttl")):
        texts += re.findall(r'"""(.*?)"""', path.read_text(encoding="utf-8"), flags=re.S)
    assert len(texts) > 60
    for text in texts:
        assert shape_problem(text) is None
    deepest = max(nesting_and_tokens(t)[0] for t in texts)
    longest = max(nesting_and_tokens(t)[1] for t in texts)
    assert deepest * 4 <= MAX_NESTING and longest * 20 <= MAX_TOKENS, (deepest, longest)
