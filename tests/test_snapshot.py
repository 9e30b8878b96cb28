"""The data folder's snapshot: built once, its knowledge replaced in place when the knowledge changes
(the loaded claims and results untouched, even when the replacement is interrupted), and never
replaced under another process that holds the folder.

The knowledge here is two small Turtle files standing in for resources.knowledge_files(), so each
test builds its store in milliseconds; tests/test_batch_load.py does the same with the real
knowledge through the CLI.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from server import resources
from server.namespaces import GRAPH_CLAIMS, GRAPH_RESULTS
from server.sparql import snapshot as snap
from server.sparql.snapshot import FINGERPRINT, StoreBusyError, data_folder, ensure_snapshot, locked

EX = "https://example.org/"
ONTOLOGY, CODESET = "https://w3id.org/m99kg/graph/ontology", "https://w3id.org/m99kg/graph/codeset"
CLAIM = ox.Quad(ox.NamedNode(EX + "claim/1"), ox.NamedNode(EX + "p"), ox.Literal("kept"), ox.NamedNode(GRAPH_CLAIMS))
RESULT = ox.Quad(ox.NamedNode(EX + "result/1"), ox.NamedNode(EX + "p"), ox.Literal("kept"),
                 ox.NamedNode(GRAPH_RESULTS))


@pytest.fixture
def knowledge(tmp_path, monkeypatch):
    """Two knowledge files; the test edits them (or the list) to change the knowledge."""
    files = {"ontology": tmp_path / "ontology.ttl", "codeset": tmp_path / "codeset.ttl"}
    files["ontology"].write_text(f"<{EX}a> <{EX}p> 'version 1' .\n")
    files["codeset"].write_text(f"<{EX}code> <{EX}p> 'M99.03' .\n")
    graphs = {"ontology": ONTOLOGY, "codeset": CODESET}
    listed = ["ontology", "codeset"]
    monkeypatch.setattr(resources, "knowledge_files", lambda: [(files[k], graphs[k]) for k in listed])
    return files, listed


def _quads(path: Path) -> set[ox.Quad]:
    store = ox.Store.read_only(str(path))
    try:
        return set(store)
    finally:
        del store


def _add(path: Path, *quads: ox.Quad) -> None:
    store = ox.Store(str(path))
    store.extend(quads)
    store.flush()
    del store


def _values(path: Path, graph: str) -> set[str]:
    return {q.object.value for q in _quads(path) if q.graph_name == ox.NamedNode(graph)}


def test_first_build_names_the_folder_for_its_knowledge(tmp_path, knowledge):
    data = tmp_path / "data"
    with data_folder(data, exclusive=True) as path:
        assert path.parent == data and path.name.startswith("knowledge-")
        assert (path / FINGERPRINT).read_text().startswith(path.name.removeprefix("knowledge-"))
    assert _values(path, ONTOLOGY) == {"version 1"} and _values(path, CODESET) == {"M99.03"}
    assert ensure_snapshot(data) == path  # current: nothing to do


def test_new_knowledge_replaces_the_old_in_place_and_keeps_the_loaded_graphs(tmp_path, knowledge):
    files, listed = knowledge
    data = tmp_path / "data"
    old = ensure_snapshot(data)
    _add(old, CLAIM, RESULT)
    inode = old.stat().st_ino
    files["ontology"].write_text(f"<{EX}a> <{EX}p> 'version 2' .\n")  # a new release of the knowledge
    listed.remove("codeset")  # and a knowledge file that is gone
    new = ensure_snapshot(data)
    assert new != old and not old.exists() and [p.name for p in data.glob("knowledge-*")] == [new.name]
    assert new.stat().st_ino == inode  # the same store, renamed: nothing was copied
    assert _values(new, ONTOLOGY) == {"version 2"}  # the old statement is gone
    assert _values(new, CODESET) == set()  # so is the graph of the file no longer listed
    assert {CLAIM, RESULT} <= _quads(new)


def test_an_interrupted_replacement_is_done_again_by_the_next_start(tmp_path, knowledge, monkeypatch):
    files, _ = knowledge
    data = tmp_path / "data"
    old = ensure_snapshot(data)
    _add(old, CLAIM, RESULT)
    stale = (old / FINGERPRINT).read_text()
    files["ontology"].write_text(f"<{EX}a> <{EX}p> 'version 2' .\n")
    load = snap._load_knowledge

    def crash(store, files):
        raise OSError("the machine went down")

    monkeypatch.setattr(snap, "_load_knowledge", crash)
    with pytest.raises(OSError):
        ensure_snapshot(data)
    assert (old / FINGERPRINT).read_text() == stale  # still old: the next start knows to do it again
    assert _values(old, ONTOLOGY) == set() and {CLAIM, RESULT} <= _quads(old)  # half done, claims intact
    monkeypatch.setattr(snap, "_load_knowledge", load)
    new = ensure_snapshot(data)
    assert _values(new, ONTOLOGY) == {"version 2"} and _values(new, CODESET) == {"M99.03"}
    assert {CLAIM, RESULT} <= _quads(new)


def test_readers_share_a_current_folder(tmp_path, knowledge):
    data = tmp_path / "data"
    path = ensure_snapshot(data)
    with locked(data, exclusive=False):  # a running service
        with data_folder(data, exclusive=False) as reader:  # m99kg query beside it
            assert reader == path
        with pytest.raises(StoreBusyError, match="in use"), data_folder(data, exclusive=True):  # not a load
            pass


def test_out_of_date_knowledge_is_not_replaced_under_another_process(tmp_path, knowledge):
    files, _ = knowledge
    data = tmp_path / "data"
    old = ensure_snapshot(data)
    before = (old / FINGERPRINT).read_text()
    files["ontology"].write_text(f"<{EX}a> <{EX}p> 'version 2' .\n")
    # a service started before the upgrade still reads the folder
    with locked(data, exclusive=False), pytest.raises(StoreBusyError, match="older than this m99kg") as err, \
            data_folder(data, exclusive=False):
        pass
    assert str(data) in str(err.value)
    assert (old / FINGERPRINT).read_text() == before and _values(old, ONTOLOGY) == {"version 1"}
    # alone, a reader raises its lock, brings the knowledge up to date and lowers the lock again
    with data_folder(data, exclusive=False) as path:
        assert _values(path, ONTOLOGY) == {"version 2"}
        with locked(data, exclusive=False):
            pass  # shared again: another reader may join
        with pytest.raises(StoreBusyError), locked(data, exclusive=True):
            pass


def test_several_snapshots_from_before_session_8_are_merged_into_one(tmp_path, knowledge):
    """Until session 8 a rebuild left one snapshot; should two be there (a crash between the rename
    and the removal), both folders' claims and results are carried into the new one."""
    data = tmp_path / "data"
    first = ensure_snapshot(data)
    _add(first, CLAIM)
    second = data / "knowledge-0000000000000000"
    second.mkdir()
    store = ox.Store(str(second))
    store.extend([RESULT])
    store.flush()
    del store
    (second / FINGERPRINT).write_text("0" * 64)
    (first / FINGERPRINT).write_text("1" * 64)
    path = ensure_snapshot(data)
    assert [p.name for p in data.glob("knowledge-*")] == [path.name]
    assert {CLAIM, RESULT} <= _quads(path) and _values(path, ONTOLOGY) == {"version 1"}
