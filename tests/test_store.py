"""The embedded store: named graphs, the rdflib view, and all-or-nothing loads."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from server.namespaces import GRAPH_CODESET, GRAPH_ONTOLOGY, GRAPH_SHAPES
from server.store import Store


def test_named_graphs_are_loaded(store):
    assert store.graph_size(GRAPH_CODESET) > 400_000
    assert store.graph_size(GRAPH_ONTOLOGY) > 10_000
    assert store.graph_size(GRAPH_SHAPES) > 100
    # the full code set answers existence and billability for any code
    assert store.ask(f"ASK {{ GRAPH <{GRAPH_CODESET}> {{ icd:S32.10XA a m99:BillableCode }} }}", union=False)
    assert store.ask(f"ASK {{ GRAPH <{GRAPH_CODESET}> {{ icd:S32.10 a m99:HeaderCode }} }}", union=False)


def test_rdflib_view_over_the_same_store(store):
    ds = store.rdflib_dataset()
    rows = list(ds.query(
        f"SELECT ?t WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{ <http://purl.bioontology.org/ontology/ICD10CM/M99.44> "
        "<http://www.w3.org/2004/02/skos/core#prefLabel> ?t } }"))
    assert [str(r[0]) for r in rows] == ["Connective tissue stenosis of neural canal of sacral region"]


def test_malformed_turtle_is_refused_and_loses_nothing(tmp_path):
    good = tmp_path / "good.ttl"
    good.write_text("<http://e/a> <http://e/p> 1 .\n", encoding="utf-8")
    bad = tmp_path / "bad.ttl"
    bad.write_text("<http://e/b> <http://e/p> 2 .\n<http://e/c> <http://e/p> \"unterminated .\n", encoding="utf-8")
    s = Store()
    s.load_turtle(good, "http://e/g")
    with pytest.raises(SyntaxError) as err:
        s.load_turtle(bad, "http://e/g")
    assert "line" in str(err.value).lower() or "2" in str(err.value)
    assert s.graph_size("http://e/g") == 1
    assert not s.ask("ASK { <http://e/b> ?p ?o }")


def test_on_disk_store_survives_reopening(tmp_path):
    path = tmp_path / "db"
    s = Store(path)
    s.ox.add(ox.Quad(ox.NamedNode("http://e/a"), ox.NamedNode("http://e/p"), ox.Literal("x"), ox.NamedNode("http://e/g")))
    s.ox.flush()
    del s
    assert Store(path).graph_size("http://e/g") == 1
