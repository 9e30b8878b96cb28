"""Cache rdflib's parsing of SPARQL text while pySHACL runs (used by the differential test and bench).

pySHACL hands rdflib the same constraint text once per focus node, and rdflib parses it each time
with pyparsing: about 90% of the reference engine's time. Within `cached_queries()`, rdflib's
SPARQL processor translates each distinct (text, base, namespaces) once and evaluates the cached
algebra with the focus node's bindings, which is how rdflib's own prepared queries are meant to
be reused. Evaluation is unchanged, so the results are pySHACL's; only the parse is skipped.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator

from rdflib.plugins.sparql import processor
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery

_lock = threading.Lock()
_depth = 0
_original = processor.SPARQLProcessor.query


@functools.lru_cache(maxsize=1024)
def _translated(text: str, base: str | None, namespaces: tuple | None):
    return translateQuery(parseQuery(text), base, dict(namespaces) if namespaces is not None else None)


def _query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):
    if isinstance(strOrQuery, str):
        strOrQuery = _translated(strOrQuery, base, tuple(sorted(initNs.items())) if initNs else None)
    return processor.evalQuery(self.graph, strOrQuery, initBindings, base)


@contextlib.contextmanager
def cached_queries() -> Iterator[None]:
    """Within the block, rdflib parses each distinct SPARQL text once (re-entrant, process-wide)."""
    global _depth
    with _lock:
        _depth += 1
        processor.SPARQLProcessor.query = _query
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                processor.SPARQLProcessor.query = _original
