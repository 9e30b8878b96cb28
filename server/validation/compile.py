"""Compile SHACL shapes into set-at-a-time SPARQL queries (the fast engine's half of the shapes).

pySHACL runs a SPARQL-based constraint once per focus node, with `$this` pre-bound. Over a batch
that is one query per claim line per rule. The compiled form runs once per rule over the whole
batch: `$this` becomes a free variable and the shape's target becomes a triple pattern at the top
of the outermost group, so one query finds every violating focus node of the batch.

This equals pre-binding for the queries SHACL-SPARQL allows, given the project's rule convention
(nested SELECTs project `$this`; no VALUES, MINUS or SERVICE, which pySHACL refuses anyway). The
differential test (tests/test_fast_engine.py) proves the equality on generated claims.

What cannot be compiled — any other target or constraint type, `$shapesGraph`/`$currentShape`,
several messages, a projection without `$this` — is returned as a fallback shape, which the engine
hands to pySHACL. Nothing is ever written twice: the queries are the shapes' own text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import rdflib
from rdflib.namespace import RDF, RDFS

from server.namespaces import M99

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
_M99 = rdflib.Namespace(M99)

# the shape predicates the compiler understands; anything else on a shape makes it a fallback
_ALLOWED = {RDF.type, SH.targetClass, SH.sparql, SH.severity, SH.name, SH.description, SH.message,
            SH.deactivated, RDFS.label, RDFS.comment, _M99.ruleId, _M99.sourceLabel,
            rdflib.URIRef("http://purl.org/dc/terms/source")}
_CONSTRAINT_ALLOWED = {SH.select, SH.prefixes, SH.message, SH.deactivated, RDF.type}
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)
_PROJECTION = re.compile(r"^\s*SELECT\s+(.*?)\bWHERE\s*\{", re.IGNORECASE | re.DOTALL)
_DOLLAR_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_THIS = re.compile(r"[?$]this\b")


@dataclass(frozen=True)
class CompiledRule:
    """One shape's SPARQL constraint as a query over a whole batch."""

    shape: rdflib.term.Node
    constraint: rdflib.term.Node
    rule: str
    source_label: str
    severity: str  # IRI
    message: str | None
    query: str


@dataclass(frozen=True)
class Compilation:
    rules: tuple[CompiledRule, ...]
    fallback: tuple[tuple[rdflib.term.Node, str], ...]  # (shape, why it was not compiled)


def _prefixes(shapes: rdflib.Graph, constraint: rdflib.term.Node) -> str:
    lines = []
    for holder in shapes.objects(constraint, SH.prefixes):
        for decl in shapes.objects(holder, SH.declare):
            prefix = shapes.value(decl, SH.prefix)
            namespace = shapes.value(decl, SH.namespace)
            lines.append(f"PREFIX {prefix}: <{namespace}>")
    return "\n".join(sorted(set(lines)))


def compile_select(select: str, target_class: str, prefixes: str) -> str:
    """The batch form of one SELECT: `$this` free, the target as the first pattern of the query.

    Raises ValueError when the text does not have the form the compiler proves equal to pySHACL.
    """
    for var in ("shapesGraph", "currentShape", "PATH"):
        if re.search(rf"\${var}\b", select):
            raise ValueError(f"uses ${var}")
    match = _PROJECTION.search(select)
    if not match:
        raise ValueError("not a SELECT ... WHERE { ... } query")
    projection = match.group(1)
    if "*" not in projection and not _THIS.search(projection):
        raise ValueError("does not project $this")
    text = _DOLLAR_VAR.sub(r"?\1", select)
    where = _WHERE.search(text)
    assert where is not None  # the projection regex found it
    target = f"\n  ?this <{RDF.type}>/<{RDFS.subClassOf}>* <{target_class}> .\n"
    return f"{prefixes}\n{text[:where.end()]}{target}{text[where.end():]}"


def compile_shapes(shapes: rdflib.Graph) -> Compilation:
    """Every node shape of `shapes` with a rule id: compiled, or set aside for pySHACL with the reason."""
    rules: list[CompiledRule] = []
    fallback: list[tuple[rdflib.term.Node, str]] = []
    for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)), key=str):
        try:
            rules.append(_compile_one(shapes, shape))
        except ValueError as exc:
            fallback.append((shape, str(exc)))
    return Compilation(tuple(rules), tuple(fallback))


def _compile_one(shapes: rdflib.Graph, shape: rdflib.term.Node) -> CompiledRule:
    unknown = {p for p in shapes.predicates(shape, None)} - _ALLOWED
    if unknown:
        raise ValueError("has " + ", ".join(sorted(shapes.namespace_manager.normalizeUri(p) for p in unknown)))
    if shapes.value(shape, SH.deactivated) == rdflib.Literal(True):
        raise ValueError("is deactivated")
    targets = list(shapes.objects(shape, SH.targetClass))
    constraints = list(shapes.objects(shape, SH.sparql))
    shape_messages = list(shapes.objects(shape, SH.message))
    if len(targets) != 1 or len(constraints) != 1:
        raise ValueError("needs exactly one sh:targetClass and one sh:sparql")
    constraint = constraints[0]
    unknown = {p for p in shapes.predicates(constraint, None)} - _CONSTRAINT_ALLOWED
    if unknown or shapes.value(constraint, SH.deactivated) == rdflib.Literal(True):
        raise ValueError("its SPARQL constraint has other parts")
    selects = list(shapes.objects(constraint, SH.select))
    messages = list(shapes.objects(constraint, SH.message)) + shape_messages
    if len(selects) != 1 or len(messages) > 1:
        raise ValueError("needs one sh:select and at most one message")
    query = compile_select(str(selects[0]), str(targets[0]), _prefixes(shapes, constraint))
    severity = shapes.value(shape, SH.severity) or SH.Violation
    rule = shapes.value(shape, _M99.ruleId)
    return CompiledRule(
        shape=shape, constraint=constraint, rule=str(rule) if rule is not None else str(shape),
        source_label=str(shapes.value(shape, _M99.sourceLabel) or ""), severity=str(severity),
        message=str(messages[0]) if messages else None, query=query,
    )


def format_message(template: str, bindings: dict[str, str]) -> str:
    """Fill `{?var}` / `{$var}` the way pySHACL does (bindings applied in order; unbound left as written)."""
    for var, val in bindings.items():
        template = re.sub("{{[?$]{}}}".format(var), val, template)  # noqa: UP032 - pySHACL's exact pattern
    return template
