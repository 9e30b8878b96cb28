"""Fault operators: turn a clean claim into one that a named rule reports.

Two kinds. *Mutation* operators make the mistakes billing teams make on a real claim (AT left off,
the wrong CMT level, a header code, a pointer past the last diagnosis, the functional impact not
documented ...); each checks that it applies to the claim in hand and returns False when it does
not, leaving the claim untouched. *Template* operators re-identify the claim of
examples/claims/<rule>/fires.json (new id, provider, patient and dates), so that every rule of the
catalogue, including the rare ones no mutation reaches, can be produced.

Every operator names the rule(s) it is meant to trigger; the generator reports them beside the
claim, never inside it (the claim form has no field for them).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from server.synth.compose import Composer, Episode
from server.synth.data import phrases, rule_examples
from server.synth.knowledge import Knowledge

Claim = dict[str, Any]


@dataclass(frozen=True)
class Operator:
    name: str
    rules: tuple[str, ...]
    weight: float
    fn: Callable[[Claim, FaultContext], bool]
    lines_only: bool = False   # touches service lines only: may be combined with another operator
    target: str = ""           # what it edits; a second operator never edits the same thing (it could undo the first)


@dataclass
class FaultContext:
    k: Knowledge
    comp: Composer
    episode: Episode

    @property
    def rng(self):
        return self.comp.rng


# -- claim helpers ---------------------------------------------------------------------------------

def _dx(claim: Claim, k: Knowledge) -> list[tuple[int, Any]]:
    """(0-based position, M99Code) for the claim's billable M99 diagnoses."""
    return [(i, k.codes[c]) for i, c in enumerate(claim["diagnoses"]) if c in k.codes]


def _functional_dx(claim: Claim, k: Knowledge) -> list[tuple[int, Any]]:
    return [(i, c) for i, c in _dx(claim, k) if c.subcategory in ("M99.0", "M99.1") and c.region]


def _line(claim: Claim, k: Knowledge, family: str, scope: str | None = None) -> dict | None:
    for line in claim["lines"]:
        p = k.procedures.get(line["procedure"])
        if p and p.family == family and (scope is None or p.scope == scope):
            return line
    return None


def _remap(claim: Claim, mapping: dict[int, int | None]) -> None:
    """Apply a position mapping (old 1-based -> new, None = removed) to every line's pointers."""
    for line in claim["lines"]:
        new = [mapping.get(p, p) for p in line["pointers"]]
        line["pointers"] = [p for p in new if p is not None] or [1]


def _remove_dx(claim: Claim, positions: set[int]) -> None:
    n = len(claim["diagnoses"])
    mapping: dict[int, int | None] = {}
    kept = 0
    for i in range(n):
        if i in positions:
            mapping[i + 1] = None
        else:
            kept += 1
            mapping[i + 1] = kept
    claim["diagnoses"] = [c for i, c in enumerate(claim["diagnoses"]) if i not in positions]
    _remap(claim, mapping)


def _move_to_front(claim: Claim, pos: int) -> None:
    dx = claim["diagnoses"]
    order = [pos] + [i for i in range(len(dx)) if i != pos]
    claim["diagnoses"] = [dx[i] for i in order]
    _remap(claim, {old + 1: new + 1 for new, old in enumerate(order)})


def _regions_documented(claim: Claim) -> set[str]:
    return {f["region"] for f in claim["findings"] if "region" in f}


def _spinal_regions(claim: Claim, k: Knowledge) -> int:
    return len({c.region for _, c in _functional_dx(claim, k) if k.regions[c.region].spinal})


def _omt_regions(claim: Claim, k: Knowledge) -> int:
    return len({k.regions[c.region].omt_region for _, c in _functional_dx(claim, k)})


def _other_level(k: Knowledge, code: str, up: bool) -> str | None:
    p = k.procedures[code]
    for q in sorted(k.procedures.values(), key=lambda q: q.code):
        if q.family == p.family and q.scope == p.scope and q.min_regions is not None and (
                (up and q.min_regions == (p.max_regions or 0) + 1) or (not up and q.max_regions == p.min_regions - 1)):
            return q.code
    return None


