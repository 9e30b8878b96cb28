"""Named queries: one .rq file per query in queries/, with a header, exposed by name.

The header (grlc style) is a block of comment lines at the top of the file:

    # name: pairings-for-code
    # summary: Procedures that an ICD-10-CM code supports, with rationale and sources.
    # param: code icd10cm The code, with or without the dot (M99.04 or M9904).
    # param: family string optional A procedure family notation (CMT, OMT, E/M ...).

A parameter `code` appears in the query as the variable `?_code`. Binding replaces it with an RDF
term built from the typed value and written by pyoxigraph's serialiser (IRIs validated, literals
escaped), so a value can never change the query's structure. An optional parameter left out stays
a free variable: it matches anything.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from server import codes, resources
from server.namespaces import XSD

_HEADER = re.compile(r"^#\s*(name|summary|param|tags):\s*(.*)$")
_PARAM = re.compile(r"^(?P<name>[a-z][a-zA-Z0-9]*)\s+(?P<type>[a-z0-9]+)(?P<opt>\s+optional)?\s+(?P<desc>.+)$")


class QueryDefinitionError(ValueError):
    """A .rq file's header is malformed."""


class ParameterError(ValueError):
    """A parameter value is missing, unknown, or not of its declared type."""


def _icd10cm(value: str) -> ox.NamedNode:
    return ox.NamedNode(codes.icd10cm_iri(value))


def _cpt(value: str) -> ox.NamedNode:
    return ox.NamedNode(codes.cpt_iri(value))


def _integer(value: str) -> ox.Literal:
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", value.strip()):
        raise ValueError(f"{value!r} is not an integer")
    return ox.Literal(str(int(value)), datatype=ox.NamedNode(XSD + "integer"))


def _date(value: str) -> ox.Literal:
    return ox.Literal(dt.date.fromisoformat(value.strip()).isoformat(), datatype=ox.NamedNode(XSD + "date"))


def _boolean(value: str) -> ox.Literal:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise ValueError(f"{value!r} is not true or false")
    return ox.Literal(v, datatype=ox.NamedNode(XSD + "boolean"))


def _iri(value: str) -> ox.NamedNode:
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value):
        raise ValueError(f"{value!r} is not an absolute IRI")
    return ox.NamedNode(value)


#: Parameter types: name -> converter from the text a user sends to an RDF term.
PARAM_TYPES: dict[str, Callable[[str], ox.NamedNode | ox.Literal]] = {
    "icd10cm": _icd10cm,
    "cpt": _cpt,
    "string": lambda v: ox.Literal(v),
    "integer": _integer,
    "date": _date,
    "boolean": _boolean,
    "iri": _iri,
}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    optional: bool
    description: str


@dataclass(frozen=True)
class NamedQuery:
    name: str
    summary: str
    params: tuple[Param, ...]
    text: str
    path: Path
    tags: tuple[str, ...] = field(default_factory=tuple)

    def bind(self, values: Mapping[str, str]) -> str:
        """The query text with every given parameter replaced by its typed RDF term."""
        declared = {p.name: p for p in self.params}
        extra = sorted(set(values) - set(declared))
        if extra:
            raise ParameterError(f"{self.name} has no parameter {', '.join(extra)}; it takes: "
                                 + (", ".join(declared) or "none"))
        text = self.text
        for p in self.params:
            if p.name not in values or values[p.name] in (None, ""):
                if not p.optional:
                    raise ParameterError(f"{self.name} needs the parameter {p.name} ({p.type}): {p.description}")
                continue
            try:
                term = PARAM_TYPES[p.type](str(values[p.name]))
            except ValueError as exc:
                raise ParameterError(f"parameter {p.name} of {self.name}: {exc}") from None
            text = re.sub(rf"\?_{p.name}\b", lambda _m, t=str(term): t, text)
        return text


def parse_query_file(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    params: list[Param] = []
    tags: tuple[str, ...] = ()
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        m = _HEADER.match(line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "param":
            pm = _PARAM.match(value)
            if not pm or pm.group("type") not in PARAM_TYPES:
                raise QueryDefinitionError(f"{path.name}: bad param line {value!r}; expected "
                                           f"'name type [optional] description', type one of {sorted(PARAM_TYPES)}")
            params.append(Param(pm.group("name"), pm.group("type"), bool(pm.group("opt")), pm.group("desc")))
            if f"?_{pm.group('name')}" not in text:
                name = pm.group("name")
                raise QueryDefinitionError(f"{path.name}: parameter {name} is never used as ?_{name}")
        elif key == "tags":
            tags = tuple(t for t in re.split(r"[,\s]+", value) if t)
        else:
            meta[key] = value
    if meta.get("name") != path.stem:
        raise QueryDefinitionError(f"{path.name}: the header must say 'name: {path.stem}'")
    if not meta.get("summary"):
        raise QueryDefinitionError(f"{path.name}: the header has no summary")
    return NamedQuery(meta["name"], meta["summary"], tuple(params), text, path, tags)


def load_queries(directory: Path | None = None) -> dict[str, NamedQuery]:
    """Every named query in the folder, by name."""
    folder = directory or resources.queries_dir()
    return {q.name: q for q in (parse_query_file(p) for p in sorted(folder.glob("*.rq")))}
