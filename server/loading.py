"""Load claims and their validation results into a store for analytics (`m99kg load`, `m99kg demo`).

Each batch becomes ONE SPARQL update: delete what the store holds for the batch's claims (claim
graph and results), then insert the new claim triples into the claims graph and the results into
the results graph. Oxigraph, embedded or as a server, runs one update request as one transaction,
so an interrupted load leaves every claim either as it was or fully replaced, never half written;
loading the same claim again replaces it (claim IRIs are deterministic).

Results are stored as SHACL validation results linked to their claim, rule, codes, provider, payer
and date (vocabulary: ontology/results.ttl), so the analytics queries need no claim content.
With store_content=False only the claim's codes, dates, payer and provider are kept: no patient,
no findings (their free text is clinical content).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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
    """Anything that runs a SPARQL 1.1 update in one transaction (pyoxigraph Store, RemoteStore)."""

    def update(self, sparql: str) -> None: ...


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
    """The claim's triples as N-Triples lines (without patient and findings unless store_content)."""
    if store_content:
        return [f"{_n(t.subject)} {_n(t.predicate)} {_n(t.object)} ." for t in claim.triples]
    findings = {t.object.value for t in claim.triples if t.predicate.value == M99 + "hasFinding"}
    return [f"{_n(t.subject)} {_n(t.predicate)} {_n(t.object)} ." for t in claim.triples
            if t.predicate.value not in _CONTENT_PREDICATES and t.subject.value not in findings]


def result_lines(claim: ClaimGraph, report: ClaimReport, engine: str = "fast") -> list[str]:
    """The claim's validation (counts, conformance, the facts analytics group by) and its results."""
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
        f"{validation} {_iri(RDF + 'type')} {_iri(M99 + 'ClaimValidation')} .",
        f"{validation} {_iri(M99 + 'validatedClaim')} {claim_node} .",
        f"{validation} {_iri(M99 + 'claimId')} {_n(ox.Literal(claim.claim_id))} .",
        f"{validation} {_iri(M99 + 'conforms')} {_n(ox.Literal(report.conforms))} .",
        f"{validation} {_iri(M99 + 'violationCount')} {_n(ox.Literal(counts['Violation']))} .",
        f"{validation} {_iri(M99 + 'warningCount')} {_n(ox.Literal(counts['Warning']))} .",
        f"{validation} {_iri(M99 + 'infoCount')} {_n(ox.Literal(counts['Info']))} .",
        f"{validation} {_iri(M99 + 'validatedWith')} {_n(ox.Literal(engine))} .",
    ]
    lines += [f"{validation} {s} ." for s in shared]
    for i, r in enumerate(report.results, 1):
        node = _iri(f"{claim.iri}/result/{i}")
        lines += [
            f"{node} {_iri(RDF + 'type')} {_iri(SH + 'ValidationResult')} .",
            f"{node} {_iri(M99 + 'inValidation')} {validation} .",
            f"{node} {_iri(M99 + 'resultClaim')} {claim_node} .",
            f"{node} {_iri(SH + 'focusNode')} {_iri(r.focus)} .",
            f"{node} {_iri(SH + 'resultSeverity')} {_iri(_SEVERITY_IRI[r.severity])} .",
            f"{node} {_iri(SH + 'sourceShape')} {_iri(RULE + r.rule)} .",
            f"{node} {_iri(M99 + 'resultRule')} {_iri(RULE + r.rule)} .",
            f"{node} {_iri(M99 + 'ruleId')} {_n(ox.Literal(r.rule))} .",
            f"{node} {_iri(SH + 'resultMessage')} {_n(ox.Literal(r.message))} .",
        ]
        lines += [f"{node} {_iri(M99 + 'resultCode')} {_code_iri(c)} ." for c in r.codes]
        lines += [f"{node} {s} ." for s in shared]
    return lines


def batch_update(claims: list[ClaimGraph], reports: list[ClaimReport], store_content: bool = True,
                 engine: str = "fast") -> tuple[str, int]:
    """One SPARQL update that replaces the batch's claims and results; and its number of inserted triples."""
    values = " ".join(_iri(c.iri) for c in claims)
    links = ", ".join(_iri(p) for p in _LINKS)
    claim_data: list[str] = []
    result_data: list[str] = []
    for claim, report in zip(claims, reports, strict=True):
        claim_data += claim_lines(claim, store_content)
        result_data += result_lines(claim, report, engine)
    cg, rg = _iri(GRAPH_CLAIMS), _iri(GRAPH_RESULTS)
    # the claim node's own triples are matched with ?c bound by VALUES (a BIND inside the group would
    # not see ?c and would match everything)
    text = (
        f"DELETE {{ GRAPH {cg} {{ ?s ?p ?o }} }} WHERE {{ VALUES ?c {{ {values} }} GRAPH {cg} {{\n"
        f"  {{ ?c ?p ?o . BIND(?c AS ?s) }} UNION {{ ?c ?link ?s . FILTER(?link IN ({links})) ?s ?p ?o }} }} }} ;\n"
        f"DELETE {{ GRAPH {rg} {{ ?s ?p ?o }} }} WHERE {{ VALUES ?c {{ {values} }} GRAPH {rg} {{\n"
        f"  {{ ?s {_iri(M99 + 'validatedClaim')} ?c }} UNION {{ ?s {_iri(M99 + 'resultClaim')} ?c }} ?s ?p ?o }} }} ;\n"
        f"INSERT DATA {{\nGRAPH {cg} {{\n" + "\n".join(claim_data) + f"\n}}\nGRAPH {rg} {{\n"
        + "\n".join(result_data) + "\n} }"
    )
    return text, len(claim_data) + len(result_data)


def load_outcomes(outcomes: Iterable, target: UpdateTarget, store_content: bool = True,
                  engine: str = "fast", progress=None) -> LoadSummary:
    """Store each validated unit (server.validation.batch.Outcome with its claims) as one transaction."""
    summary = LoadSummary()
    for outcome in outcomes:
        if not outcome.claims:
            continue
        text, n = batch_update(outcome.claims, outcome.reports, store_content, engine)
        target.update(text)
        summary.claims += len(outcome.claims)
        summary.results += sum(len(r.results) for r in outcome.reports)
        summary.batches += 1
        summary.triples += n
        if progress is not None:
            progress(summary)
    return summary