# -- modifiers ---------------------------------------------------------------------------------------

def missing_at(c: Claim, x: FaultContext) -> bool:
    line = _line(c, x.k, "cmt", "SpinalRegion")
    if c["payer"] != "medicare" or not line or not {"AT", "GA", "GZ"} & set(line["modifiers"]):
        return False
    line["modifiers"] = [m for m in line["modifiers"] if m not in ("AT", "GA", "GZ")]
    return True


def at_with_ga(c: Claim, x: FaultContext) -> bool:
    line = _line(c, x.k, "cmt", "SpinalRegion")
    if c["payer"] != "medicare" or not line:
        return False
    line["modifiers"] = ["AT", "GA"] if x.rng.random() < 0.7 else ["GA", "GZ"]
    return True


def em_without_25(c: Claim, x: FaultContext) -> bool:
    if not (_line(c, x.k, "cmt") or _line(c, x.k, "omt")):
        return False
    em = _line(c, x.k, "em")
    if em:
        em["modifiers"] = [m for m in em["modifiers"] if m != "25"]
    else:
        c["lines"].insert(0, {"procedure": x.rng.choice(x.comp.em_est[1:3]), "modifiers": [], "units": 1,
                              "pointers": [1]})
    return True


def _non_m99_pointer(c: Claim, k: Knowledge) -> int:
    for i, code in enumerate(c["diagnoses"]):
        if code not in k.codes:
            return i + 1
    return 1


def therapy_97140_no_modifier(c: Claim, x: FaultContext) -> bool:
    if not _line(c, x.k, "cmt"):
        return False
    for line in c["lines"]:
        if line["procedure"] == "97140":
            line["modifiers"] = [m for m in line["modifiers"] if m not in ("59", "XS")]
            return True
    c["lines"].append({"procedure": "97140", "modifiers": [], "units": x.rng.randint(1, 2),
                       "pointers": [_non_m99_pointer(c, x.k)]})
    return True


def therapy_97140_same_region(c: Claim, x: FaultContext) -> bool:
    line = _line(c, x.k, "cmt", "SpinalRegion")
    if not line or c["diagnoses"][line["pointers"][0] - 1] not in x.k.codes:
        return False
    c["lines"] = [ln for ln in c["lines"] if ln["procedure"] != "97140"]
    c["lines"].append({"procedure": "97140", "modifiers": [x.rng.choice(("59", "XS"))], "units": 1,
                       "pointers": [line["pointers"][0]]})
    return True


def therapy_97112_no_modifier(c: Claim, x: FaultContext) -> bool:
    if not _line(c, x.k, "cmt"):
        return False
    c["lines"].append({"procedure": x.rng.choice(("97112", "97124")), "modifiers": [], "units": x.rng.randint(1, 2),
                       "pointers": [_non_m99_pointer(c, x.k)]})
    return True


def _add_extraspinal(c: Claim, x: FaultContext) -> int | None:
    """Position (1-based) of an extraspinal M99.0x diagnosis, added with its findings if needed."""
    for i, code in _functional_dx(c, x.k):
        if not x.k.regions[code.region].spinal:
            return i + 1
    if len(c["diagnoses"]) >= 12:
        return None
    region = x.rng.choice(x.comp.extraspinal)
    c["diagnoses"].append(x.k.code_for("M99.0", region))
    c["findings"] += [{"region": r, "element": e, "text": t}
                      for r, e, t, _ in x.comp.region_findings(region, 2, part=True)]
    return len(c["diagnoses"])


def medicare_98943(c: Claim, x: FaultContext, modifiers: list[str]) -> bool:
    if c["payer"] != "medicare" or c["providerType"] != "chiropractor" or not c["findings"]:
        return False
    for line in c["lines"]:
        if line["procedure"] == "98943":
            line["modifiers"] = modifiers
            return True
    pos = _add_extraspinal(c, x)
    if pos is None:
        return False
    c["lines"].append({"procedure": "98943", "modifiers": modifiers, "units": 1, "pointers": [pos]})
    return True


