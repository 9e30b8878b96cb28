"""The code card shows every fact the reference pages give about M99.04, M99.24, M99.44, M99.74.

Seeds: ../shared/seeds/000-001 (M99.04), 002 (M99.24), 003 (M99.74), 004 (M99.44). Every
section comes from SPARQL over the graph; the assertions name the facts, not the wording.
"""

from __future__ import annotations

import pytest

from server.codecard import CodeCards, UnknownCodeError
from server.codes import CodeFormatError

BILLABLE = [f"M99.{m}{r}" for m in range(9) for r in range(10)] + ["M99.9"]


@pytest.fixture(scope="module")
def cards(store):
    return CodeCards.over(store)


def codes_of(items, key="code"):
    return {i[key] for i in items}


def test_m99_04(cards):
    card = cards.card("M9904")
    assert card["code"] == "M99.04" and card["billable"] is True
    assert card["title"] == "Segmental and somatic dysfunction of sacral region"
    assert [h["code"] for h in card["hierarchy"]] == ["M00-M99", "M99-M99", "M99", "M99.0"]
    assert codes_of(card["siblings"]) == {f"M99.0{r}" for r in range(10)} - {"M99.04"}
    assert card["region"] == {"label": "sacral region", "cmt": "spinal", "omt": "sacral", "medicareArea": "Sacral"}
    assert card["mechanism"]["label"] == "segmental and somatic dysfunction" and card["site"] is None
    assert any(n["on"] == "M99" and "classified elsewhere" in n["text"] for n in card["notes"])
    # the most frequent error (lumbar) and the sacral/pelvic split
    confusable = {c["code"]: c for c in card["confusable"]}
    assert {"M99.03", "M99.05"} <= set(confusable)
    assert confusable["M99.03"]["decidingElement"] == "region and precise level named"
    # CMT 1-2 / 3-4 / 5 regions, extraspinal, OMT, therapy, imaging, trigger points, E/M (S000, S001)
    procedures = codes_of(card["pairings"], "procedure")
    assert {"98940", "98941", "98942", "98943", "98925", "97140", "97110", "72220"} <= procedures
    assert 7 <= len(procedures) <= 11
    # documentation: TART findings, functional impact, treatment response, exclusion rationale
    elements = codes_of(card["documentation"], "element")
    assert {"pain or tenderness", "asymmetry or misalignment", "restriction or range-of-motion abnormality",
            "tissue texture or tone change", "functional impact", "treatment response",
            "exclusion rationale", "standardised outcome measure"} <= elements
    assert any(d["element"] == "independent findings per region" for d in card["documentation"])
    # the functional lesion goes with an NMS diagnosis such as M54.31 (S001)
    assert any(d["relation"] == "co-reported" and d["code"].startswith("M54.3") for d in card["displacedBy"])
    # ICD-9: 739.4 in both directions
    assert [(b["icd9"], b["approximate"]) for b in card["icd9"]["backward"]] == [("739.4", True)]
    assert codes_of(card["icd9"]["backward"][0]["forward"]) == {"M99.04"}
    assert {s["key"] for s in card["sources"]} >= {"TAB", "GEM", "S000", "S001"}


def test_m99_24(cards):
    card = cards.card("M99.24")
    assert card["title"] == "Subluxation stenosis of neural canal of sacral region"
    assert card["site"]["label"] == "neural canal" and card["mechanism"]["label"] == "subluxation"
    assert codes_of(card["siblings"]) == {f"M99.2{r}" for r in range(10)} - {"M99.24"}
    assert {"M99.34", "M99.44", "M99.54", "M99.64", "M48.08"} <= codes_of(card["confusable"])
    displacing = codes_of(card["displacedBy"])
    assert {"M48.08", "M43.18", "M43.5X8"} <= displacing
    # backward 724.09 only; forward 724.09 goes to M48.08, not back to M99.24 (S002, GEM)
    (back,) = card["icd9"]["backward"]
    assert back["icd9"] == "724.09" and back["approximate"]
    assert codes_of(back["forward"]) == {"M48.08"}
    assert card["icd9"]["forwardInto"] == []
    procedures = codes_of(card["pairings"], "procedure")
    assert any(p.startswith("959") for p in procedures)  # nerve conduction (S002)
    assert 7 <= len(procedures) <= 10
    elements = codes_of(card["documentation"], "element")
    assert {"neurological findings", "imaging finding", "mechanism statement", "canal or foramen stated"} <= elements
    assert "S002" in {s["key"] for s in card["sources"]}


def test_m99_44(cards):
    card = cards.card("M99.44")
    assert card["mechanism"]["label"] == "connective tissue"
    assert {"M99.34", "M99.54", "M99.74"} <= codes_of(card["confusable"])
    assert "M48.08" in codes_of(card["displacedBy"])
    assert 7 <= len(card["pairings"]) <= 10
    assert any("fibrosis" in (d["rationale"] or "") for d in card["documentation"])
    assert [b["icd9"] for b in card["icd9"]["backward"]] == ["724.09"]
    assert "S004" in {s["key"] for s in card["sources"]}


def test_m99_74(cards):
    card = cards.card("M99.74")
    assert card["site"]["label"] == "intervertebral foramina"
    assert {"M99.44", "M99.54", "M99.75"} <= codes_of(card["confusable"])
    assert "M51.17" in codes_of(card["displacedBy"]) | codes_of(card["confusable"])
    assert 7 <= len(card["pairings"]) <= 10
    assert {"imaging finding", "canal or foramen stated"} <= codes_of(card["documentation"], "element")
    assert "S003" in {s["key"] for s in card["sources"]}


def test_header_code_is_not_billable_and_lists_its_children(cards):
    card = cards.card("M99.4")
    assert card["billable"] is False and card["level"] == "subcategory"
    assert [c["code"] for c in card["children"]] == [f"M99.4{r}" for r in range(10)]
    assert all(c["billable"] for c in card["children"])


def test_code_outside_m99_comes_from_the_code_set(cards):
    card = cards.card("S32.10XA")
    assert card["billable"] and card["title"].startswith("Unspecified fracture of sacrum")
    assert [h["code"] for h in card["hierarchy"]][:2] == ["S00-T88", "S30-S39"]


@pytest.mark.parametrize("code", BILLABLE)
def test_every_billable_code_has_a_rich_card(cards, code):
    card = cards.card(code)
    assert card["billable"]
    # as rich as the reference pages: 7-10 related procedures (M99.04's page names 11)
    assert 7 <= len({p["procedure"] for p in card["pairings"]}) <= 11
    assert card["documentation"], "documentation requirements"
    assert card["icd9"]["backward"], "ICD-9 crosswalk"
    assert all(p["sources"] for p in card["pairings"] + card["documentation"] + card["confusable"])


def test_unknown_and_malformed_codes(cards):
    with pytest.raises(UnknownCodeError, match=r"M99\.99"):
        cards.card("M99.99")
    with pytest.raises(CodeFormatError):
        cards.card("M99.04'} ; DROP")
