"""Read the CMS/NCHS ICD-10-CM tabular XML that ships inside the `simple-icd-10-cm` package.

It is the only source of titles, hierarchy and notes. The tree gives chapters, sections (blocks)
and nested diag entries; codes that need a 7th character are completed with the characters their
nearest sevenChrDef ancestor lists, padded with the placeholder X, exactly as the tabular's
conventions prescribe. The result is checked against simple-icd-10-cm's own list of leaves.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

TABULAR_FILE = "icd10c-tabular-April-1-2026.xml"
CODE_LIST_FILE = "code-list-April-2026.txt"
RELEASE_LABEL = "ICD-10-CM April 1 2026 release (FY2026)"

NOTE_KINDS = ("notes", "includes", "inclusionTerm", "excludes1", "excludes2", "codeFirst",
              "useAdditionalCode", "codeAlso")


@dataclass
class Node:
    """One node of the tabular: chapter, block, category, subcategory or complete code."""

    iri_code: str  # the code as written in the IRI: "M99.04", "M99-M99", "M00-M99"
    notation: str  # skos:notation
    title: str
    level: str  # chapter | block | category | subcategory | code
    parent: str | None  # iri_code of the parent
    billable: bool
    notes: dict[str, list[str]] = field(default_factory=dict)
    chapter_number: str | None = None


def tabular_path() -> Path:
    return Path(str(resources.files("simple_icd_10_cm.data").joinpath(TABULAR_FILE)))


def code_list() -> set[str]:
    """The release's list of codes (undotted), shipped next to the tabular.

    Some 7th-character restrictions exist only as prose notes (category S06: no D or S after a
    6th character 7 or 8), so the list, not the sevenChrDef alone, says which completed codes exist.
    """
    text = resources.files("simple_icd_10_cm.data").joinpath(CODE_LIST_FILE).read_text("utf-8")
    return {line.strip() for line in text.splitlines() if line.strip()}


def _notes(elem: ET.Element) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind in NOTE_KINDS:
        texts = [n.text.strip() for child in elem.findall(kind) for n in child.findall("note") if n.text]
        if texts:
            out[kind] = texts
    return out


def _seven_chr(elem: ET.Element) -> dict[str, str] | None:
    sev = elem.find("sevenChrDef")
    if sev is None:
        return None
    return {e.get("char"): (e.text or "").strip() for e in sev.findall("extension")}


def _complete(code: str, char: str) -> str:
    """M53.2X + 8 is already complete; S32.10 + A -> S32.10XA; S33.2 + A -> S33.2XXA."""
    base = code.replace(".", "")
    base = base + "X" * (6 - len(base))
    full = base + char
    return full[:3] + "." + full[3:]


def read_tabular(path: Path | None = None) -> dict[str, Node]:
    """Every node of the release keyed by its IRI code, in tabular order."""
    tree = ET.parse(path or tabular_path())  # package data; expat resolves no external entities
    listed = code_list()
    nodes: dict[str, Node] = {}

    def put(node: Node) -> None:
        if node.iri_code in nodes:
            raise ValueError(f"two tabular nodes would share the IRI code {node.iri_code}")
        nodes[node.iri_code] = node

    def walk(diag: ET.Element, parent: str, seven: dict[str, str] | None, depth: int) -> None:
        code = diag.findtext("name").strip()
        title = diag.findtext("desc").strip()
        seven = _seven_chr(diag) or seven
        children = diag.findall("diag")
        level = "category" if depth == 0 else "subcategory"
        if not children and not seven:
            level = "code" if depth > 0 else "category"
        put(Node(code, code, title, level, parent, billable=not children and not seven, notes=_notes(diag)))
        for child in children:
            walk(child, code, seven, depth + 1)
        if not children and seven:
            for char, meaning in sorted(seven.items()):
                full = _complete(code, char)
                if full.replace(".", "") not in listed:
                    continue
                put(Node(full, full, f"{title}, {meaning}", "code", code, billable=True))

    for chapter in tree.getroot().findall("chapter"):
        number = chapter.findtext("name").strip()
        desc = chapter.findtext("desc").strip()
        match = re.search(r"\(([A-Z0-9]{3}-[A-Z0-9]{3})\)\s*$", desc)
        if not match:
            raise ValueError(f"chapter {number}: no code range in {desc!r}")
        chap = match.group(1)
        put(Node(chap, chap, desc, "chapter", None, billable=False, notes=_notes(chapter),
                 chapter_number=number))
        for section in chapter.findall("section"):
            sid = section.get("id")
            block = sid if "-" in sid else f"{sid}-{sid}"
            put(Node(block, block, section.findtext("desc").strip(), "block", chap, billable=False,
                     notes=_notes(section)))
            for diag in section.findall("diag"):
                walk(diag, block, None, 0)
    missing = [c for c, n in nodes.items() if n.level != "chapter" and "-" not in c
               and c.replace(".", "") not in listed]
    if missing:
        raise ValueError(f"tabular codes missing from {CODE_LIST_FILE}: {missing[:10]}")
    return nodes


def ancestors(nodes: dict[str, Node], code: str) -> list[str]:
    """Parent, grandparent, ... up to the chapter."""
    out = []
    parent = nodes[code].parent
    while parent is not None:
        out.append(parent)
        parent = nodes[parent].parent
    return out
