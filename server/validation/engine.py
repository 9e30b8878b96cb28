"""Validate claim graphs with pySHACL, the reference engine, and read its report into rule results.

Each claim is validated with: its own triples, the extract of the store for the codes it names,
and the small reference graph (regions, mechanisms, sites, elements, payers, procedures,
sources). The rules are the shapes of shapes/claims-*.ttl; each rule is one sh:NodeShape with a
stable m99:ruleId, a severity, a message and its source. Rule SPARQL constraints bind ?value to the
codes the finding is about (space-separated), which the JSON report lists as `codes`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyshacl
import rdflib

from server import resources
from server.claims.graph import ClaimGraph
from server.namespaces import M99, SH
from server.store import Store
from server.validation import rdfconv
from server.validation.extract import codes_named, extract

REFERENCE_FILES = ("facets.ttl", "terms.ttl", "claims.ttl", "procedures.ttl", "sources.ttl")
SEVERITY = {SH + "Violation": "Violation", SH + "Warning": "Warning", SH + "Info": "Info"}
_SH = rdflib.Namespace(SH)
_M99 = rdflib.Namespace(M99)
_CODE = re.compile(r"^(?:[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?-?|[0-9]{4}[0-9A-Z])$")


def pyshacl_validate(data: rdflib.Graph, shapes: rdflib.Graph) -> tuple[bool, rdflib.Graph]:
    """The project's one way of calling pySHACL (also used for the W3C SHACL test suite)."""
    try:
        conforms, report, text = pyshacl.validate(
            data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=False, allow_infos=False,
        )
    except Exception as exc:  # pySHACL raises plain exceptions for shapes it cannot run
        raise ShapesError(f"pySHACL could not run the shapes: {type(exc).__name__}: {exc}") from exc
    if not isinstance(report, rdflib.Graph):  # pySHACL's ValidationFailure: a shape it cannot run
        raise ShapesError(f"pySHACL could not run the shapes: {text}")
    return bool(conforms), report


class ShapesError(RuntimeError):
    """A shape cannot be evaluated (an error in shapes/, not in the claim)."""


def claim_shape_files() -> list[Path]:
    return sorted(resources.shapes_dir().glob("claims-*.ttl"))


PROFILES_FILE = "payer-profiles.ttl"


@dataclass(frozen=True)
class RuleResult:
    rule: str
    severity: str
    focus: str
    codes: tuple[str, ...]
    message: str
    source: str

    def as_json(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "focus": self.focus, "codes": list(self.codes),
                "message": self.message, "source": self.source}


@dataclass
class ClaimReport:
    claim: str
    iri: str
    results: list[RuleResult] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not any(r.severity == "Violation" for r in self.results)


def codes_of(value: str) -> tuple[str, ...]:
    """The codes a result is about: the words of its sh:value (an IRI's last segment) that look like codes."""
    text = value.rsplit("/", 1)[-1] if value.startswith(("http://", "https://")) else value
    return tuple(c for c in text.split() if _CODE.match(c))


_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


def ordered(results: Iterable[RuleResult]) -> list[RuleResult]:
    """Results worst first, each said once (both engines report one result per solution row)."""
    return sorted(set(results), key=lambda r: (_ORDER[r.severity], r.rule, r.focus, r.codes, r.message))


def claim_payer(claim: ClaimGraph) -> str:
    return next((t.object.value for t in claim.triples
                 if t.predicate.value == M99 + "payer" and t.subject.value == claim.iri), "")


class Report:
    """Per-claim results, and the SHACL report graph (built when first asked for)."""

    def __init__(self, claims: list[ClaimReport], graph: rdflib.Graph | Callable[[], rdflib.Graph]) -> None:
        self.claims = claims
        self._graph = graph

    @property
    def graph(self) -> rdflib.Graph:
        if callable(self._graph):
            self._graph = self._graph()
        return self._graph

    @property
    def conforms(self) -> bool:
        return all(c.conforms for c in self.claims)

    def count(self, severity: str) -> int:
        return sum(1 for c in self.claims for r in c.results if r.severity == severity)

    def as_json(self) -> dict:
        return {
            "conforms": self.conforms,
            "summary": {"claims": len(self.claims), "violations": self.count("Violation"),
                        "warnings": self.count("Warning"), "infos": self.count("Info")},
            "claims": [{"claim": c.claim, "conforms": c.conforms, "results": [r.as_json() for r in c.results]}
                       for c in self.claims],
        }


