"""Claim graphs: parse claim RDF and normalise it with the SPARQL updates of ontology/claim-rules/.

The JSON-LD context leaves the JSON arrays as RDF lists and codes as written; the updates number
the lists into diagnosis, line and finding nodes, dot undotted codes, and map value tokens to
mechanisms and sites. They are idempotent, so Turtle claims already in the canonical form pass
through unchanged. The claim triples are kept in the default graph; the small reference graph
(facets and terms) sits in the ontology named graph for the updates that need it.

Reading is set-at-a-time: a whole batch is normalised in one store (one run of the updates), and
the result is cut into claims in one pass over its N-Triples dump. Each thread keeps its store
(reference graph loaded once, default graph cleared after each batch), so one request does not
pay for a fresh store. A claim graph keeps its triples as that N-Triples text and turns them into
pyoxigraph triples only when asked: the fast validator loads the text straight into its own
store, which saves building a Python object per triple twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import pyoxigraph as ox

from server import resources
from server.namespaces import GRAPH_ONTOLOGY, M99, RDF

CLAIM_BASE = "https://w3id.org/m99kg/claim/"
_REFERENCE_FILES = ("facets.ttl", "terms.ttl", "claims.ttl")
# N-Triples tokens the split looks for (Oxigraph writes one triple per line, terms separated by one space)
_TYPE = f"<{RDF}type>"
_CLAIM_OBJECT = f"<{M99}Claim> ."
_CLAIM_ID = f"<{M99}claimId>"
LINKS = (M99 + "hasDiagnosis", M99 + "hasLine", M99 + "hasFinding")
_LINK_TOKENS = frozenset(f"<{p}>" for p in LINKS)


def _value(token: str) -> str:
    """The value of an N-Triples IRI or blank node token (what pyoxigraph's `.value` gives)."""
    return token[1:-1] if token.startswith("<") else token[2:]


class ClaimGraph:
    """One claim: its IRI, identifier, and triples (canonical form).

    `triples` is a list of pyoxigraph triples. A graph made by normalize() holds them as N-Triples
    text (`ntriples`) and parses them on first use; `linked` are the nodes its m99:hasDiagnosis,
    m99:hasLine and m99:hasFinding triples point to.
    """

    __slots__ = ("_linked", "_triples", "claim_id", "iri", "ntriples", "source")

    def __init__(self, iri: str, claim_id: str, triples: list[ox.Triple] | None = None, source: str = "",
                 ntriples: str | None = None, linked: tuple[str, ...] | None = None) -> None:
        self.iri = iri
        self.claim_id = claim_id
        self.source = source
        self.ntriples = None if triples is not None else ntriples
        self._triples = triples if triples is not None or ntriples is not None else []
        self._linked = linked if triples is None else None

    @property
    def triples(self) -> list[ox.Triple]:
        if self._triples is None:
            self._triples = [q.triple for q in ox.parse(self.ntriples or "", format=ox.RdfFormat.N_TRIPLES)]
        return self._triples

    @triples.setter
    def triples(self, value: list[ox.Triple]) -> None:
        self._triples, self.ntriples, self._linked = value, None, None

    @property
    def linked(self) -> tuple[str, ...]:
        if self._linked is None:
            self._linked = tuple(t.object.value for t in self.triples if t.predicate.value in LINKS)
        return self._linked

    def __getstate__(self) -> dict:
        return {"iri": self.iri, "claim_id": self.claim_id, "source": self.source, "ntriples": self.ntriples,
                "_triples": self._triples if self.ntriples is None else None, "_linked": self._linked}

    def __setstate__(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClaimGraph):
            return NotImplemented
        return (self.iri, self.claim_id, self.source) == (other.iri, other.claim_id, other.source) and \
            set(self.triples) == set(other.triples)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return f"ClaimGraph(iri={self.iri!r}, claim_id={self.claim_id!r}, source={self.source!r})"


@cache
def _rules() -> tuple[str, ...]:
    folder = resources.ontology_dir() / "claim-rules"
    return tuple(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.ru")))


@cache
def _reference_quads() -> tuple[ox.Quad, ...]:
    graph = ox.NamedNode(GRAPH_ONTOLOGY)
    quads = []
    for name in _REFERENCE_FILES:
        path: Path = resources.ontology_dir() / name
        quads += [ox.Quad(t.subject, t.predicate, t.object, graph)
                  for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]
    return tuple(quads)


class _Normalizer:
    """One thread's normalising store: the reference graph stays, the default graph is the batch.

    Oxigraph's in-memory store does not give back the memory of removed quads, and keeps them in
    the indexes the updates scan, so the store is rebuilt once more claim quads have passed through
    than the reference graph holds (a rebuild is one extend of ~1,200 quads, about a millisecond).
    """

    REBUILD_AFTER = 5_000  # claim quads (raw and normalised)

    def __init__(self) -> None:
        self._fresh()

    def _fresh(self) -> None:
        self.store = ox.Store()
        self.store.extend(_reference_quads())
        self.passed = 0

    def run(self, load: Callable[[ox.Store], None], source: str) -> list[ClaimGraph]:
        default = ox.DefaultGraph()
        try:
            load(self.store)
            for update in _rules():
                self.store.update(update)
            text = self.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=default).decode("utf-8")
        finally:
            self.store.clear_graph(default)
        self.passed += 2 * text.count("\n")  # the raw quads and the normalised ones, roughly
        if self.passed > self.REBUILD_AFTER:
            self._fresh()
        return split(text, source)


_local = threading.local()


def _normalizer() -> _Normalizer:
    found = getattr(_local, "normalizer", None)
    if found is None:
        found = _local.normalizer = _Normalizer()
    return found


def split(text: str, source: str = "") -> list[ClaimGraph]:
    """Cut normalised N-Triples into claims: each claim node's triples and those of the nodes it links.

    Claims come sorted by IRI; a node linked from two claims belongs to both.
    """
    lines: dict[str, list[str]] = {}
    links: dict[str, list[str]] = {}
    claims: set[str] = set()
    for line in text.splitlines():
        s, p, rest = line.split(" ", 2)
        if s in lines:
            lines[s].append(line)
        else:
            lines[s] = [line]
        if p in _LINK_TOKENS:
            links.setdefault(s, []).append(rest[:-2])
        elif p == _TYPE and rest == _CLAIM_OBJECT:
            claims.add(s)
    ordered = sorted(claims, key=_value)
    first_ids: list[str] = []
    id_of: dict[str, str] = {}
    for claim in ordered:
        line = next((x for x in lines[claim] if x.split(" ", 2)[1] == _CLAIM_ID), None)
        if line is not None:
            first_ids.append(line)
    if first_ids:
        for q in ox.parse("\n".join(first_ids), format=ox.RdfFormat.N_TRIPLES):
            subject = q.subject
            id_of.setdefault(str(subject), q.object.value)
    out = []
    for claim in ordered:
        nodes = dict.fromkeys([claim, *links.get(claim, ())])
        body = [x for node in nodes for x in lines.get(node, ())]
        linked = tuple(_value(o) for node in nodes for o in links.get(node, ()))
        iri = _value(claim)
        out.append(ClaimGraph(iri, id_of.get(claim, iri), source=source, ntriples="\n".join(body) + "\n",
                              linked=linked))
    return out


def normalize(triples: Iterable[ox.Triple] | Iterable[ox.Quad], source: str = "") -> list[ClaimGraph]:
    """Run the claim rules over raw claim triples and split the result into one graph per claim."""
    default = ox.DefaultGraph()
    quads = [ox.Quad(t.subject, t.predicate, t.object, default) for t in triples]
    return _normalizer().run(lambda store: store.extend(quads), source)


def normalize_document(data: bytes, fmt: ox.RdfFormat, source: str = "", base_iri: str | None = None
                       ) -> list[ClaimGraph]:
    """Like normalize(), for a serialised document parsed straight into the store (no Python triples).

    Raises SyntaxError when the document does not parse; its triples go to the default graph.
    """
    return _normalizer().run(
        lambda store: store.load(data, format=fmt, base_iri=base_iri, to_graph=ox.DefaultGraph()), source)
