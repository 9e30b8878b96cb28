"""The build refuses sources that contradict each other, and says where."""

from __future__ import annotations

import pytest

from server import resources
from server.build import m99module, related
from server.build.m99module import BuildError
from server.build.tabular import read_tabular
from server.build.turtle import TurtleWriter
from server.namespaces import GRAPH_ONTOLOGY, PREFIXES
from server.store import Store


@pytest.fixture(scope="module")
def nodes():
    return read_tabular()


def _store_with(tmp_path, replace: dict[str, str]) -> Store:
    store = Store()
    for path in resources.handwritten_ontology_files():
        text = path.read_text(encoding="utf-8")
        for old, new in replace.items():
            text = text.replace(old, new)
        copy = tmp_path / path.name
        copy.write_text(text, encoding="utf-8")
        store.load_turtle(copy, GRAPH_ONTOLOGY)
    return store


def test_a_region_whose_title_phrase_is_wrong_stops_the_build(tmp_path, nodes):
    store = _store_with(tmp_path, {'"of sacral region"': '"of sacrum"'})
    with pytest.raises(BuildError) as err:
        m99module.build_m99_module(nodes, store, TurtleWriter(PREFIXES, ""))
    assert "M99.04" in str(err.value) and "of sacrum" in str(err.value)


def test_swapped_mechanism_characters_stop_the_build(tmp_path, nodes):
    store = _store_with(tmp_path, {'m99:fourthCharacter "3"': 'm99:fourthCharacter "X"',
                                   'm99:fourthCharacter "4"': 'm99:fourthCharacter "3"'})
    store.ox.update('PREFIX m99: <https://w3id.org/m99kg/vocab#> '
                    'DELETE { GRAPH ?g { ?m m99:fourthCharacter "X" } } INSERT { GRAPH ?g { ?m m99:fourthCharacter "4" } } '
                    'WHERE { GRAPH ?g { ?m m99:fourthCharacter "X" } }')
    with pytest.raises(BuildError) as err:
        m99module.build_m99_module(nodes, store, TurtleWriter(PREFIXES, ""))
    assert "M99.34" in str(err.value) and "Connective tissue stenosis" in str(err.value)


def test_curated_knowledge_naming_a_code_that_does_not_exist_stops_the_build(tmp_path, nodes):
    store = _store_with(tmp_path, {})
    store.ox.update('INSERT DATA { GRAPH <https://w3id.org/m99kg/graph/ontology> { '
                    '<https://w3id.org/m99kg/id/displacement/x> <https://w3id.org/m99kg/vocab#displacedBy> '
                    '<http://purl.bioontology.org/ontology/ICD10CM/M48.09> } }')
    with pytest.raises(BuildError, match=r"M48\.09"):
        related.build_related(nodes, store, set(), TurtleWriter(PREFIXES, ""))
