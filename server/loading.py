"""Load claims and their validation results into a store for analytics (`m99kg load`, `m99kg demo`).

Each batch is ONE transaction. When none of the batch's claims is stored yet (a first load, the
common case) the batch goes in as one N-Quads load, which Oxigraph applies atomically and parses
about three times faster than the same triples in a SPARQL INSERT DATA. When some are stored, the
batch is one SPARQL update: delete what the store holds for those claims (claim graph and
results), then insert the batch's claim triples into the claims graph and its results into the
results graph. Oxigraph, embedded or as a server, runs one update request as one transaction, so an
interrupted load leaves every claim either as it was or fully replaced, never half written; loading
the same claim again replaces it (claim IRIs are deterministic). A remote store always gets a
SPARQL update (INSERT DATA alone when nothing is to be replaced): the protocol every SPARQL 1.1
server speaks.

Results are stored as SHACL validation results linked to their claim, rule, codes, provider, payer
and date (vocabulary: ontology/results.ttl), so the analytics queries need no claim content.
With store_content=False only the claim's codes, dates, payer and provider are kept: no patient,
no findings (their free text is clinical content).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pyoxigraph as ox

from server.claims.graph import ClaimGraph
from server.namespaces import CPT, GRAPH_CLAIMS, GRAPH_RESULTS, ICD10CM, M99, RDF, SH
from server.validation.engine import ClaimReport

RULE = "https://w3id.org/m99kg/id/rule/"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_LINKS = (M99 + "hasDiagnosis", M99 + "hasLine", M99 + "hasFinding")
_CONTENT_PREDICATES = {M99 + "patient", M99 + "hasFinding", M99 + "text"}
_CLAIM_FACTS = {M99 + "provider", M99 + "payer", M99 + "serviceDate", M99 + "providerType"}
_SEVERITY_IRI = {"Violation": SH + "Violation", "Warning": SH + "Warning", "Info": SH + "Info"}


class UpdateTarget(Protocol):
    """Where a load writes: a pyoxigraph Store, or anything that runs a SPARQL 1.1 update in one
    transaction and answers a SELECT as RemoteStore does (rows as dicts of bound variables)."""

    def update(self, sparql: str) -> None: ...

    def select(self, sparql: str, union: bool = True) -> list[dict]: ...


@dataclass
class LoadSummary:
    claims: int = 0
    results: int = 0
    batches: int = 0
    triples: int = 0


def _n(term: ox.NamedNode | ox.Literal | ox.BlankNode) -> str:
    return str(term)  # pyoxigraph writes N-Triples syntax, escaped


def _iri(value: str) -> str:
    return str(ox.NamedNode(value))


def _code_iri(code: str) -> str:
    code = code.rstrip("-")
    return _iri((ICD10CM if code[:1].isalpha() else CPT) + code)


def claim_lines(claim: ClaimGraph, store_content: bool = True) -> list[str]:
    """The claim's triples (without patient and findings unless store_content) as N-Triples
    statements without their final " .", so that N-Quads can put the graph name there."""
    if store_content:
        return [f"{_n(t.subject)} {_n(t.predicate)} {_n(t.object)}" for t in claim.triples]
    findings = {t.object.value for t in claim.triples if t.predicate.value == M99 + "hasFinding"}
    return [f"{_n(t.subject)} {_n(t.predicate)} {_n(t.object)}" for t in claim.triples
            if t.predicate.value not in _CONTENT_PREDICATES and t.subject.value not in findings]


def result_lines(claim: ClaimGraph, report: ClaimReport, engine: str = "fast") -> list[str]:
    """The claim's validation (counts, conformance, the facts analytics group by) and its results
    (statements as in claim_lines)."""
    facts = {t.predicate.value: t.object for t in claim.triples
             if t.subject.value == claim.iri and t.predicate.value in _CLAIM_FACTS}
    claim_node = _iri(claim.iri)
    validation = _iri(claim.iri + "/validation")
    shared = [f"{_iri(p)} {_n(o)}" for p, o in sorted(facts.items())]
    date = facts.get(M99 + "serviceDate")
    if date is not None and isinstance(date, ox.Literal) and len(date.value) >= 7:
        shared.append(f"{_iri(M99 + 'serviceMonth')} {_n(ox.Literal(date.value[:7]))}")
    counts = {s: sum(1 for r in report.results if r.severity == s) for s in ("Violation", "Warning", "Info")}
    lines = [
        f"{validation} {_iri(RDF + 'type')} {_iri(M99 + 'ClaimValidation')}",
        f"{validation} {_iri(M99 + 'validatedClaim')} {claim_node}",
        f"{validation} {_iri(M99 + 'claimId')} {_n(ox.Literal(claim.claim_id))}",
        f"{validation} {_iri(M99 + 'conforms')} {_n(ox.Literal(report.conforms))}",
        f"{validation} {_iri(M99 + 'violationCount')} {_n(ox.Literal(counts['Violation']))}",
        f"{validation} {_iri(M99 + 'warningCount')} {_n(ox.Literal(counts['Warning']))}",
        f"{validation} {_iri(M99 + 'infoCount')} {_n(ox.Literal(counts['Info']))}",
        f"{validation} {_iri(M99 + 'validatedWith')} {_n(ox.Literal(engine))}",
    ]
    lines += [f"{validation} {s}" for s in shared]
    for i, r in enumerate(report.results, 1):
        node = _iri(f"{claim.iri}/result/{i}")
        lines += [
            f"{node} {_iri(RDF + 'type')} {_iri(SH + 'ValidationResult')}",
            f"{node} {_iri(M99 + 'inValidation')} {validation}",
            f"{node} {_iri(M99 + 'resultClaim')} {claim_node}",
            f"{node} {_iri(SH + 'focusNode')} {_iri(r.focus)}",
            f"{node} {_iri(SH + 'resultSeverity')} {_iri(_SEVERITY_IRI[r.severity])}",
            f"{node} {_iri(SH + 'sourceShape')} {_iri(RULE + r.rule)}",
            f"{node} {_iri(M99 + 'resultRule')} {_iri(RULE + r.rule)}",
            f"{node} {_iri(M99 + 'ruleId')} {_n(ox.Literal(r.rule))}",
            f"{node} {_iri(SH + 'resultMessage')} {_n(ox.Literal(r.message))}",
        ]
        lines += [f"{node} {_iri(M99 + 'resultCode')} {_code_iri(c)}" for c in r.codes]
        lines += [f"{node} {s}" for s in shared]
    return lines


@dataclass
class BatchWrites:
    """What one batch writes: its claim IRIs and the statements for the claims and results graphs."""

    claims: list[str]
    claim_statements: list[str] = field(default_factory=list)
    result_statements: list[str] = field(default_factory=list)

    @property
    def triples(self) -> int:
        return len(self.claim_statements) + len(self.result_statements)

    def nquads(self) -> bytes:
        """The batch as N-Quads, for one atomic load when none of its claims is stored yet."""
        cg, rg = _iri(GRAPH_CLAIMS), _iri(GRAPH_RESULTS)
        text = "".join([f"{s} {cg} .\n" for s in self.claim_statements]
                       + [f"{s} {rg} .\n" for s in self.result_statements])
        return text.encode("utf-8")

    def update(self, replace: Iterable[str] | None = None) -> str:
        """One SPARQL update: delete what the store holds for the claims in `replace` (all the batch's
        claims when None), then INSERT DATA the batch."""
        replace = self.claims if replace is None else list(replace)
        cg, rg = _iri(GRAPH_CLAIMS), _iri(GRAPH_RESULTS)
        text = ""
        if replace:
            values = " ".join(_iri(c) for c in replace)
            links = ", ".join(_iri(p) for p in _LINKS)
            # the claim node's own triples are matched with ?c bound by VALUES (a BIND inside the group
            # would not see ?c and would match everything)
            text = (
                f"DELETE {{ GRAPH {cg} {{ ?s ?p ?o }} }} WHERE {{ VALUES ?c {{ {values} }} GRAPH {cg} {{\n"
                f"  {{ ?c ?p ?o . BIND(?c AS ?s) }} UNION {{ ?c ?link ?s . FILTER(?link IN ({links})) ?s ?p ?o }}"
                f" }} }} ;\n"
                f"DELETE {{ GRAPH {rg} {{ ?s ?p ?o }} }} WHERE {{ VALUES ?c {{ {values} }} GRAPH {rg} {{\n"
                f"  {{ ?s {_iri(M99 + 'validatedClaim')} ?c }} UNION {{ ?s {_iri(M99 + 'resultClaim')} ?c }} ?s ?p ?o"
                f" }} }} ;\n"
            )
        return (text + f"INSERT DATA {{\nGRAPH {cg} {{\n" + "".join(f"{s} .\n" for s in self.claim_statements)
                + f"}}\nGRAPH {rg} {{\n" + "".join(f"{s} .\n" for s in self.result_statements) + "} }")


def batch_writes(claims: list[ClaimGraph], reports: list[ClaimReport], store_content: bool = True,
                 engine: str = "fast") -> BatchWrites:
    """The statements a batch of validated claims writes."""
    writes = BatchWrites([c.iri for c in claims])
    for claim, report in zip(claims, reports, strict=True):
        writes.claim_statements += claim_lines(claim, store_content)
        writes.result_statements += result_lines(claim, report, engine)
    return writes


def batch_update(claims: list[ClaimGraph], reports: list[ClaimReport], store_content: bool = True,
                 engine: str = "fast") -> tuple[str, int]:
    """One SPARQL update that replaces the batch's claims and results; and its number of inserted triples."""
    writes = batch_writes(claims, reports, store_content, engine)
    return writes.update(), writes.triples


