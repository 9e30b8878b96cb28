"""The small part of the store a claim is validated with (pySHACL copies whatever it is given into
every validation, so handing it the 400,000-triple code set would cost seconds per claim)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pyoxigraph as ox

from server import resources
from server.namespaces import CPT, ICD10CM, M99
from server.store import Store

_CODE_PROPERTIES = {M99 + "diagnosisCode", M99 + "procedure"}
# codes_named as one query over a store's default graph (the fast engine's batch of claims)
CODES_NAMED_QUERY = (
    "SELECT DISTINCT ?code WHERE { VALUES ?p { " + " ".join(f"<{p}>" for p in sorted(_CODE_PROPERTIES)) + " }\n"
    f'  ?node ?p ?code . FILTER(isIRI(?code) && (STRSTARTS(STR(?code), "{ICD10CM}") || '
    f'STRSTARTS(STR(?code), "{CPT}"))) }}'
)


@cache
def _query() -> str:
    return (resources.shapes_dir() / "claim-extract.rq").read_text(encoding="utf-8")


def codes_named(triples: Iterable[ox.Triple]) -> set[str]:
    """IRIs of the ICD-10-CM and CPT codes a claim graph names."""
    return {t.object.value for t in triples
            if t.predicate.value in _CODE_PROPERTIES and isinstance(t.object, ox.NamedNode)
            and t.object.value.startswith((ICD10CM, CPT))}


def extract(store: Store, codes: set[str]) -> list[ox.Triple]:
    if not codes:
        return []
    values = " ".join(str(ox.NamedNode(c)) for c in sorted(codes))
    return store.construct(_query().replace("VALUES_CODES", values))
