"""A deterministic Turtle writer for generated files.

rdflib's serializer is slow on the 500,000 triples of the code set and its layout is not a
promise; generated files must be byte-identical from one build to the next so that a test can
compare them with a fresh build. Subjects are sorted, rdf:type comes first, then predicates and
objects in sorted order. No blank nodes are written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import pyoxigraph as ox

from server.namespaces import RDF, XSD

Term = ox.NamedNode | ox.Literal
_LOCAL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?$")
_TYPE = RDF + "type"


class TurtleWriter:
    """Collects triples and writes them as sorted, prefixed Turtle."""

    def __init__(self, prefixes: dict[str, str], header: str) -> None:
        self._prefixes = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))
        self._declared = dict(prefixes)
        self._header = header
        self._triples: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._count = 0
        self._used: set[str] = set()

    def add(self, subject: str, predicate: str, obj: Term | str | bool | int) -> None:
        """Add one triple. A plain str object is an IRI; use ox.Literal for text."""
        rendered = self._object(obj)
        bucket = self._triples[subject][predicate]
        if rendered not in bucket:
            bucket.add(rendered)
            self._count += 1

    def add_quads(self, triples: Iterable[ox.Triple | ox.Quad]) -> None:
        for t in triples:
            if not isinstance(t.subject, ox.NamedNode):
                raise ValueError(f"generated files carry no blank nodes: {t}")
            self.add(t.subject.value, t.predicate.value, t.object)

    def __len__(self) -> int:
        return self._count

    def _name(self, iri: str) -> str:
        if iri == _TYPE:
            return "a"
        for prefix, base in self._prefixes:
            if iri.startswith(base) and _LOCAL.match(iri[len(base) :]):
                self._used.add(prefix)
                return f"{prefix}:{iri[len(base):]}"
        return f"<{iri}>"

    def _object(self, obj: Term | str | bool | int) -> str:
        if isinstance(obj, bool):
            return "true" if obj else "false"
        if isinstance(obj, int):
            return str(obj)
        if isinstance(obj, str):
            return self._name(obj)
        if isinstance(obj, ox.NamedNode):
            return self._name(obj.value)
        if isinstance(obj, ox.Literal):
            dt = obj.datatype.value
            if dt == XSD + "boolean" and obj.value in ("true", "false"):
                return obj.value
            if dt == XSD + "integer" and re.fullmatch(r"-?[0-9]+", obj.value):
                return obj.value
            text = str(ox.Literal(obj.value, language=obj.language)) if obj.language else None
            if text is None:
                plain = str(ox.Literal(obj.value))
                text = plain if dt == XSD + "string" else f"{plain}^^{self._name(dt)}"
            return text
        raise TypeError(f"cannot write {obj!r}")

    def write(self, path: Path, sort_key: Callable[[str], object] | None = None) -> None:
        """Write the file; subjects in sort_key order (default: the IRI)."""
        body = []
        for subject in sorted(self._triples, key=sort_key or (lambda s: s)):
            preds = self._triples[subject]
            ordered = sorted(preds, key=lambda p: (p != _TYPE, self._name(p)))
            parts = [f"{self._name(p)} {' , '.join(sorted(preds[p]))}" for p in ordered]
            body.append(self._name(subject) + " " + " ;\n    ".join(parts) + " .\n")
        lines = [self._header.rstrip() + "\n\n"] if self._header else []
        lines += [f"@prefix {p}: <{base}> .\n" for p, base in sorted(self._declared.items()) if p in self._used]
        lines.append("\n")
        lines += body
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines), encoding="utf-8")


def lit(text: str, lang: str | None = None) -> ox.Literal:
    return ox.Literal(text, language=lang) if lang else ox.Literal(text)
