"""An on-disk, read-only snapshot of the knowledge graphs that query workers open.

Built once per content: the fingerprint is a hash of every file loaded, so the snapshot is
rebuilt exactly when a source changes. It is built in a temporary folder and renamed into place,
so a crash mid-build never leaves a half-written snapshot behind. Loaded claims and validation
results (`m99kg load --data DIR`) live in the same store, in their own named graphs; a rebuild
copies them into the new snapshot before the old one is removed, so new knowledge never loses them.

`DIR/m99kg.lock` keeps a loader from writing while the service reads: the service holds it
shared while serving, a loader exclusively while writing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox

from server import resources
from server.namespaces import GRAPH_CLAIMS, GRAPH_RESULTS
from server.store import Store

FINGERPRINT = "FINGERPRINT"
LOCK = "m99kg.lock"
KEPT_GRAPHS = (GRAPH_CLAIMS, GRAPH_RESULTS)


class StoreBusyError(RuntimeError):
    """The data folder is in use (a loader writing, or a service reading while a loader wants to write)."""


@contextlib.contextmanager
def locked(directory: Path, exclusive: bool) -> Iterator[None]:
    """Hold DIR/m99kg.lock: shared for the service, exclusive for a loader; never waits."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK, "a+") as fh:
        try:
            fcntl.flock(fh, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreBusyError(
                f"{directory} is in use: " + ("a service is reading it or another load is running; stop the "
                                              "service (or load through --store URL) and try again"
                                              if exclusive else "a load is writing it; start the service when "
                                              "the load has finished")) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fingerprint(files: list[tuple[Path, str]] | None = None) -> str:
    h = hashlib.sha256()
    for path, graph in files or resources.knowledge_files():
        h.update(f"{path.name}\0{graph}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def ensure_snapshot(directory: Path) -> Path:
    """Return the snapshot store folder inside `directory`, building it if missing or stale."""
    directory.mkdir(parents=True, exist_ok=True)
    files = resources.knowledge_files()
    want = fingerprint(files)
    target = directory / f"knowledge-{want[:16]}"
    if (target / FINGERPRINT).is_file() and (target / FINGERPRINT).read_text() == want:
        return target
    tmp = directory / f".building-{want[:16]}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    store = Store(tmp)
    for path, graph in files:
        store.ox.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(graph))
    for stale in sorted(directory.glob("knowledge-*")):
        _copy_kept_graphs(stale, store.ox)
    store.ox.flush()
    store.ox.optimize()
    del store
    (tmp / FINGERPRINT).write_text(want)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    for stale in directory.glob("knowledge-*"):
        if stale != target:
            shutil.rmtree(stale, ignore_errors=True)
    return target


def _copy_kept_graphs(old: Path, new: ox.Store) -> None:
    """Carry loaded claims and results over from an older snapshot into the one being built."""
    if not (old / FINGERPRINT).is_file():
        return
    try:
        source = ox.Store.read_only(str(old))
    except OSError:
        return  # unreadable leftovers are not worth failing a start for; their claims can be loaded again
    for graph in KEPT_GRAPHS:
        name = ox.NamedNode(graph)
        new.bulk_extend(source.quads_for_pattern(None, None, None, name))
    del source
