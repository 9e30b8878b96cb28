"""The analytics queries of queries/ over a loaded sample, against counts the test computes itself.

The sample: generated claims (seeded), validated by the fast engine and loaded with their results.
Each expectation is computed in Python from the claim objects and the per-claim reports, or from
the ontology Turtle read with rdflib and the official code set through simple_icd_10_cm, never
with the SPARQL under test.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest
import rdflib
import simple_icd_10_cm as icd

from server.loading import load_outcomes
from server.namedqueries import load_queries
from server.store import Store, knowledge_store
from server.synth.generator import generate
from server.validation import batch
from server.validation.fast import FastValidator

ROOT = Path(__file__).resolve().parent.parent
M99 = rdflib.Namespace("https://w3id.org/m99kg/vocab#")
SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
COUNT, SEED = 600, 11


@pytest.fixture(scope="module")
def sample():
    """(store with the sample loaded, claim objects by id, reports by id)."""
    store = knowledge_store()
    claims = list(generate(COUNT, SEED))
    reports = {}

    def keep(outcomes):
        for outcome in outcomes:
            for r in outcome.reports:
                reports[r.claim] = r
            yield outcome

    validator = FastValidator(Store(oxstore=store.ox))
    outcomes = batch.validate_units(batch.object_units(claims, "sample", 200), validator=validator, keep_claims=True)
    summary = load_outcomes(keep(outcomes), store.ox)
    assert summary.claims == COUNT
    return store, {c["id"]: c for c in claims}, reports


def _rows(store: Store, name: str, **params: str) -> list[dict[str, str]]:
    sparql = load_queries()[name].bind(params)
    return [{k: v.value for k, v in row.items()} for row in store.select(sparql)]


def test_violations_by_rule(sample):
    store, _claims, reports = sample
    results = Counter((r.rule, r.severity) for rep in reports.values() for r in rep.results)
    claims = defaultdict(set)
    for rep in reports.values():
        for r in rep.results:
            claims[(r.rule, r.severity)].add(rep.claim)
    rows = _rows(store, "violations-by-rule")
    got = {(r["rule"], r["severity"]): (int(r["results"]), int(r["claims"])) for r in rows}
    assert got == {k: (n, len(claims[k])) for k, n in results.items()}
    assert len(got) >= 15  # the generator's faults make many rules fire
    assert all(r.get("name") for r in rows)  # every rule id joins its shape's name


def test_violations_by_rule_date_window(sample):
    store, claims, reports = sample
    since, until = "2025-01-01", "2025-06-30"
    expected = Counter(r.rule for rep in reports.values() for r in rep.results
                       if since <= claims[rep.claim].get("serviceDate", "") <= until)
    rows = _rows(store, "violations-by-rule", since=since, until=until)
    got = Counter()
    for r in rows:
        got[r["rule"]] += int(r["results"])
    assert got == expected and sum(expected.values()) > 0


def test_violations_by_provider(sample):
    store, claims, reports = sample
    per = defaultdict(lambda: [0, 0, 0])
    for rep in reports.values():
        provider = claims[rep.claim].get("provider", "(none)")
        per[provider][0] += 1
        per[provider][1] += not rep.conforms
        per[provider][2] += sum(1 for r in rep.results if r.severity == "Violation")
    rows = _rows(store, "violations-by-provider")
    got = {r["provider"]: [int(r["claims"]), int(r["claimsWithViolation"]), int(r["violations"])] for r in rows}
    assert got == dict(per)
    first = rows[0]
    assert float(first["violationPercent"]) == pytest.approx(
        round(1000 * int(first["claimsWithViolation"]) / int(first["claims"])) / 10)


def test_violations_by_code(sample):
    store, _claims, reports = sample
    expected = Counter()
    for rep in reports.values():
        for r in rep.results:
            for code in set(r.codes):
                expected[code.rstrip("-")] += 1
    rows = _rows(store, "violations-by-code")
    got = {r["notation"]: int(r["results"]) for r in rows}
    assert got == dict(expected)


def test_denial_risk_by_month(sample):
    store, claims, reports = sample
    per = defaultdict(lambda: [0, 0, 0])
    for rep in reports.values():
        month = claims[rep.claim].get("serviceDate", "(no date)")[:7]
        per[month][0] += 1
        per[month][1] += not rep.conforms
        per[month][2] += rep.conforms and any(r.severity == "Warning" for r in rep.results)
    rows = _rows(store, "denial-risk-by-month")
    assert {r["month"]: [int(r["claims"]), int(r["rejected"]), int(r["atRisk"])] for r in rows} == dict(per)
    assert [r["month"] for r in rows] == sorted(per)


def test_violations_by_month_for_one_rule(sample):
    store, claims, reports = sample
    top = Counter(r.rule for rep in reports.values() for r in rep.results).most_common(1)[0][0]
    expected = Counter(claims[rep.claim]["serviceDate"][:7] for rep in reports.values()
                       for r in rep.results if r.rule == top)
    rows = _rows(store, "violations-by-month", rule=top)
    assert {r["month"]: int(r["results"]) for r in rows} == dict(expected)


def _facts():
    g = rdflib.Graph()
    for name in ("facets.ttl", "procedures.ttl"):
        g.parse(ROOT / "ontology" / name)
    return g


def test_cmt_level_vs_regions(sample):
    store, claims, _reports = sample
    g = _facts()
    spinal = {str(g.value(r, M99.claimValue)) for r in g.subjects(rdflib.RDF.type, M99.SpinalRegion)}
    by_char = {}  # the region's character in M99.x? codes, from the facet table
    for r in g.subjects(rdflib.RDF.type, M99.Region):
        char = g.value(r, M99.fifthCharacter)
        if char is not None:
            by_char[str(char)] = str(g.value(r, M99.claimValue))
    ranges = {}
    for p in g.subjects(M99.regionScope, M99.SpinalRegion):
        if "cmt" in str(g.value(p, M99.procedureFamily)):
            ranges[str(g.value(p, SKOS.notation))] = (int(g.value(p, M99.minRegions)), int(g.value(p, M99.maxRegions)))
    assert set(ranges) == {"98940", "98941", "98942"}
    tally = defaultdict(lambda: [0, 0, 0, 0])
    for c in claims.values():
        regions = set()
        for dx in c.get("diagnoses", []):
            code = dx if "." in dx else dx[:3] + "." + dx[3:]
            if code[:5] in ("M99.0", "M99.1") and len(code) == 6 and icd.is_valid_item(code):
                region = by_char.get(code[5])
                if region in spinal:
                    regions.add(region)
        for proc in {line["procedure"] for line in c.get("lines", [])} & set(ranges):
            lo, hi = ranges[proc]
            n = len(regions)
            t = tally[proc]
            t[0] += 1
            t[1 if n < lo else 2 if n <= hi else 3] += 1
    rows = _rows(store, "cmt-level-vs-regions")
    got = {r["procedure"]: [int(r["claims"]), int(r["below"]), int(r["within"]), int(r["above"])] for r in rows}
    assert got == dict(tally)
    assert sum(t[1] + t[3] for t in tally.values()) > 0  # the sample has mis-levelled CMT claims


def test_visits_without_outcome(sample):
    store, claims, _reports = sample
    expected = {c["id"] for c in claims.values() if c.get("visitNumber", 0) > 12
                and not any(f.get("element") == "outcome-measure" for f in c.get("findings", []))}
    rows = _rows(store, "visits-without-outcome")
    assert {r["claimId"] for r in rows} == expected
    assert expected  # the generator writes long courses of care without outcome measures


DISPLACEMENT_RULES = {"m43-5-excludes1-same-region", "m43-5-excludes1", "stenosis-classified-elsewhere"}


def test_displaced_codes_billed(sample):
    """The query reads the pairs the displacement rules stored at load time; this checks them against
    the ontology's m99:Displacement entries read with rdflib (for billable codes: the rules look below
    a family header, not at it), and every pair's relation."""
    store, claims, reports = sample
    g = rdflib.Graph()
    g.parse(ROOT / "ontology" / "displacements.ttl")
    g.parse(ROOT / "ontology" / "facets.ttl")
    g.parse(ROOT / "ontology" / "terms.ttl")
    by_char = {str(g.value(r, M99.fifthCharacter)): r for r in g.subjects(rdflib.RDF.type, M99.Region)
               if g.value(r, M99.fifthCharacter) is not None}
    co_reported = rdflib.URIRef("https://w3id.org/m99kg/id/relation/co-reported")

    def notation(iri) -> str:
        return str(iri).rsplit("/", 1)[-1]

    expected: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for c in claims.values():
        dxs = [d if "." in d else d[:3] + "." + d[3:] for d in c.get("diagnoses", [])]
        for m in dxs:
            # a billable M99 code: M99.xY, or M99.9, which is its own subcategory
            if not (m.startswith("M99.") and icd.is_valid_item(m) and icd.is_leaf(m)):
                continue
            region = by_char.get(m[5]) if len(m) == 6 else None
            for sub in {m[:5], m}:
                for disp in g.subjects(M99.displacedSubcategory, rdflib.URIRef(
                        "http://purl.bioontology.org/ontology/ICD10CM/" + sub)):
                    relation = g.value(disp, M99.relation)
                    if relation == co_reported:
                        continue
                    regions = set(g.objects(disp, M99.forRegion))
                    if regions and region not in regions:
                        continue
                    family = g.value(disp, M99.codeFamily) == rdflib.Literal(True)
                    for by in map(notation, g.objects(disp, M99.displacedBy)):
                        for o in dxs:
                            if not (icd.is_valid_item(o) and icd.is_leaf(o)):
                                continue
                            if o == by or (family and by in icd.get_ancestors(o)):
                                expected[(c["id"], m, o)].add(str(g.value(relation, SKOS.prefLabel)))
    rows = _rows(store, "displaced-codes-billed")
    got = {(r["claimId"], r["m99"], r["other"]) for r in rows}
    assert {k for k in got if icd.is_leaf(k[2])} == set(expected)
    assert expected  # the generator bills displaced pairs
    for r in rows:  # the relation named is the entry's
        if (r["claimId"], r["m99"], r["other"]) in expected:
            assert r["relation"] in expected[(r["claimId"], r["m99"], r["other"])]
    # and exactly the pairs the rules reported: one row per pair, none lost for want of a relation
    reported = set()
    for rep in reports.values():
        for res in rep.results:
            if res.rule in DISPLACEMENT_RULES:
                m99 = [x for x in res.codes if x.startswith("M99")]
                others = [x for x in res.codes if not x.startswith("M99")]
                assert len(m99) == 1 and len(others) == 1, res.codes
                reported.add((rep.claim, m99[0], others[0]))
    assert got == reported