class Validator:
    """Holds the parsed shapes and reference graph; validates claim graphs against a store."""

    def __init__(self, store: Store, shape_files: list[Path] | None = None) -> None:
        self.store = store
        self.shape_files = shape_files or claim_shape_files()

    @cached_property
    def shapes(self) -> rdflib.Graph:
        g = rdflib.Graph()
        for path in self.shape_files:
            g.parse(path, format="turtle")
        return g

    @cached_property
    def reference(self) -> rdflib.Graph:
        g = rdflib.Graph()
        for name in REFERENCE_FILES:
            g.parse(resources.ontology_dir() / name, format="turtle")
        return g

    @cached_property
    def rules(self) -> dict[rdflib.term.Node, tuple[str, str]]:
        """Shape node -> (rule id, source label), for node shapes and the property shapes they hold."""
        out = {}
        for shape, rule in self.shapes.subject_objects(_M99.ruleId):
            label = str(self.shapes.value(shape, _M99.sourceLabel) or "")
            out[shape] = (str(rule), label)
            for prop in self.shapes.objects(shape, _SH.property):
                out.setdefault(prop, (str(rule), label))
        return out

    @cached_property
    def overrides(self) -> dict[str, dict[str, rdflib.URIRef]]:
        """Payer IRI -> {rule id -> severity IRI}, from shapes/payer-profiles.ttl."""
        g = rdflib.Graph().parse(resources.shapes_dir() / PROFILES_FILE, format="turtle")
        out: dict[str, dict[str, rdflib.URIRef]] = {}
        for profile, payer in g.subject_objects(_M99.forPayer):
            rules = out.setdefault(str(payer), {})
            for override in g.objects(profile, _M99.severityOverride):
                rules[str(g.value(override, _M99.rule))] = g.value(override, _SH.severity)
        return out

    def data_graph(self, claim: ClaimGraph) -> rdflib.Graph:
        g = rdflib.Graph()
        for t in self.reference:
            g.add(t)
        rdfconv.add_triples(g, claim.triples)
        rdfconv.add_triples(g, extract(self.store, codes_named(claim.triples)))
        return g

    def validate(self, claims: list[ClaimGraph]) -> Report:
        """Validate each claim on its own (pySHACL per claim: the reference behaviour)."""
        reports = []
        merged = rdflib.Graph()
        for claim in claims:
            _conforms, graph = pyshacl_validate(self.data_graph(claim), self.shapes)
            overrides = self.overrides.get(claim_payer(claim), {})
            reports.append(ClaimReport(claim.claim_id, claim.iri, self._results(graph, overrides)))
            for t in graph:
                merged.add(t)
        # the SHACL report graph keeps SHACL's meaning of sh:conforms (no result at all); the JSON
        # report's "conforms" is the product's (no Violation)
        return Report(reports, merged)

    def _results(self, report: rdflib.Graph, overrides: dict[str, rdflib.URIRef]) -> list[RuleResult]:
        """Read pySHACL's report; apply the payer's severity overrides to it and to the results."""
        out = []
        for node in list(report.subjects(rdflib.RDF.type, _SH.ValidationResult)):
            shape = report.value(node, _SH.sourceShape)
            rule, source = self.rules.get(shape, (str(shape), ""))
            if rule in overrides:
                report.set((node, _SH.resultSeverity, overrides[rule]))
            value = report.value(node, _SH.value)
            out.append(RuleResult(
                rule=rule,
                severity=SEVERITY.get(str(report.value(node, _SH.resultSeverity)), "Violation"),
                focus=str(report.value(node, _SH.focusNode)),
                codes=codes_of(str(value)) if value is not None else (),
                message=str(report.value(node, _SH.resultMessage) or ""),
                source=source,
            ))
        return ordered(out)