def stored_claims(target: ox.Store | UpdateTarget, claims: list[str]) -> set[str]:
    """Which of these claim IRIs the store already holds (claim triples or a validation)."""
    if not claims:
        return set()
    values = " ".join(_iri(c) for c in claims)
    query = (f"SELECT DISTINCT ?c WHERE {{ VALUES ?c {{ {values} }} "
             f"{{ GRAPH {_iri(GRAPH_CLAIMS)} {{ ?c ?p ?o }} }} UNION "
             f"{{ GRAPH {_iri(GRAPH_RESULTS)} {{ ?v {_iri(M99 + 'validatedClaim')} ?c }} }} }}")
    if isinstance(target, ox.Store):
        return {row["c"].value for row in target.query(query)}
    return {row["c"].value for row in target.select(query, union=False)}  # a RemoteStore


def write_batch(target: ox.Store | UpdateTarget, writes: BatchWrites) -> None:
    """Store one batch as one transaction (see the module docstring for which kind)."""
    present = stored_claims(target, writes.claims)
    if not present and isinstance(target, ox.Store):
        target.load(writes.nquads(), format=ox.RdfFormat.N_QUADS)
    else:
        target.update(writes.update(sorted(present)))


def load_outcomes(outcomes: Iterable, target: ox.Store | UpdateTarget, store_content: bool = True,
                  engine: str = "fast", progress=None) -> LoadSummary:
    """Store each validated unit (server.validation.batch.Outcome with its claims) as one transaction."""
    summary = LoadSummary()
    for outcome in outcomes:
        if not outcome.claims:
            continue
        writes = batch_writes(outcome.claims, outcome.reports, store_content, engine)
        write_batch(target, writes)
        summary.claims += len(outcome.claims)
        summary.results += sum(len(r.results) for r in outcome.reports)
        summary.batches += 1
        summary.triples += writes.triples
        if progress is not None:
            progress(summary)
    return summary