def test_displaced_codes_billed_pairs():
    """Hand-written claims, one per kind of pair: M99.9 is its own subcategory (the family Excludes1
    covers it; the query before session 8 looked only below a subcategory and missed it), a
    same-region Excludes1, a stenosis displaced in its region, and one displaced only in another region."""
    store = knowledge_store()
    base = {"payer": "commercial", "providerType": "chiropractor", "provider": "1234567893",
            "serviceDate": "2026-03-02", "lines": [{"procedure": "98940", "pointers": [1]}]}
    claims = [
        {**base, "id": "UNSPEC", "diagnoses": ["M99.9", "M43.5X6"]},
        {**base, "id": "SAME-REGION", "diagnoses": ["M99.03", "M43.5X6"]},
        {**base, "id": "STENOSIS", "diagnoses": ["M99.33", "M48.062"]},
        {**base, "id": "OTHER-REGION", "diagnoses": ["M99.31", "M48.062"]},
    ]
    validator = FastValidator(Store(oxstore=store.ox))
    load_outcomes(batch.validate_units(batch.object_units(claims, "pairs", 10), validator=validator,
                                       keep_claims=True), store.ox)
    rows = {(r["claimId"], r["m99"], r["other"], r["relation"]) for r in _rows(store, "displaced-codes-billed")}
    assert rows == {("UNSPEC", "M99.9", "M43.5X6", "Excludes1"), ("SAME-REGION", "M99.03", "M43.5X6", "Excludes1"),
                    ("STENOSIS", "M99.33", "M48.062", "displaces")}
    assert _rows(store, "displaced-codes-billed", provider="1234567893") and \
        not _rows(store, "displaced-codes-billed", provider="1999999992")


def test_violations_by_code_severity_and_window(sample):
    """The optional parameters still filter after the queries were reshaped for large stores."""
    store, claims, reports = sample
    since = "2025-01-01"
    expected = Counter()
    for rep in reports.values():
        if claims[rep.claim].get("serviceDate", "") < since:
            continue
        for r in rep.results:
            if r.severity == "Warning":
                for code in set(r.codes):
                    expected[code.rstrip("-")] += 1
    rows = _rows(store, "violations-by-code", severity="Warning", since=since)
    assert {r["notation"]: int(r["results"]) for r in rows} == dict(expected) and expected


def test_denial_risk_for_one_provider(sample):
    store, claims, reports = sample
    provider = Counter(c["provider"] for c in claims.values()).most_common(1)[0][0]
    per = Counter(claims[rep.claim].get("serviceDate", "(no date)")[:7] for rep in reports.values()
                  if claims[rep.claim].get("provider") == provider)
    rows = _rows(store, "denial-risk-by-month", provider=provider)
    assert {r["month"]: int(r["claims"]) for r in rows} == dict(per)
