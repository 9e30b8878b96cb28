"""Clean claims: episodes of care composed from the knowledge so that every rule stays silent.

An episode is one patient's course of treatment with one provider: its diagnoses (the M99 codes of
the regions found, the co-reported conditions), its procedures and its documentation are fixed at
the start, and each visit turns into one claim with the next visit number and a later date. What
makes the claims pass the rules is taken from the ontology, not written here: the manipulation
level is the CMT/OMT code whose region range holds the number of diagnosed regions, the PART and
TART elements are the members of those groups, the secondary diagnoses are the co-reported codes
of the primary region, a stenosis code gets the mechanism and site its code names.

Speed matters (a million claims must stream at tens of thousands per second), so everything that
can be worked out once per episode is, and a visit only builds fresh dicts.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from dataclasses import dataclass, field
from typing import Any

from server.synth.data import phrases
from server.synth.knowledge import Knowledge
from server.synth.people import Provider

#: how often a spinal region is among the regions a chiropractor finds (lumbar and neck most)
SPINAL_WEIGHT = {"cervical": 30, "thoracic": 18, "lumbar": 34, "sacral": 12, "pelvic": 6}
#: number of regions per chiropractic episode (1-5 spinal regions)
CMT_REGION_COUNTS = ((1, 30), (2, 35), (3, 20), (4, 10), (5, 5))
#: share of Medicare among the payers, by provider type
MEDICARE_SHARE = {"chiropractor": 0.35, "osteopath": 0.3, "physical-therapist": 0.35, "physician": 0.4}
MAX_CLEAN_VISITS = 11   # visit 12 on is flagged for audit (rule visit-audit): kept out of clean claims


@dataclass(slots=True)
class Episode:
    kind: str                     # "cmt", "omt", "therapy", "em", "stenosis"
    provider: Provider
    payer: str
    patient: str
    start: int                    # date ordinal of visit 1 (the treatment start)
    visits: int                   # planned number of visits
    xray: int | None = None       # date ordinal of the x-ray relied on
    diagnoses: list[str] = field(default_factory=list)
    regions: dict[str, str] = field(default_factory=dict)      # M99 code -> region token
    line_plan: list[tuple[str, tuple[str, ...], int, tuple[int, ...], str]] = field(default_factory=list)
    findings: list[tuple[str | None, str, str, str | None]] = field(default_factory=list)
    base: list[dict[str, str]] = field(default_factory=list)     # the findings as claim dicts
    segs: dict[str, str] = field(default_factory=dict)          # region -> the segment the notes name
    em_new: str | None = None
    em_recheck: str | None = None
    visit: int = 0
    next_day: int = 0


#: the numeric placeholders of the phrase templates: (low, high, step)
_NUMBERS = {"n": (3, 8, 1), "deg": (30, 65, 5), "m": (10, 40, 5), "b": (1, 4, 1), "kg": (5, 15, 5), "k": (2, 4, 1),
            "f": (2, 3, 1), "w": (3, 6, 1), "v": (6, 12, 1), "p": (14, 30, 1), "bp": (32, 60, 2),
            "bn": (6, 9, 1)}


class Composer:
    """Builds episodes and their visits; one per generator run (holds the rng and the indexes)."""

    def __init__(self, k: Knowledge, rng: random.Random) -> None:
        self.k = k
        self.rng = rng
        self.random = rng.random
        self.ph = phrases()
        self.seg = self.ph["segments"]
        self.el = self.ph["elements"]
        spinal = [r for r in k.regions.values() if r.spinal]
        self.spinal = [r.token for r in spinal]
        self.spinal_w = [SPINAL_WEIGHT.get(r.token, 5) for r in spinal]
        self.extraspinal = [r.token for r in k.regions.values() if not r.spinal]
        self.all_regions = list(k.regions)
        # stenosis is coded where the ontology knows a spinal canal to narrow: the spinal regions
        # for which a more specific stenosis code exists (cervical to sacral)
        self.stenosis_regions = sorted({r for (_, r) in k.displacing if r in self.spinal},
                                       key=lambda t: k.regions[t].ordinal)
        self.stenosis_codes = {r: sorted(c.code for c in k.codes.values() if c.site and c.region == r)
                               for r in self.stenosis_regions}
        self.part = k.part_elements
        self.part_core = tuple(e for e in ("asymmetry", "restriction") if e in self.part)
        self.em_new = sorted(p.code for p in k.family("em") if p.patient_status == "new" and not p.deprecated)
        self.em_est = sorted(p.code for p in k.family("em") if p.patient_status == "established" and not p.deprecated)
        addons = sorted((p for p in k.procedures.values() if p.add_on and p.family == "electrodiagnostic"),
                        key=lambda p: p.code)
        self.emg = [(p.code, p.requires) for p in addons if p.requires]
        self.therapy = sorted(p.code for p in k.family("therapy"))
        self._dates: dict[int, str] = {}
        self._fields: dict[str, tuple[str, ...]] = {}
        self.patients = 0

    # -- small helpers ---------------------------------------------------------------------------
    # random.randint/choice are slow pure-Python paths; these stay deterministic for a seed and are
    # several times faster (the generator draws a few dozen numbers per claim)

    def ri(self, lo: int, hi: int) -> int:
        return lo + int(self.random() * (hi - lo + 1))

    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def iso(self, ordinal: int) -> str:
        s = self._dates.get(ordinal)
        if s is None:
            s = self._dates[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        return s

    def text(self, template: str, region: str | None, seg: str | None = None) -> str:
        """Fill a phrase template; only the placeholders it has cost a random draw."""
        fields = self._fields.get(template)
        if fields is None:
            fields = self._fields[template] = tuple(f for _, f, _, _ in string.Formatter().parse(template) if f)
        if not fields:
            return template
        rng = self.rng
        values = {}
        for f in fields:
            if f == "seg":
                values[f] = seg or (self.pick(self.seg[region]) if region else "the spine")
            elif f == "goal":
                values[f] = self.pick(self.ph["goals"])
            else:
                lo, hi, step = _NUMBERS[f]
                values[f] = lo + step * int(rng.random() * ((hi - lo) // step + 1))
        return template.format_map(values)

    def element_text(self, element: str, region: str, seg: str | None = None) -> str:
        return self.text(self.pick(self.el[element]), region, seg)

    def pick_regions(self, pool: list[str], weights: list[int] | None, n: int) -> list[str]:
        """n distinct regions, weighted, in the order drawn (the first is the primary)."""
        pool, weights = list(pool), list(weights) if weights else [1] * len(pool)
        out = []
        for _ in range(min(n, len(pool))):
            i = self.rng.choices(range(len(pool)), weights)[0]
            out.append(pool.pop(i))
            weights.pop(i)
        return out

    def region_findings(self, region: str, elements: int, part: bool,
                        seg: str | None = None) -> list[tuple[str | None, str, str, None]]:
        """TART findings of one region (about one segment); with `part`, one is asymmetry or restriction."""
        rng = self.rng
        seg = seg or self.pick(self.seg[region])
        first = self.pick(self.part_core) if part else self.pick(self.k.tart_elements)
        rest = [e for e in self.k.tart_elements if e != first]
        chosen = [first, *rng.sample(rest, min(elements - 1, len(rest)))]
        return [(region, e, self.element_text(e, region, seg), None) for e in chosen]

    def secondaries(self, sub: str, region: str, n: int, avoid: set[str] = frozenset()) -> list[str]:
        options = [c for c in self.k.co_reported.get((sub, region), ()) if c not in avoid]
        return self.rng.sample(options, min(n, len(options)))

    # -- episodes ----------------------------------------------------------------------------------

    def episode(self, provider: Provider, start: int) -> Episode:
        rng = self.rng
        payer = "medicare" if rng.random() < MEDICARE_SHARE[provider.type] else "commercial"
        self.patients += 1
        patient = f"P-{100000 + self.patients}"
        ptype = provider.type
        if ptype == "chiropractor":
            kind, visits = "cmt", self.ri(3, MAX_CLEAN_VISITS)
        elif ptype == "osteopath":
            kind, visits = "omt", self.ri(1, 6)
        elif ptype == "physical-therapist":
            kind, visits = "therapy", self.ri(4, MAX_CLEAN_VISITS)
        else:
            kind, visits = ("stenosis", self.ri(1, 3)) if rng.random() < 0.6 else ("em", self.ri(1, 3))
        ep = Episode(kind, provider, payer, patient, start, visits, next_day=start)
        getattr(self, f"_plan_{kind}")(ep)
        ep.base = [{k: v for k, v in zip(("region", "element", "text", "value"), f, strict=True) if v is not None}
                   for f in ep.findings]
        return ep

    def document(self, ep: Episode, region: str, elements: int, part: bool) -> None:
        """Add the exam findings of one region, all about the same segment."""
        seg = ep.segs.setdefault(region, self.pick(self.seg[region]))
        ep.findings += self.region_findings(region, elements, part, seg)

    def _functional(self, ep: Episode) -> None:
        ep.findings.append((None, "functional-impact", self.text(self.pick(self.ph["functional-impact"]), None),
                            None))

    def _plan_cmt(self, ep: Episode) -> None:
        rng, k = self.rng, self.k
        n = rng.choices([c for c, _ in CMT_REGION_COUNTS], [w for _, w in CMT_REGION_COUNTS])[0]
        regions = self.pick_regions(self.spinal, self.spinal_w, n)
        regions = regions[:1] + sorted(regions[1:], key=lambda r: k.regions[r].ordinal)
        medicare = ep.payer == "medicare"
        sub = "M99.1" if not medicare and rng.random() < 0.15 else "M99.0"
        codes = [k.code_for(sub, r) for r in regions]
        # Medicare: diagnosis 1 is the segmental dysfunction of a spinal region
        if medicare:
            codes[0] = k.code_for("M99.0", regions[0])
        for c, r in zip(codes, regions, strict=True):
            ep.regions[c] = r
        second = self.secondaries("M99.0", regions[0], self.ri(1, 2))
        ep.diagnoses = codes + second
        cmt = k.level_code("cmt", "SpinalRegion", len(regions))
        if medicare:
            mode = rng.random()
            mods: tuple[str, ...] = ("AT",) if mode < 0.85 else ("GA",) if mode < 0.95 else ("GZ",)
        else:
            mods = ()
        pointers = [*range(1, min(len(codes), 3) + 1)]
        if second:
            pointers.append(len(codes) + 1)
        plan = [(cmt, mods, 1, tuple(pointers[:4]))]
        extra = rng.random()
        if extra < (0.05 if medicare else 0.12):
            # an extraspinal region manipulated too (98943; Medicare does not pay it: GY)
            region = self.pick(self.extraspinal)
            code = k.code_for("M99.0", region)
            ep.diagnoses.append(code)
            ep.regions[code] = region
            plan.append((k.level_code("cmt", "ExtraspinalRegion", 1), ("GY",) if medicare else (), 1,
                         (len(ep.diagnoses),)))
        elif not medicare and extra < 0.22:
            # manual therapy on a region that was not manipulated, with the distinct-site modifier
            region = self.pick(self.extraspinal)
            code = k.code_for("M99.0", region)
            ep.diagnoses.append(code)
            ep.regions[code] = region
            plan.append(("97140", (self.pick(("59", "XS")),), self.ri(1, 2), (len(ep.diagnoses),)))
        ep.line_plan = [(c, m, u, p, "") for c, m, u, p in plan]
        for r in [*regions, *(ep.regions[c] for c in ep.diagnoses[len(codes):] if c in ep.regions)]:
            self.document(ep, r, self.ri(2, 3), part=True)
        if medicare and rng.random() < 0.4:
            ep.xray = ep.start - self.ri(1, 10)
            ep.findings.append((regions[0], "imaging", self.element_text("imaging-xray", regions[0],
                                                                         ep.segs[regions[0]]), None))
        self._functional(ep)
        if medicare and mods == ("GA",):
            ep.findings.append((None, "abn", self.pick(self.ph["abn"]), None))
        ep.em_new = self.pick(self.em_new[:3])
        ep.em_recheck = self.pick(self.em_est[1:3]) if rng.random() < 0.3 else None

    def _plan_omt(self, ep: Episode) -> None:
        rng, k = self.rng, self.k
        n = rng.choices((1, 2, 3, 4, 5, 6), (20, 30, 25, 13, 8, 4))[0]
        weights = [10 if r in self.spinal else 4 for r in self.all_regions]
        regions = self.pick_regions(self.all_regions, weights, n)
        codes = [k.code_for("M99.0", r) for r in regions]
        ep.regions = dict(zip(codes, regions, strict=True))
        second = self.secondaries("M99.0", regions[0], self.ri(0, 1))
        ep.diagnoses = codes + second
        omt = k.level_code("omt", "OMTBodyRegion", len({k.regions[r].omt_region for r in regions}))
        ep.line_plan = [(omt, (), 1, tuple(range(1, min(len(ep.diagnoses), 4) + 1)), "")]
        for r in regions:
            self.document(ep, r, 2, part=False)
        self._functional(ep)
        ep.em_new = self.pick(self.em_new[1:3])
        ep.em_recheck = self.pick(self.em_est[1:3]) if rng.random() < 0.3 else None

    def _plan_therapy(self, ep: Episode) -> None:
        rng, k = self.rng, self.k
        regions = self.pick_regions(self.spinal, self.spinal_w, self.pick((1, 1, 2)))
        codes = [k.code_for("M99.0", r) for r in regions]
        ep.regions = dict(zip(codes, regions, strict=True))
        ep.diagnoses = codes + self.secondaries("M99.0", regions[0], self.ri(1, 2))
        pointers = tuple(range(1, min(len(ep.diagnoses), 4) + 1))
        mods = ("GP",)
        chosen = ["97110", *rng.sample([c for c in self.therapy if c != "97110"], self.ri(1, 2))]
        ep.line_plan = [(c, mods, self.ri(1, 3), pointers, "") for c in sorted(chosen)]
        for r in regions:
            self.document(ep, r, 2, part=False)
        self._functional(ep)

    def _plan_em(self, ep: Episode) -> None:
        k = self.k
        regions = self.pick_regions(self.spinal, self.spinal_w, self.pick((1, 1, 2)))
        codes = [k.code_for("M99.0", r) for r in regions]
        ep.regions = dict(zip(codes, regions, strict=True))
        ep.diagnoses = codes + self.secondaries("M99.0", regions[0], self.ri(1, 2))
        ep.line_plan = [("EM", (), 1, tuple(range(1, min(len(ep.diagnoses), 4) + 1)), "")]
        for r in regions:
            self.document(ep, r, 2, part=False)
        self._functional(ep)
        ep.em_new = self.pick(self.em_new[1:])
        ep.em_recheck = self.pick(self.em_est[1:4])

    def _plan_stenosis(self, ep: Episode) -> None:
        rng, k = self.rng, self.k
        region = self.pick(self.stenosis_regions)
        code = k.codes[self.pick(self.stenosis_codes[region])]
        ep.regions = {code.code: region}
        # a secondary that the ontology does not list as classifying this stenosis elsewhere
        avoid = set(k.displacing.get((code.subcategory, region), ()))
        ep.diagnoses = [code.code, *self.secondaries("M99.0", region, self.ri(0, 1), avoid)]
        ep.line_plan = [("EM", (), 1, tuple(range(1, len(ep.diagnoses) + 1)), "")]
        if self.emg and rng.random() < 0.25:
            addon, primaries = self.pick(self.emg)
            ep.line_plan += [(self.pick(primaries), (), 1, (1,), ""), (addon, (), 1, (1,), "")]
        mech = self.pick(code.mechanism_values)
        seg = ep.segs.setdefault(region, self.pick(self.seg[region]))
        ep.findings += [
            (region, "imaging", self.element_text("imaging-stenosis", region, seg), None),
            (region, "mechanism", self.text(self.el["mechanism"][mech], region, seg), mech),
            (region, "site", self.text(self.el["site"][code.site], region, seg), code.site),
            (region, "exclusion-rationale", self.element_text("exclusion-rationale", region, seg), None),
            (region, "neurological", self.element_text("neurological", region, seg), None),
        ]
        if rng.random() < 0.6:
            self._functional(ep)
        ep.em_new = self.pick(self.em_new[1:])
        ep.em_recheck = self.pick(self.em_est[2:])

    # -- visits ------------------------------------------------------------------------------------

    def visit(self, ep: Episode, claim_id: str) -> dict[str, Any]:
        """The next visit of the episode as a claim in the JSON form (advances the episode)."""
        rng = self.rng
        ep.visit += 1
        v = ep.visit
        day = ep.next_day
        ep.next_day = day + (self.ri(2, 7) if ep.kind in ("cmt", "therapy") else self.ri(7, 28))
        medicare = ep.payer == "medicare"
        lines = []
        em = ep.em_new if v == 1 else ep.em_recheck if (v % 5 == 0 or ep.kind in ("em", "stenosis")) else None
        for code, mods, units, pointers, _ in ep.line_plan:
            if code == "EM":
                if em:
                    lines.append({"procedure": em, "modifiers": [], "units": 1, "pointers": list(pointers)})
                continue
            lines.append({"procedure": code, "modifiers": list(mods), "units": units, "pointers": list(pointers)})
        if em and ep.kind in ("cmt", "omt"):
            lines.insert(0, {"procedure": em, "modifiers": ["25"], "units": 1, "pointers": [1]})
        findings = [f.copy() for f in ep.base]
        if v > 1 and ep.kind in ("cmt", "omt", "therapy") and rng.random() < 0.4:
            region = ep.regions[ep.diagnoses[0]]
            findings.append({"region": region, "element": "treatment-response",
                             "text": self.element_text("treatment-response", region, ep.segs.get(region))})
        if v == 1 or v % 4 == 0:
            findings.append({"element": "outcome-measure", "text": self.text(self.pick(self.ph["outcome-measure"]),
                                                                              None)})
        if ep.kind != "stenosis" and (v == 1 or medicare):
            findings.append({"element": "treatment-plan", "text": self.text(self.pick(self.ph["treatment-plan"]),
                                                                             None)})
        claim: dict[str, Any] = {
            "id": claim_id, "payer": ep.payer, "providerType": ep.provider.type, "provider": ep.provider.npi,
            "patient": ep.patient, "serviceDate": self.iso(day),
        }
        if ep.kind not in ("stenosis", "em"):
            claim["treatmentStart"] = self.iso(ep.start)
            claim["visitNumber"] = v
        if ep.xray is not None:
            claim["xrayDate"] = self.iso(ep.xray)
        claim["diagnoses"] = list(ep.diagnoses)
        claim["lines"] = lines
        claim["findings"] = findings
        return claim