def extraspinal_without_dx(c: Claim, x: FaultContext) -> bool:
    if not _line(c, x.k, "cmt") or any(not x.k.regions[d.region].spinal for _, d in _dx(c, x.k) if d.region):
        return False
    c["lines"].append({"procedure": "98943", "modifiers": ["GY"] if c["payer"] == "medicare" else [], "units": 1,
                       "pointers": [1]})
    return True


# -- diagnoses -----------------------------------------------------------------------------------------

def primary_dx_swap(c: Claim, x: FaultContext) -> bool:
    if c["payer"] != "medicare" or not _line(c, x.k, "cmt", "SpinalRegion"):
        return False
    others = [i for i, code in enumerate(c["diagnoses"]) if i > 0 and code not in x.k.codes]
    if not others:
        return False
    _move_to_front(c, others[0])
    return True


def primary_dx_disputed(c: Claim, x: FaultContext) -> bool:
    if c["payer"] != "medicare" or not _line(c, x.k, "cmt", "SpinalRegion") or c["diagnoses"][0] not in x.k.codes:
        return False
    first = x.k.codes[c["diagnoses"][0]]
    alt = x.k.code_for("M99.1", first.region)
    if first.subcategory != "M99.0" or not alt or alt in c["diagnoses"]:
        return False
    c["diagnoses"][0] = alt
    return True


def drop_nms_secondary(c: Claim, x: FaultContext) -> bool:
    if c["payer"] != "medicare" or c["providerType"] != "chiropractor":
        return False
    others = {i for i, code in enumerate(c["diagnoses"]) if code not in x.k.codes}
    if not others or len(others) == len(c["diagnoses"]):
        return False
    _remove_dx(c, others)
    return True


def wrong_region(c: Claim, x: FaultContext) -> bool:
    """Code the region next to the one documented (the lumbar/sacral trap)."""
    k = x.k
    documented = _regions_documented(c)
    if not documented:
        return False
    for i, code in _dx(c, k):
        if not code.region or not k.regions[code.region].spinal:
            continue
        ordinal = k.regions[code.region].ordinal
        for r in k.regions.values():
            alt = k.code_for(code.subcategory, r.token)
            if r.spinal and abs(r.ordinal - ordinal) == 1 and r.token not in documented and alt \
                    and alt not in c["diagnoses"]:
                c["diagnoses"][i] = alt
                return True
    return False


def header_code(c: Claim, x: FaultContext) -> bool:
    for i, code in _dx(c, x.k):
        if code.subcategory in x.k.headers and code.subcategory not in c["diagnoses"]:
            c["diagnoses"][i] = code.subcategory
            return True
    return False


def typo_code(c: Claim, x: FaultContext) -> bool:
    dx = _dx(c, x.k)
    if not dx:
        return False
    i, code = x.rng.choice(dx)
    c["diagnoses"][i] = code.code + str(x.rng.randint(0, 9))   # one keystroke too many: not in the release
    return True


def repeated_code(c: Claim, x: FaultContext) -> bool:
    dx = _dx(c, x.k)
    if not dx or len(c["diagnoses"]) >= 12:
        return False
    c["diagnoses"].append(x.rng.choice(dx)[1].code.replace(".", ""))
    return True


def _fill_secondaries(c: Claim, x: FaultContext, n: int) -> bool:
    pool = sorted({code for codes in x.k.co_reported.values() for code in codes} - set(c["diagnoses"]))
    need = n - len(c["diagnoses"])
    if need > len(pool):
        return False
    c["diagnoses"] += x.rng.sample(pool, need) if need > 0 else []
    return True


def too_many_diagnoses(c: Claim, x: FaultContext) -> bool:
    return len(c["diagnoses"]) <= 12 and _fill_secondaries(c, x, 13)


