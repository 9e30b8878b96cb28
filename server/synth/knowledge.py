"""What the generator knows, read once from the ontology Turtle (never from Python tables).

The synthetic claims are composed from the same facts the rules check: the M99 codes with their
region, mechanism and site (generated/m99-codes.ttl), the regions with their spinal/extraspinal
split, ordinal and OMT body region (facets.ttl), the manipulation codes with the region counts they
stand for and the other procedure families (procedures.ttl), the co-reported, displacing and
Excludes1 codes (displacements.ttl), the documentation elements and their PART/TART groups
(terms.ttl) and the claim tokens (claims.ttl). Reading them here, rather than writing them into the
generator, keeps a clean claim clean when the knowledge changes.

Only a few small files are loaded (not the 74,000-code set): about 0.3 s, cached per process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import pyoxigraph as ox

from server import resources
from server.namespaces import PREFIXES

_FILES = ("facets.ttl", "terms.ttl", "procedures.ttl", "displacements.ttl", "claims.ttl", "vocab.ttl")
_GENERATED = ("m99-codes.ttl",)


@dataclass(frozen=True)
class Region:
    token: str            # the claim-form token, e.g. "lumbar"
    fifth: str            # the 5th character of its M99 codes
    ordinal: int          # position on the axial chain (head 0 ... pelvic 5), extremities after
    spinal: bool          # a CMT spinal region (98940-98942) or extraspinal (98943)
    omt_region: str       # the OMT body region it counts as (both arms count once)
    label: str


@dataclass(frozen=True)
class M99Code:
    code: str             # dotted, e.g. "M99.03"
    subcategory: str      # "M99.0"
    region: str           # region token
    mechanism: str        # mechanism IRI local name, e.g. "segmental-dysfunction"
    site: str | None      # site claim value ("neural-canal" / "foramina") for the stenoses
    mechanism_values: tuple[str, ...]   # the mechanism claim values that agree with the code


@dataclass(frozen=True)
class Procedure:
    code: str
    family: str           # "cmt", "omt", "em", "therapy", "imaging", "electrodiagnostic", "injection"
    min_regions: int | None = None
    max_regions: int | None = None
    scope: str | None = None          # "SpinalRegion", "ExtraspinalRegion", "OMTBodyRegion"
    patient_status: str | None = None  # for E/M: "new" or "established"
    deprecated: bool = False
    add_on: bool = False
    requires: tuple[str, ...] = ()


@dataclass
class Knowledge:
    regions: dict[str, Region]
    codes: dict[str, M99Code]                        # billable M99 codes by dotted code
    headers: dict[str, tuple[str, ...]]               # header code -> its billable children
    procedures: dict[str, Procedure]
    co_reported: dict[tuple[str, str], tuple[str, ...]]   # (subcategory, region) -> billable codes
    displacing: dict[tuple[str, str], tuple[str, ...]]    # (stenosis subcategory, region) -> billable codes
    excludes1_same_region: dict[tuple[str, str], tuple[str, ...]]  # (subcategory, region) -> M43.5X codes
    part_elements: tuple[str, ...]
    tart_elements: tuple[str, ...]
    elements: tuple[str, ...]
    payers: tuple[str, ...]
    provider_types: tuple[str, ...]
    mechanism_values: tuple[str, ...]
    site_values: tuple[str, ...]
    by_subcategory_region: dict[tuple[str, str], str] = field(default_factory=dict)
    _levels: dict[tuple[str, str, int], str | None] = field(default_factory=dict)

    def code_for(self, subcategory: str, region: str) -> str | None:
        return self.by_subcategory_region.get((subcategory, region))

    def family(self, family: str) -> list[Procedure]:
        return [p for p in self.procedures.values() if p.family == family]

    def level_code(self, family: str, scope: str, n: int) -> str | None:
        """The manipulation code whose region range holds n (98941 for 3 spinal regions)."""
        key = (family, scope, n)
        if key not in self._levels:
            self._levels[key] = next((p.code for p in sorted(self.procedures.values(), key=lambda p: p.code)
                                      if p.family == family and p.scope == scope and p.min_regions is not None
                                      and p.min_regions <= n <= (p.max_regions or n)), None)
        return self._levels[key]


def _local(term: ox.NamedNode | ox.Literal) -> str:
    return term.value.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _icd(term: ox.NamedNode) -> str:
    return term.value.rsplit("/", 1)[-1]


def _rows(store: ox.Store, sparql: str) -> list[dict[str, ox.NamedNode | ox.Literal]]:
    result = store.query(sparql, prefixes=PREFIXES)
    names = [v.value for v in result.variables]
    return [{n: s[n] for n in names if s[n] is not None} for s in result]


@cache
def knowledge() -> Knowledge:
    """Load and index the knowledge the generator needs (cached: read once per process)."""
    store = ox.Store()
    onto = resources.ontology_dir()
    for name in _FILES:
        store.load(path=str(onto / name), format=ox.RdfFormat.TURTLE)
    for name in _GENERATED:
        store.load(path=str(resources.generated_dir() / name), format=ox.RdfFormat.TURTLE)

    regions = {}
    for r in _rows(store, """
        SELECT ?tok ?fifth ?ord ?spinal ?omt ?label WHERE {
          ?r a m99:Region ; m99:claimValue ?tok ; m99:fifthCharacter ?fifth ; m99:ordinal ?ord ;
             m99:omtRegion ?omt ; skos:prefLabel ?label .
          BIND(EXISTS { ?r a m99:SpinalRegion } AS ?spinal)
        } ORDER BY ?ord"""):
        regions[r["tok"].value] = Region(r["tok"].value, r["fifth"].value, int(r["ord"].value),
                                         r["spinal"].value == "true", _local(r["omt"]), r["label"].value)

    codes: dict[str, M99Code] = {}
    for r in _rows(store, """
        SELECT ?c ?sub ?tok ?mech (SAMPLE(?siteTok) AS ?site)
               (GROUP_CONCAT(DISTINCT ?mv; separator=" ") AS ?mvals) WHERE {
          ?c a m99:M99Code , m99:BillableCode ; skos:broader ?sub ; m99:mechanism ?mech .
          OPTIONAL { ?c m99:region/m99:claimValue ?tok }
          OPTIONAL { ?c m99:anatomicSite/m99:claimValue ?siteTok }
          OPTIONAL { { ?mech m99:claimValue ?mv } UNION { ?mech m99:hasComponent/m99:claimValue ?mv } }
        } GROUP BY ?c ?sub ?tok ?mech"""):
        code = _icd(r["c"])
        mvals = tuple(sorted(r["mvals"].value.split())) if "mvals" in r and r["mvals"].value else ()
        codes[code] = M99Code(code, _icd(r["sub"]), r["tok"].value if "tok" in r else "",
                              _local(r["mech"]), r["site"].value if "site" in r else None, mvals)

    headers: dict[str, list[str]] = {}
    for r in _rows(store, """
        SELECT ?h ?child WHERE { ?h a m99:HeaderCode ; skos:notation ?n . FILTER(STRSTARTS(?n, "M99"))
                                 OPTIONAL { ?child skos:broader ?h ; a m99:BillableCode } }"""):
        kids = headers.setdefault(_icd(r["h"]), [])
        if "child" in r:
            kids.append(_icd(r["child"]))

    procedures = {}
    for r in _rows(store, """
        SELECT ?n ?fam ?min ?max ?scope ?status ?dep ?addon (GROUP_CONCAT(?req; separator=" ") AS ?reqs) WHERE {
          ?p a m99:ProcedureCode ; skos:notation ?n ; m99:procedureFamily ?fam .
          OPTIONAL { ?p m99:minRegions ?min ; m99:maxRegions ?max ; m99:regionScope ?scope }
          OPTIONAL { ?p m99:patientStatus ?status }
          OPTIONAL { ?p owl:deprecated ?dep }
          OPTIONAL { ?p m99:isAddOn ?addon }
          OPTIONAL { ?p m99:requiresPrimary/skos:notation ?req }
        } GROUP BY ?n ?fam ?min ?max ?scope ?status ?dep ?addon"""):
        code = r["n"].value
        procedures[code] = Procedure(
            code, _local(r["fam"]),
            int(r["min"].value) if "min" in r else None, int(r["max"].value) if "max" in r else None,
            _local(r["scope"]) if "scope" in r else None, r["status"].value if "status" in r else None,
            "dep" in r and r["dep"].value == "true", "addon" in r and r["addon"].value == "true",
            tuple(sorted(r["reqs"].value.split())) if "reqs" in r and r["reqs"].value else ())

    def relation_index(relation: str, family_ok: bool) -> dict[tuple[str, str], tuple[str, ...]]:
        out: dict[tuple[str, str], set[str]] = {}
        for r in _rows(store, f"""
            SELECT ?sub ?tok ?by WHERE {{
              ?x m99:relation rel:{relation} ; m99:displacedSubcategory ?sub ; m99:displacedBy ?by ;
                 m99:forRegion/m99:claimValue ?tok .
              {"" if family_ok else "FILTER NOT EXISTS { ?x m99:codeFamily true }"}
            }}"""):
            out.setdefault((_icd(r["sub"]), r["tok"].value), set()).add(_icd(r["by"]))
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def tokens(cls: str) -> tuple[str, ...]:
        rows = _rows(store, f"SELECT ?t WHERE {{ ?x a {cls} ; m99:claimValue ?t }} ORDER BY ?t")
        return tuple(r["t"].value for r in rows)

    def group(name: str) -> tuple[str, ...]:
        return tuple(r["t"].value for r in _rows(store, f"""
            SELECT ?t WHERE {{ ?e m99:elementGroup group:{name} ; m99:claimValue ?t }} ORDER BY ?t"""))

    k = Knowledge(
        regions=regions, codes=codes, headers={h: tuple(sorted(v)) for h, v in headers.items()},
        procedures=procedures,
        co_reported=relation_index("co-reported", family_ok=False),
        displacing=relation_index("displaces", family_ok=False),
        excludes1_same_region=relation_index("excludes1", family_ok=False),
        part_elements=group("PART"), tart_elements=group("TART"),
        elements=tokens("m99:DocumentationElement"), payers=tokens("m99:Payer"),
        provider_types=tokens("m99:ProviderType"), mechanism_values=tokens("m99:Mechanism"),
        site_values=tokens("m99:AnatomicSite"),
    )
    k.by_subcategory_region = {(c.subcategory, c.region): c.code for c in codes.values() if c.region}
    return k
