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

Vocabulary types (`region`, `mechanism`, `site`, `family`, `strength`) accept the token a claim or a user
writes (`lumbar`, `osseous`, `foramina`, `CMT`), the prefixed name (`region:lumbar`) or the full
IRI, and resolve it against the individuals the ontology actually holds: an unknown word is a
ParameterError that lists the known ones, never a query that silently matches nothing.

Any type followed by `-list` (`region-list`, `token-list`, `icd10cm-list` ...) takes several values
separated by commas. Each item is checked and serialised on its own and the terms are joined with
", ", so the placeholder belongs in an IN list: `FILTER(?r IN (?_regions))`. That text is valid
SPARQL before and after binding, and no item can carry a comma, a bracket or a quote into it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from server import codes, resources
from server.namespaces import M99, PREFIXES, SKOS, XSD

_HEADER = re.compile(r"^#\s*(name|summary|param|tags):\s*(.*)$")
_PARAM = re.compile(r"^(?P<name>[a-z][a-zA-Z0-9]*)\s+(?P<type>[a-z0-9]+(?:-list)?)(?P<opt>\s+optional)?"
                    r"\s+(?P<desc>.+)$")
LIST_SUFFIX = "-list"
#: The most items a list parameter takes: more than any real list (ten regions), few enough to stay cheap.
MAX_LIST_ITEMS = 50
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


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


def _token(value: str) -> ox.Literal:
    v = value.strip()
    if not _TOKEN.fullmatch(v):
        raise ValueError(f"{value!r} is not a token (letters, digits, '.', '_' or '-', at most 64, "
                         "starting with a letter or digit)")
    return ox.Literal(v)


#: Vocabulary parameter types: type name -> the class whose individuals (in the ontology) are its values.
VOCABULARY_TYPES: dict[str, str] = {
    "region": M99 + "Region",
    "mechanism": M99 + "Mechanism",
    "site": M99 + "AnatomicSite",
    "family": M99 + "ProcedureFamily",
    "strength": M99 + "Strength",
}


@dataclass(frozen=True)
class Vocabulary:
    """The individuals of one class: what each accepted spelling resolves to, and the tokens to suggest."""

    iris: dict[str, str]
    tokens: tuple[str, ...]


@functools.cache
def vocabularies() -> dict[str, Vocabulary]:
    """Read once from the hand-written ontology (about 20 ms), so tokens follow the Turtle, not Python."""
    graph = ox.Store()
    for path in resources.handwritten_ontology_files():
        graph.load(path=str(path), format=ox.RdfFormat.TURTLE)
    out = {}
    for type_name, cls in VOCABULARY_TYPES.items():
        rows = graph.query(f"""
            SELECT ?x ?cv ?notation ?ord WHERE {{
              ?x a <{cls}> . FILTER(isIRI(?x))
              OPTIONAL {{ ?x <{M99}claimValue> ?cv }}
              OPTIONAL {{ ?x <{SKOS}notation> ?notation }}
              OPTIONAL {{ ?x <{M99}ordinal> ?ord }}
              OPTIONAL {{ ?x <{M99}fourthCharacter> ?fourth }}
            }} ORDER BY ?ord ?fourth ?x""")
        iris: dict[str, str] = {}
        tokens: list[str] = []
        for row in rows:
            iri = row["x"].value
            local = re.split(r"[/#]", iri)[-1]
            keys = [iri, local] + [row[k].value for k in ("cv", "notation") if row[k] is not None]
            keys += [f"{prefix}:{iri[len(ns):]}" for prefix, ns in PREFIXES.items() if iri.startswith(ns)]
            for key in keys:
                iris.setdefault(key.lower(), iri)
            token = row["cv"].value if row["cv"] is not None else local
            if token not in tokens:
                tokens.append(token)
        out[type_name] = Vocabulary(iris, tuple(tokens))
    return out


def _vocabulary_term(type_name: str) -> Callable[[str], ox.NamedNode]:
    def convert(value: str) -> ox.NamedNode:
        vocabulary = vocabularies()[type_name]
        iri = vocabulary.iris.get(value.strip().lower())
        if iri is None:
            raise ValueError(f"{value!r} is not a {type_name}; expected one of {', '.join(vocabulary.tokens)} "
                             f"(or its IRI)")
        return ox.NamedNode(iri)

    convert.__name__ = f"_{type_name}"
    return convert


#: Parameter types: name -> converter from the text a user sends to an RDF term.
#: Each also exists as `<name>-list` (see the module docstring).
PARAM_TYPES: dict[str, Callable[[str], ox.NamedNode | ox.Literal]] = {
    "icd10cm": _icd10cm,
    "cpt": _cpt,
    "string": lambda v: ox.Literal(v),
    "integer": _integer,
    "date": _date,
    "boolean": _boolean,
    "iri": _iri,
    "token": _token,
    **{name: _vocabulary_term(name) for name in VOCABULARY_TYPES},
}


def is_param_type(type_name: str) -> bool:
    """A declared parameter type is a known type or a known type followed by -list."""
    return type_name.removesuffix(LIST_SUFFIX) in PARAM_TYPES


def param_text(type_name: str, value: str) -> str:
    """The SPARQL text that replaces a parameter: one serialised term, or for a list type the items'
    terms joined with ", " (duplicates dropped, order kept). Raises ValueError naming the bad item."""
    if not type_name.endswith(LIST_SUFFIX):
        return str(PARAM_TYPES[type_name](value))
    convert = PARAM_TYPES[type_name.removesuffix(LIST_SUFFIX)]
    items = [item.strip() for item in value.split(",")]
    if not any(items):
        raise ValueError("the list is empty")
    if len(items) > MAX_LIST_ITEMS:
        raise ValueError(f"the list has {len(items)} items; at most {MAX_LIST_ITEMS} are accepted")
    terms: list[str] = []
    for position, item in enumerate(items, start=1):
        if not item:
            raise ValueError(f"item {position} is empty (two commas in a row, or a comma at an end)")
        try:
            term = str(convert(item))
        except ValueError as exc:
            raise ValueError(f"item {position}: {exc}") from None
        if term not in terms:
            terms.append(term)
    return ", ".join(terms)


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
                term = param_text(p.type, str(values[p.name]))
            except ValueError as exc:
                raise ParameterError(f"parameter {p.name} of {self.name}: {exc}") from None
            text = re.sub(rf"\?_{p.name}\b", lambda _m, t=term: t, text)
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
            if not pm or not is_param_type(pm.group("type")):
                raise QueryDefinitionError(f"{path.name}: bad param line {value!r}; expected "
                                           f"'name type [optional] description', type one of {sorted(PARAM_TYPES)}"
                                           f" (each also as <type>{LIST_SUFFIX})")
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
