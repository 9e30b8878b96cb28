"""An on-disk, read-only snapshot of the knowledge graphs that query workers open.

Built once per content: the fingerprint is a hash of every file loaded, so the snapshot is
rebuilt exactly when a source changes. It is built in a temporary folder and renamed into place,
so a crash mid-build never leaves a half-written snapshot behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pyoxigraph as ox

from server import resources
from server.store import Store

FINGERPRINT = "FINGERPRINT"


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
