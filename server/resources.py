"""Where the declarative sources (ontology/, shapes/, queries/) are at run time.

In a checkout (and an editable install) they are the top-level folders next to server/; a wheel
carries copies under server/resources/. Looking in the checkout first means an edited Turtle file
is picked up without reinstalling.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "resources" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ folder next to {_PACKAGE}")


def ontology_dir() -> Path:
    """Hand-written ontology Turtle; generated files are in its generated/ subfolder."""
    return _find("ontology")


def generated_dir() -> Path:
    return ontology_dir() / "generated"


def shapes_dir() -> Path:
    return _find("shapes")


def queries_dir() -> Path:
    return _find("queries")


def handwritten_ontology_files() -> list[Path]:
    """The hand-written ontology files, sorted, so every load sees them in the same order."""
    return sorted(ontology_dir().glob("*.ttl"))


def generated_ontology_files() -> list[Path]:
    """Generated files that belong to the ontology graph (the code set is a graph of its own)."""
    return sorted(p for p in generated_dir().glob("*.ttl") if p.name != CODESET_FILE)


CODESET_FILE = "codeset.ttl"


def knowledge_files(codeset: bool = True, shapes: bool = True) -> list[tuple[Path, str]]:
    """(file, named graph) for every graph the store serves, in load order."""
    from server.namespaces import GRAPH_CODESET, GRAPH_ONTOLOGY, GRAPH_SHAPES

    files = [(p, GRAPH_ONTOLOGY) for p in handwritten_ontology_files() + generated_ontology_files()]
    if codeset:
        files.append((codeset_file(), GRAPH_CODESET))
    if shapes:
        files += [(p, GRAPH_SHAPES) for p in sorted(shapes_dir().glob("*.ttl"))]
    return files


def codeset_file() -> Path:
    return generated_dir() / CODESET_FILE