class _ChunkReader(io.RawIOBase):
    """A read-only binary stream over an iterator of byte chunks (what Oxigraph's bulk loader reads)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class StoreNotEmptyError(ValueError):
    """A bulk load was asked for a store that already holds claims or results."""


def bulk_load_outcomes(outcomes: Iterable, store: ox.Store, store_content: bool = True, engine: str = "fast",
                       progress=None) -> LoadSummary:
    """A first load into a store without claims, through Oxigraph's bulk loader (`m99kg load --bulk`).

    Per-batch transactions get slower as the store grows, because every inserted quad is first
    looked up; the bulk loader writes sorted index files instead, and is the way to backfill a large
    history. It is NOT transactional: an interrupted bulk load leaves part of the claims, so it only
    runs into a store with empty claims and results graphs (the remedy for an interrupted one is to
    clear those graphs and start again). Raises StoreNotEmptyError otherwise.
    """
    for graph in (GRAPH_CLAIMS, GRAPH_RESULTS):
        if next(iter(store.quads_for_pattern(None, None, None, ox.NamedNode(graph))), None) is not None:
            raise StoreNotEmptyError(f"the store already holds claims or results (graph <{graph}>); a bulk load "
                                     "only fills an empty store: load without --bulk to add or replace claims")
    summary = LoadSummary()

    def chunks() -> Iterator[bytes]:
        for outcome in outcomes:
            if not outcome.claims:
                continue
            writes = batch_writes(outcome.claims, outcome.reports, store_content, engine)
            summary.claims += len(outcome.claims)
            summary.results += sum(len(r.results) for r in outcome.reports)
            summary.batches += 1
            summary.triples += writes.triples
            yield writes.nquads()
            if progress is not None:
                progress(summary)

    store.bulk_load(io.BufferedReader(_ChunkReader(chunks()), 1 << 20), format=ox.RdfFormat.N_QUADS)
    return summary