def pointer_past_end(c: Claim, x: FaultContext) -> bool:
    if not c["lines"]:
        return False
    line = x.rng.choice(c["lines"])
    bad = len(c["diagnoses"]) + x.rng.randint(1, 2)
    line["pointers"] = [*line["pointers"][:3], bad]
    return True


def too_many_pointers(c: Claim, x: FaultContext) -> bool:
    if not c["lines"] or len(c["diagnoses"]) > 12 or not _fill_secondaries(c, x, max(5, len(c["diagnoses"]))):
        return False
    c["lines"][-1]["pointers"] = list(range(1, min(len(c["diagnoses"]), 6) + 1))
    return True


def unknown_procedure(c: Claim, x: FaultContext) -> bool:
    options = [p for p in phrases()["unknown-procedures"] if p not in x.k.procedures]
    c["lines"].append({"procedure": x.rng.choice(options), "modifiers": [], "units": x.rng.randint(1, 2),
                       "pointers": [_non_m99_pointer(c, x.k)]})
    return True


def unknown_token(c: Claim, x: FaultContext) -> bool:
    tokens = phrases()["unknown-tokens"]
    if x.rng.random() < 0.5:
        c["findings"].append({"region": x.rng.choice(tokens["region"]), "element": "tenderness",
                              "text": "tender on palpation"})
    else:
        c["findings"].append({"element": x.rng.choice(tokens["element"]), "text": "positive on examination"})
    return True


def unspecified(c: Claim, x: FaultContext) -> bool:
    if x.episode.kind not in ("em", "therapy", "stenosis") or "M99.9" in c["diagnoses"] or "M99.9" not in x.k.codes:
        return False
    dx = _dx(c, x.k)
    if not dx:
        return False
    c["diagnoses"][dx[0][0]] = "M99.9"
    return True


def m43_same_region(c: Claim, x: FaultContext) -> bool:
    for _, code in _dx(c, x.k):
        options = x.k.excludes1_same_region.get((code.subcategory, code.region))
        if options and len(c["diagnoses"]) < 12:
            c["diagnoses"].append(x.rng.choice(options))
            return True
    return False


def m43_other_region(c: Claim, x: FaultContext) -> bool:
    same = {m for _, code in _dx(c, x.k) for m in x.k.excludes1_same_region.get((code.subcategory, code.region), ())}
    options = sorted({m for ms in x.k.excludes1_same_region.values() for m in ms} - same)
    if not _dx(c, x.k) or not options or len(c["diagnoses"]) >= 12:
        return False
    c["diagnoses"].append(x.rng.choice(options))
    return True


# -- manipulation level --------------------------------------------------------------------------------

def cmt_level(c: Claim, x: FaultContext, up: bool) -> bool:
    line = _line(c, x.k, "cmt", "SpinalRegion")
    if not line:
        return False
    other = _other_level(x.k, line["procedure"], up)
    n = _spinal_regions(c, x.k)
    if not other or (not up and n <= x.k.procedures[other].max_regions):
        return False
    line["procedure"] = other
    return True


def omt_level_up(c: Claim, x: FaultContext) -> bool:
    line = _line(c, x.k, "omt")
    other = _other_level(x.k, line["procedure"], True) if line else None
    if not other:
        return False
    line["procedure"] = other
    return True


