"""The fast validation engine: the shapes of shapes/ evaluated set-at-a-time on Oxigraph.

A batch of claims is put in one in-memory Oxigraph store with exactly what the reference engine
gives pySHACL for each claim: the small reference graph, the store extract for the codes the
claims name, and the claim triples. Each compiled rule (server/validation/compile.py) then runs
once over the batch and returns every violating focus node. Results are built with pySHACL's own
conventions (value defaults to the focus node; messages filled the way pySHACL fills them), so the
JSON report equals the reference's; tests/test_fast_engine.py proves it on generated claims.

Shapes the compiler cannot handle are validated by pySHACL, claim by claim, and logged once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from functools import cache, cached_property
from pathlib import Path

import pyoxigraph as ox
import rdflib

from server import resources
from server.claims.graph import ClaimGraph
from server.namespaces import M99
from server.store import Store
from server.validation import compile as shapes_compiler
from server.validation.engine import (
    REFERENCE_FILES,
    SEVERITY,
    ClaimReport,
    Report,
    RuleResult,
    Validator,
    codes_of,
    ordered,
    pyshacl_validate,
)
from server.validation.extract import CODES_NAMED_QUERY, extract

log = logging.getLogger("m99kg.validation")
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
_REFERENCE = ox.NamedNode("https://w3id.org/m99kg/graph/validation-reference")
_warned: set[str] = set()
_PAYERS_QUERY = f"SELECT ?claim ?payer WHERE {{ ?claim <{M99}payer> ?payer }}"


@cache
def _reference_quads() -> tuple[ox.Quad, ...]:
    quads: list[ox.Quad] = []
    for name in REFERENCE_FILES:
        path: Path = resources.ontology_dir() / name
        quads += [ox.Quad(t.subject, t.predicate, t.object, _REFERENCE)
                  for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]
    return tuple(quads)


class Workspace:
    """One thread's validation store: the reference graph and the extract of every code seen so far
    (a named graph that only grows), plus the batch's claims in the default graph, removed after
    each batch. Keeping the reference and extract saves rebuilding them for every request.

    Oxigraph's in-memory store does not give back the memory of removed quads, so the store is
    rebuilt from the kept reference and extract quads once enough claim quads have passed through:
    memory stays bounded however many claims stream through. The removed quads also stay in the
    indexes every query scans (one claim validated after 200,000 removed quads paid ~2 ms per
    scanned pattern), so the store is rebuilt as soon as more claim quads have passed through than
    it keeps: a rebuild costs about as much as loading what passed, and queries never scan more
    dead quads than live ones.
    """

    REBUILD_AFTER = 500_000  # claim quads, at most
    REBUILD_MIN = 5_000  # claim quads, at least (a rebuild is not free either)

    def __init__(self, store: Store) -> None:
        self.knowledge = store
        self.extracted: set[str] = set()
        self.extract_quads: list[ox.Quad] = []
        self.dataset = [ox.DefaultGraph(), _REFERENCE]
        self._fresh()

    def _fresh(self) -> None:
        self.ox = ox.Store()
        self.ox.extend(_reference_quads())
        self.ox.extend(self.extract_quads)
        self.passed = 0

    def load(self, claims: list[ClaimGraph]) -> None:
        """Put the claims in the default graph, and the extract of codes not seen before in the reference.

        Claims read by server.claims (they carry their N-Triples text) are parsed straight into the
        store, with no Python object per triple; others are added triple by triple. The codes are
        then found by one query over the default graph (what extract.codes_named finds per claim).
        """
        default = ox.DefaultGraph()
        texts = [c.ntriples for c in claims]
        if all(t is not None for t in texts):
            data = "".join(texts)  # type: ignore[arg-type]
            self.ox.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=default, lenient=True)  # Oxigraph's output
            self.passed += data.count("\n")
        else:
            quads = [ox.Quad(t.subject, t.predicate, t.object, default) for c in claims for t in c.triples]
            self.ox.extend(quads)
            self.passed += len(quads)
        new = {row["code"].value for row in self.ox.query(CODES_NAMED_QUERY)} - self.extracted
        if new:
            quads = [ox.Quad(t.subject, t.predicate, t.object, _REFERENCE) for t in extract(self.knowledge, new)]
            self.ox.extend(quads)
            self.extract_quads += quads
            self.extracted |= new

    def query(self, sparql: str) -> ox.QuerySolutions:
        return self.ox.query(sparql, default_graph=self.dataset)

    def payers(self) -> dict[str, str]:
        """Each loaded claim's payer (engine.claim_payer for the whole batch, in one query)."""
        found: dict[str, str] = {}
        for row in self.ox.query(_PAYERS_QUERY):
            found.setdefault(row["claim"].value, row["payer"].value)
        return found

    def clear(self) -> None:
        kept = len(_reference_quads()) + len(self.extract_quads)
        if self.passed > min(self.REBUILD_AFTER, max(self.REBUILD_MIN, kept)):
            self._fresh()
        else:
            self.ox.clear_graph(ox.DefaultGraph())


