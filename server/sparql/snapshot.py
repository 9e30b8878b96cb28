"""An on-disk snapshot of the knowledge graphs that query workers open, in the data folder.

Built once per content: the fingerprint is a hash of every file loaded, so the knowledge is
renewed exactly when a source changes. Loaded claims and validation results (`m99kg load --data
DIR`) live in the same store, in their own named graphs.

- **The first build** happens in a temporary folder that is renamed into place, so a crash never
  leaves a half-built snapshot.
- **When the knowledge changes** (a new release of m99kg, say), the knowledge graphs are replaced
  in place: the store's other named graphs are removed, every knowledge file is loaded again, and
  only then is the new fingerprint written and the folder renamed. Should that stop half way, the
  old fingerprint is still there and the next start does it again, so the claims and results
  graphs are never touched. Until session 8 the whole store was copied into a new one instead,
  which for a million loaded claims meant a second 31 GB folder and the time to write it.

`DIR/m99kg.lock` keeps a loader from writing while the service reads: the service and `m99kg
query` hold it shared, a loader exclusively. Replacing the knowledge needs the folder to itself,
so a reader that finds it out of date raises its lock to exclusive for that, and is refused (with
StoreBusyError) while another process holds the folder: nothing is replaced under a running service.
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


_BUSY_WRITE = ("{directory} is in use: a service is reading it or another load is running; stop the "
               "service (or load through --store URL) and try again")
_BUSY_READ = "{directory} is in use: a load is writing it; try again when the load has finished"
_BUSY_STALE = ("{directory} holds knowledge older than this m99kg's, and another process (a service, a query or a "
               "load) is using it; stop that process so that the knowledge can be brought up to date, then try again")


def _lock(fh, mode: int, message: str, directory: Path) -> None:
    try:
        fcntl.flock(fh, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StoreBusyError(message.format(directory=directory)) from None


@contextlib.contextmanager
def locked(directory: Path, exclusive: bool) -> Iterator[None]:
    """Hold DIR/m99kg.lock: shared for the service, exclusive for a loader; never waits."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK, "a+") as fh:
        _lock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, _BUSY_WRITE if exclusive else _BUSY_READ, directory)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def data_folder(directory: Path, exclusive: bool) -> Iterator[Path]:
    """The data folder's snapshot store, current with this m99kg's knowledge, for the duration of the
    block, under the folder's lock: exclusive for a writer (a load), shared for readers (the service,
    `m99kg query`), which may then share the folder. If the knowledge is out of date, a reader's lock
    is raised to exclusive while it is brought up to date, and lowered again after."""
    directory.mkdir(parents=True, exist_ok=True)
    files = resources.knowledge_files()
    want = fingerprint(files)
    with open(directory / LOCK, "a+") as fh:
        _lock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, _BUSY_WRITE if exclusive else _BUSY_READ, directory)
        try:
            snapshot = _current(directory, want)
            if snapshot is None:
                if not exclusive:
                    _lock(fh, fcntl.LOCK_EX, _BUSY_STALE, directory)
                snapshot = _bring_up_to_date(directory, files, want)
                if not exclusive:  # lowered again (not atomic: a load that slips in between is refused here)
                    _lock(fh, fcntl.LOCK_SH, _BUSY_READ, directory)
            yield snapshot
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fingerprint(files: list[tuple[Path, str]] | None = None) -> str:
    h = hashlib.sha256()
    for path, graph in files or resources.knowledge_files():
        h.update(f"{path.name}\0{graph}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def ensure_snapshot(directory: Path) -> Path:
    """The snapshot store folder inside `directory`, brought up to date first if needed (under the
    folder's exclusive lock, released on return: for callers that manage no lock of their own)."""
    with data_folder(directory, exclusive=True) as snapshot:
        return snapshot


def _current(directory: Path, want: str) -> Path | None:
    """The snapshot folder if it is current and named for its fingerprint, else None."""
    target = directory / f"knowledge-{want[:16]}"
    fp = target / FINGERPRINT
    return target if fp.is_file() and fp.read_text() == want else None


def _bring_up_to_date(directory: Path, files: list[tuple[Path, str]], want: str) -> Path:
    """Make `knowledge-<fingerprint>` current; the caller holds the exclusive lock."""
    target = directory / f"knowledge-{want[:16]}"
    for leftover in directory.glob(".building-*"):  # an interrupted first build
        shutil.rmtree(leftover, ignore_errors=True)
    snapshots = [p for p in sorted(directory.glob("knowledge-*")) if (p / FINGERPRINT).is_file()]
    if len(snapshots) == 1:
        (old,) = snapshots
        if (old / FINGERPRINT).read_text() != want:
            _replace_knowledge(old, files)
            _write_fingerprint(old, want)
        if old != target:
            shutil.rmtree(target, ignore_errors=True)  # not a snapshot (it has no fingerprint)
            old.rename(target)
        return target
    # no snapshot yet (or, from before session 8, several): build one and carry the loaded graphs over
    tmp = directory / f".building-{want[:16]}-{os.getpid()}"
    store = Store(tmp)
    _load_knowledge(store.ox, files)
    for stale in snapshots:
        _copy_kept_graphs(stale, store.ox)
    store.ox.flush()
    store.ox.optimize()
    del store
    _write_fingerprint(tmp, want)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    for stale in directory.glob("knowledge-*"):
        if stale != target:
            shutil.rmtree(stale, ignore_errors=True)
    return target


def _load_knowledge(store: ox.Store, files: list[tuple[Path, str]]) -> None:
    for path, graph in files:
        store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(graph))


def _replace_knowledge(snapshot: Path, files: list[tuple[Path, str]]) -> None:
    """Every named graph but the loaded claims and results removed, and the knowledge loaded again.
    Not one transaction: the caller writes the new fingerprint only after it, so an interrupted
    replacement is done again, from the start, by the next caller."""
    store = ox.Store(str(snapshot))
    kept = {ox.NamedNode(g) for g in KEPT_GRAPHS}
    for graph in list(store.named_graphs()):
        if graph not in kept:
            store.remove_graph(graph)
    _load_knowledge(store, files)
    store.flush()
    del store


def _write_fingerprint(snapshot: Path, want: str) -> None:
    tmp = snapshot / (FINGERPRINT + ".new")
    tmp.write_text(want)
    os.replace(tmp, snapshot / FINGERPRINT)


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
