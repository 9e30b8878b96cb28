"""The build's reading of the official tabular: counts and conventions the fact sheet states."""

from __future__ import annotations

import pytest
import simple_icd_10_cm as lib

from server.build.tabular import ancestors, read_tabular


@pytest.fixture(scope="module")
def nodes():
    return read_tabular()


def test_release_has_the_cms_count_of_billable_codes(nodes):
    billable = {c for c, n in nodes.items() if n.billable}
    assert len(billable) == 74719  # CMS: 74,719 codes in the FY2026 April 1 release
    assert billable == {c for c in lib.get_all_codes(with_dots=True) if "-" not in c and lib.is_leaf(c)}


def test_m99_shape(nodes):
    m99 = {c: n for c, n in nodes.items() if c.startswith("M99") and n.level != "block"}
    billable = sorted(c for c, n in m99.items() if n.billable)
    headers = sorted(c for c, n in m99.items() if not n.billable)
    assert len(billable) == 91
    assert headers == ["M99"] + [f"M99.{i}" for i in range(9)]
    for i in range(9):
        assert sorted(c for c, n in m99.items() if n.parent == f"M99.{i}") == [f"M99.{i}{j}" for j in range(10)]
    assert nodes["M99.9"].billable and nodes["M99.9"].parent == "M99"
    assert not any(n.parent == "M99.9" for n in nodes.values())
    assert all(len(c) <= 6 for c in m99)  # no 7th character, no placeholder


def test_notes_are_data(nodes):
    assert nodes["M99"].notes == {"notes": ["This category should not be used if the condition can be classified elsewhere."]}
    assert all(not nodes[f"M99.{i}"].notes for i in range(10))
    assert "biomechanical lesions NEC (M99.-)" in nodes["M43.5"].notes["excludes1"]


def test_hierarchy_of_m99_04(nodes):
    assert ancestors(nodes, "M99.04") == ["M99.0", "M99", "M99-M99", "M00-M99"]
    assert nodes["M00-M99"].chapter_number == "13"


def test_seventh_character_completion(nodes):
    assert nodes["S32.10XA"].billable and not nodes["S32.10"].billable
    assert nodes["S32.10XA"].title.endswith(", initial encounter for closed fracture")
    assert nodes["S33.2XXA"].parent == "S33.2"
    # only A after a 6th character 7 in category S06 (a prose note, honoured through the code list)
    assert "S06.1X7A" in nodes and "S06.1X7D" not in nodes
    assert nodes["M53.2X8"].billable  # placeholder X inside a code that needs no 7th character