class FastValidator(Validator):
    """Same contract as the reference Validator: validate(claims) -> Report, with identical results."""

    def __init__(self, store: Store, shape_files: list[Path] | None = None) -> None:
        super().__init__(store, shape_files)
        self._local = threading.local()

    @cached_property
    def compilation(self) -> shapes_compiler.Compilation:
        compiled = shapes_compiler.compile_shapes(self.shapes)
        for shape, why in compiled.fallback:
            key = str(shape)
            if key not in _warned:  # once per process, not once per batch
                _warned.add(key)
                log.warning("shape %s is validated by pySHACL (the fast engine cannot compile it: %s)", key, why)
        return compiled

    @cached_property
    def fallback_shapes(self) -> rdflib.Graph | None:
        """A shapes graph holding only the shapes the compiler set aside (and what they point to)."""
        if not self.compilation.fallback:
            return None
        g = rdflib.Graph()
        todo = [shape for shape, _ in self.compilation.fallback]
        seen: set[rdflib.term.Node] = set()
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for p, o in self.shapes.predicate_objects(node):
                g.add((node, p, o))
                if isinstance(o, (rdflib.BNode, rdflib.URIRef)) and p != rdflib.RDF.type:
                    todo.append(o)
        return g

    def workspace(self) -> Workspace:
        """This thread's workspace (the service validates requests on several threads at once)."""
        ws = getattr(self._local, "workspace", None)
        if ws is None:
            ws = self._local.workspace = Workspace(self.store)
        return ws

    def validate(self, claims: list[ClaimGraph], workspace: Workspace | None = None) -> Report:
        """Validate a batch at once; the report is the reference engine's, claim for claim.

        `workspace`: a Workspace of this validator to use instead of the thread's own, for a caller
        that runs one batch at a time from several threads (server/validation/coalesce.py).
        """
        if not claims:
            return Report([], rdflib.Graph())
        owner: dict[str, int] = {}
        for i, claim in enumerate(claims):
            owner[claim.iri] = i
            for node in claim.linked:
                owner[node] = i
        found: list[list[RuleResult]] = [[] for _ in claims]
        ws = workspace if workspace is not None else self.workspace()
        ws.load(claims)
        payers = ws.payers()
        overrides = [self.overrides.get(payers.get(c.iri, ""), {}) for c in claims]
        try:
            rows = [(rule, list(self._run(ws, rule))) for rule in self.compilation.rules]
        finally:
            ws.clear()
        for rule, results in rows:
            for focus, result in results:
                i = owner.get(focus)
                if i is None:
                    continue  # a focus node outside the claims (a reference node of the target class)
                severity = overrides[i].get(rule.rule)
                if severity is not None:
                    result = RuleResult(result.rule, SEVERITY.get(str(severity), "Violation"), result.focus,
                                        result.codes, result.message, result.source)
                found[i].append(result)
        if self.fallback_shapes is not None:
            for i, claim in enumerate(claims):
                _conforms, graph = pyshacl_validate(self.data_graph(claim), self.fallback_shapes)
                found[i] += self._results(graph, overrides[i])
        reports = [ClaimReport(c.claim_id, c.iri, ordered(r)) for c, r in zip(claims, found, strict=True)]
        return Report(reports, lambda: report_graph(reports, self.compilation))

    def _run(self, ws: Workspace, rule: shapes_compiler.CompiledRule) -> Iterator[tuple[str, RuleResult]]:
        solutions = ws.query(rule.query)
        names = [v.value for v in solutions.variables]
        others = [n for n in names if n not in ("this", "path", "value", "failure")]
        severity = SEVERITY.get(rule.severity, "Violation")
        for row in solutions:
            this = row["this"]
            if this is None:
                continue
            value = row["value"] if "value" in names else None
            if value is None:
                value = this  # pySHACL: a node shape's result value is the focus node
            message = ""
            if rule.message is not None:
                bindings = {n: row[n].value for n in others if row[n] is not None}
                bindings["this"] = this.value
                if "path" in names and row["path"] is not None:
                    bindings["path"] = row["path"].value
                bindings["value"] = value.value
                message = shapes_compiler.format_message(rule.message, bindings)
            yield this.value, RuleResult(rule.rule, severity, this.value, codes_of(value.value), message,
                                         rule.source_label)


_SEVERITY_IRI = {v: k for k, v in SEVERITY.items()}


def report_graph(reports: Iterable[ClaimReport], compilation: shapes_compiler.Compilation) -> rdflib.Graph:
    """A SHACL validation report graph for the fast engine's results (the shape of pySHACL's)."""
    by_rule = {r.rule: r for r in compilation.rules}
    g = rdflib.Graph()
    g.bind("sh", SH)
    report = rdflib.BNode()
    g.add((report, rdflib.RDF.type, SH.ValidationReport))
    conforms = True
    for claim in reports:
        for r in claim.results:
            conforms = False
            node = rdflib.BNode()
            g.add((report, SH.result, node))
            g.add((node, rdflib.RDF.type, SH.ValidationResult))
            g.add((node, SH.focusNode, rdflib.URIRef(r.focus)))
            g.add((node, SH.resultSeverity, rdflib.URIRef(_SEVERITY_IRI[r.severity])))
            g.add((node, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
            g.add((node, SH.resultMessage, rdflib.Literal(r.message)))
            compiled = by_rule.get(r.rule)
            if compiled is not None:
                g.add((node, SH.sourceShape, compiled.shape))
                g.add((node, SH.sourceConstraint, compiled.constraint))
    g.add((report, SH.conforms, rdflib.Literal(conforms)))
    return g
