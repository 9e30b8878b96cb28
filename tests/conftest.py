"""Shared fixtures: one knowledge store per test session (loading it takes about a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.store import Store, knowledge_store

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def store() -> Store:
    """Ontology, code set and shapes, loaded once; tests must not modify it."""
    return knowledge_store()


@pytest.fixture(scope="session")
def ontology_store() -> Store:
    """Ontology only (no code set), for reasoning and QA."""
    return knowledge_store(codeset=False, shapes=False)