def split_manipulation(c: Claim, x: FaultContext, family: str) -> bool:
    """Bill the regions of one visit on two manipulation lines (two codes instead of one)."""
    k = x.k
    line = _line(c, k, family, "SpinalRegion" if family == "cmt" else None)
    n = _spinal_regions(c, k) if family == "cmt" else _omt_regions(c, k)
    if not line or n < 2:
        return False
    scope = k.procedures[line["procedure"]].scope
    first, second = (n + 1) // 2, n // 2
    m99 = [p for p in line["pointers"] if c["diagnoses"][p - 1] in k.codes] or line["pointers"]
    half = max(1, len(m99) // 2)
    i = c["lines"].index(line)
    c["lines"][i:i + 1] = [
        {**line, "procedure": k.level_code(family, scope, first), "pointers": m99[:half] or [1]},
        {**line, "procedure": k.level_code(family, scope, second), "modifiers": list(line["modifiers"]),
         "pointers": m99[half:] or [1]},
    ]
    return True


# -- documentation ---------------------------------------------------------------------------------------

def drop_part(c: Claim, x: FaultContext) -> bool:
    k = x.k
    if c["payer"] != "medicare" or not _line(c, k, "cmt") or not c["findings"]:
        return False
    dx = _functional_dx(c, k)
    if not dx:
        return False
    region = x.rng.choice(dx)[1].region
    drop = {*k.part_elements, "imaging"}
    c["findings"] = [f for f in c["findings"] if not (f["element"] in drop and f.get("region", region) == region)]
    c["findings"] += [{"region": region, "element": e, "text": x.comp.element_text(e, region)}
                      for e in ("tenderness", "tissue-texture")]
    return True


def drop_tart(c: Claim, x: FaultContext) -> bool:
    k = x.k
    manip = _line(c, k, "omt") or _line(c, k, "cmt")
    if not manip or (c["payer"] == "medicare" and _line(c, k, "cmt")) or not c["findings"]:
        return False
    dx = _functional_dx(c, k)
    if not dx:
        return False
    region = x.rng.choice(dx)[1].region
    c["findings"] = [f for f in c["findings"]
                     if not (f["element"] in k.tart_elements and f.get("region", region) == region)]
    c["findings"].append({"region": region, "element": "treatment-response",
                          "text": x.comp.element_text("treatment-response", region)})
    return True


def drop_functional_impact(c: Claim, x: FaultContext) -> bool:
    if not _functional_dx(c, x.k) or not any(f["element"] == "functional-impact" for f in c["findings"]):
        return False
    c["findings"] = [f for f in c["findings"] if f["element"] != "functional-impact"]
    return bool(c["findings"])


def drop_all_findings(c: Claim, x: FaultContext) -> bool:
    if not c["findings"]:
        return False
    c["findings"] = []
    return True


def _stenosis(c: Claim, x: FaultContext):
    for i, code in _dx(c, x.k):
        if code.site:
            return i, code
    return None


def drop_stenosis_element(c: Claim, x: FaultContext, element: str) -> bool:
    found = _stenosis(c, x)
    if not found or not any(f["element"] == element for f in c["findings"]):
        return False
    c["findings"] = [f for f in c["findings"] if f["element"] != element]
    return bool(c["findings"])


def contradict_stenosis(c: Claim, x: FaultContext) -> bool:
    found = _stenosis(c, x)
    if not found:
        return False
    code = found[1]
    wrong_mech = [m for m in x.k.mechanism_values if m not in code.mechanism_values]
    wrong_site = [s for s in x.k.site_values if s != code.site]
    key, options = ("mechanism", wrong_mech) if x.rng.random() < 0.6 or not wrong_site else ("site", wrong_site)
    for f in c["findings"]:
        if f["element"] == key and "value" in f:
            f["value"] = x.rng.choice(options)
            return True
    return False


def classified_elsewhere(c: Claim, x: FaultContext) -> bool:
    found = _stenosis(c, x)
    options = x.k.displacing.get((found[1].subcategory, found[1].region), ()) if found else ()
    options = [o for o in options if o not in c["diagnoses"]]
    if not options or len(c["diagnoses"]) >= 12:
        return False
    c["diagnoses"].append(x.rng.choice(options))
    return True


def implausible_region(c: Claim, x: FaultContext) -> bool:
    k = x.k
    found = _stenosis(c, x)
    if not found:
        return False
    last_spinal = max(r.ordinal for r in k.regions.values() if r.spinal)
    options = [k.code_for(found[1].subcategory, r.token) for r in k.regions.values()
               if not r.spinal and r.ordinal > last_spinal]
    options = [o for o in options if o and o not in c["diagnoses"]]
    if not options:
        return False
    c["diagnoses"][found[0]] = x.rng.choice(options)
    return True


def emg_without_ncs(c: Claim, x: FaultContext) -> bool:
    if not x.comp.emg or x.episode.kind not in ("stenosis", "em"):
        return False
    addon, primaries = x.rng.choice(x.comp.emg)
    lines = [ln for ln in c["lines"] if ln["procedure"] not in primaries]
    if not any(ln["procedure"] == addon for ln in lines):
        lines.append({"procedure": addon, "modifiers": [], "units": 1, "pointers": [1]})
    c["lines"] = lines
    return True


# -- course of treatment ---------------------------------------------------------------------------------

def late_visit(c: Claim, x: FaultContext, outcome: bool) -> bool:
    """A visit late in a long course (visit 12 or more) of a patient whose early visits lie outside the run."""
    if "visitNumber" not in c or not c["findings"]:
        return False
    rng = x.rng
    visit = rng.randint(12, 24)
    served = dt.date.fromisoformat(c["serviceDate"]).toordinal()
    start = served - (visit - 1) * rng.randint(3, 5)
    x.comp.patients += 1
    c["patient"] = f"P-{100000 + x.comp.patients}"
    c["visitNumber"] = visit
    c["treatmentStart"] = x.comp.iso(start)
    if "xrayDate" in c:
        c["xrayDate"] = x.comp.iso(start - rng.randint(1, 10))
    c["findings"] = [f for f in c["findings"] if f["element"] != "outcome-measure"]
    if outcome:
        c["findings"].append({"element": "outcome-measure",
                              "text": x.comp.text(rng.choice(phrases()["outcome-measure"]), None)})
    return True


OPERATORS: tuple[Operator, ...] = (
    Operator("missing-at", ("medicare-cmt-at-ga-gz",), 6, missing_at, lines_only=True, target="cmt-modifiers"),
    Operator("conflicting-modifiers", ("medicare-modifier-conflict",), 3, at_with_ga, target="cmt-modifiers"),
    Operator("cmt-level-too-high", ("cmt-level-regions",), 6, lambda c, x: cmt_level(c, x, up=True)),
    Operator("cmt-level-too-low", ("cmt-level-excess",), 3, lambda c, x: cmt_level(c, x, up=False)),
    Operator("cmt-split", ("cmt-single-code",), 2, lambda c, x: split_manipulation(c, x, "cmt")),
    Operator("omt-level-too-high", ("omt-level-regions",), 3, omt_level_up),
    Operator("omt-split", ("omt-single-code",), 2, lambda c, x: split_manipulation(c, x, "omt")),
    Operator("em-without-25", ("em-modifier-25",), 5, em_without_25, lines_only=True, target="em"),
    Operator("97140-without-59", ("therapy-97140-modifier",), 4, therapy_97140_no_modifier, lines_only=True,
             target="97140"),
    Operator("97140-same-region", ("therapy-97140-same-region",), 2, therapy_97140_same_region, target="97140"),
    Operator("97112-without-59", ("therapy-distinct-modifier",), 2, therapy_97112_no_modifier, lines_only=True),
    Operator("98943-without-gy", ("medicare-98943-gy",), 2, lambda c, x: medicare_98943(c, x, [])),
    Operator("98943-with-at", ("medicare-98943-at",), 1, lambda c, x: medicare_98943(c, x, ["AT", "GY"])),
    Operator("98943-without-dx", ("cmt-extraspinal-without-dx",), 2, extraspinal_without_dx),
    Operator("nms-first", ("medicare-primary-dx",), 5, primary_dx_swap),
    Operator("subluxation-complex-first", ("medicare-primary-dx-disputed",), 2, primary_dx_disputed),
    Operator("no-nms-secondary", ("medicare-nms-secondary",), 3, drop_nms_secondary),
    Operator("no-part", ("medicare-part",), 4, drop_part),
    Operator("no-tart", ("tart-per-region",), 4, drop_tart),
    Operator("adjacent-region", ("finding-wrong-region",), 5, wrong_region),
    Operator("no-functional-impact", ("functional-impact",), 4, drop_functional_impact),
    Operator("no-findings", ("documentation-not-evaluated",), 3, drop_all_findings),
    Operator("header-code", ("diagnosis-header",), 3, header_code),
    Operator("extra-keystroke", ("diagnosis-unknown",), 3, typo_code),
    Operator("repeated-code", ("diagnosis-repeated",), 3, repeated_code),
    Operator("thirteen-diagnoses", ("diagnosis-count",), 1, too_many_diagnoses),
    Operator("pointer-past-end", ("pointer-target",), 3, pointer_past_end),
    Operator("five-pointers", ("pointer-count",), 1, too_many_pointers),
    Operator("unlisted-procedure", ("procedure-unknown",), 2, unknown_procedure, lines_only=True),
    Operator("unknown-token", ("claim-vocabulary",), 2, unknown_token),
    Operator("unspecified-m99", ("m99-9-unspecified",), 2, unspecified),
    Operator("m43-5-same-region", ("m43-5-excludes1-same-region",), 1, m43_same_region),
    Operator("m43-5-other-region", ("m43-5-excludes1",), 1, m43_other_region),
    Operator("no-imaging", ("stenosis-imaging",), 3, lambda c, x: drop_stenosis_element(c, x, "imaging")),
    Operator("no-mechanism", ("stenosis-mechanism",), 2, lambda c, x: drop_stenosis_element(c, x, "mechanism")),
    Operator("no-site", ("stenosis-site",), 2, lambda c, x: drop_stenosis_element(c, x, "site")),
    Operator("no-exclusion-rationale", ("stenosis-exclusion-rationale",), 3,
             lambda c, x: drop_stenosis_element(c, x, "exclusion-rationale")),
    Operator("contradicting-finding", ("finding-contradicts-stenosis",), 2, contradict_stenosis),
    Operator("classified-elsewhere", ("stenosis-classified-elsewhere",), 2, classified_elsewhere),
    Operator("stenosis-in-a-limb", ("stenosis-implausible-region",), 1, implausible_region),
    Operator("emg-without-ncs", ("emg-addon-ncs",), 2, emg_without_ncs),
    Operator("long-course", ("visit-audit",), 2, lambda c, x: late_visit(c, x, outcome=True)),
    Operator("long-course-no-outcome", ("visit-audit", "visit-outcome-measure"), 2,
             lambda c, x: late_visit(c, x, outcome=False)),
)

@cache
def _example_json(rule: str) -> str:
    """The example as JSON text: parsing it is a cheap deep copy."""
    return json.dumps(rule_examples()[rule])


_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_DATE_FIELDS = ("serviceDate", "treatmentStart", "xrayDate")


def from_template(rule: str, claim_id: str, day: int, provider_npi: str | None, patient: str,
                  comp: Composer) -> Claim:
    """The example claim that makes `rule` fire, re-identified: new id, provider, patient, dates."""
    claim = json.loads(_example_json(rule))
    base = dt.date.fromisoformat(claim.get("serviceDate", "2026-03-02")).toordinal()
    delta = day - base

    def shift(text: str) -> str:
        return _DATE.sub(lambda m: comp.iso(dt.date.fromisoformat(m.group(1)).toordinal() + delta), text)

    claim["id"] = claim_id
    claim["patient"] = patient
    if provider_npi:
        claim["provider"] = provider_npi
    for key in _DATE_FIELDS:
        if key in claim:
            claim[key] = shift(claim[key])
    claim["serviceDate"] = comp.iso(day)
    for f in claim.get("findings", []):
        if "text" in f and _DATE.search(f["text"]):
            f["text"] = shift(f["text"])
    return claim
