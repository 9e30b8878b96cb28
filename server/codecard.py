"""The code card: everything a coder looks up about one ICD-10-CM code, from SPARQL over the graph.

Each section is one named query of queries/ (tag code-card); this module only runs them and
arranges the rows. Nothing here knows a code, a region or a rule.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from server import codes
from server.build.tabular import RELEASE_LABEL
from server.namedqueries import NamedQuery, load_queries
from server.store import Store

CACHE_SIZE = 4096  # cards kept; each is a few kilobytes


class UnknownCodeError(LookupError):
    """The code is well formed but not in the release."""


@dataclass
class CodeCards:
    """Builds cards from a store that holds the ontology and the code set."""

    store: Store
    queries: dict[str, NamedQuery]
    # the knowledge does not change while a CodeCards lives, so a card is built once per code
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def over(cls, store: Store) -> CodeCards:
        return cls(store, load_queries())

    def _rows(self, name: str, code: str) -> list[dict[str, Any]]:
        sparql = self.queries[name].bind({"code": code})
        return [{k: _plain(v) for k, v in row.items()} for row in self.store.select(sparql)]

    def card(self, text: str) -> dict[str, Any]:
        """The card of a code written with or without the dot; raises CodeFormatError or UnknownCodeError."""
        code = codes.normalize_icd10cm(text)
        with self._lock:
            hit = self._cache.get(code)
            if hit is not None:
                self._cache.move_to_end(code)
        if hit is None:
            hit = self._build(code)
            with self._lock:
                self._cache[code] = hit
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return copy.deepcopy(hit)  # callers may change their copy

    def _build(self, code: str) -> dict[str, Any]:
        summary = self._rows("code-summary", code)
        if not summary:
            raise UnknownCodeError(f"{code} is not a code of the {RELEASE_LABEL}")
        s = summary[0]
        used_sources = {"TAB"}
        card: dict[str, Any] = {
            "code": s["notation"],
            "iri": s["code"],
            "title": s["title"],
            "billable": s["billable"],
            "level": s["level"],
            "release": RELEASE_LABEL,
            "hierarchy": [
                {"code": r["notation"], "title": r["title"], "level": r["level"]}
                for r in self._rows("code-hierarchy", code)
            ],
            "region": None,
            "mechanism": None,
            "site": None,
        }
        if "region" in s:
            card["region"] = {"label": s["regionLabel"], "cmt": s["cmtKind"], "omt": s["omtRegion"],
                              "medicareArea": s.get("medicareArea")}
        if "mechanism" in s:
            card["mechanism"] = {"label": s["mechanismLabel"]}
        if "site" in s:
            card["site"] = {"label": s["siteLabel"]}
        order = [h["code"] for h in card["hierarchy"]] + [card["code"]]
        notes = self._rows("code-notes", code)
        notes.sort(key=lambda r: (-order.index(r["onNotation"]) if r["onNotation"] in order else 0, r["kind"]))
        card["notes"] = [{"on": r["onNotation"], "kind": r["kind"], "text": r["text"]} for r in notes]
        card["children"] = [{"code": r["notation"], "title": r["title"], "billable": r["billable"]}
                            for r in self._rows("code-children", code)]
        card["siblings"] = [{"code": r["notation"], "title": r["title"], "billable": r["billable"]}
                            for r in self._rows("code-siblings", code)]

        def sourced(row: dict[str, Any]) -> list[str]:
            keys = sorted(k for k in row.get("sources", "").split() if k)
            used_sources.update(keys)
            return keys

        card["confusable"] = [
            {"code": r["otherNotation"], "title": r.get("otherTitle"), "decidingElement": r["elementLabel"],
             "distinction": r.get("distinction"), "rationale": r.get("rationale"), "sources": sourced(r)}
            for r in self._rows("confusable-codes", code)
        ]
        card["displacedBy"] = [
            {"code": r["byNotation"] + ("-" if r["family"] else ""), "title": r.get("byTitle"),
             "billable": r["billable"], "family": r["family"], "relation": r["relationLabel"],
             "condition": r.get("condition"), "rationale": r.get("rationale"), "sources": sourced(r)}
            for r in self._rows("displacing-codes", code)
        ]
        card["pairings"] = [
            {"procedure": r["procedureNotation"], "descriptor": r.get("descriptor"), "family": r.get("familyLabel"),
             "strength": r.get("strengthLabel"), "rationale": r.get("rationale"), "sources": sourced(r)}
            for r in self._rows("pairings-for-code", code)
        ]
        card["documentation"] = [
            {"element": r["elementLabel"], "strength": r.get("strengthLabel"), "context": r.get("context"),
             "rationale": r.get("rationale"), "sources": sourced(r)}
            for r in self._rows("documentation-for-code", code)
        ]
        card["icd9"] = self._crosswalk(code)
        if card["icd9"]["backward"] or card["icd9"]["forwardInto"]:
            used_sources.update({"GEM", "ICD9"})
        all_sources = self._sources
        card["sources"] = [
            {"key": k, "title": all_sources[k]["title"], "evidence": all_sources[k]["evidence"],
             "url": all_sources[k].get("url")}
            for k in sorted(used_sources) if k in all_sources
        ]
        return card

    @cached_property
    def _sources(self) -> dict[str, dict[str, Any]]:
        """Every cited source by key; read once, the sources do not change while the store is open."""
        rows = self.store.select(self.queries["sources"].text)
        return {r["key"]: r for r in ({k: _plain(v) for k, v in row.items()} for row in rows)}

    def _crosswalk(self, code: str) -> dict[str, list[dict[str, Any]]]:
        rows = self._rows("icd9-crosswalk", code)
        backward = [r for r in rows if r["direction"] == "backward" and r["fromNotation"] == code]
        out_back = []
        for b in backward:
            forward = [r for r in rows if r["direction"] == "forward" and r["fromNotation"] == b["toNotation"]]
            out_back.append({
                "icd9": b["toNotation"], "title": b.get("toTitle"), "approximate": b["approximate"],
                "flags": b["flags"],
                "forward": [{"code": f["toNotation"], "title": f.get("toTitle"), "approximate": f["approximate"]}
                            for f in forward],
            })
        into = [{"icd9": r["fromNotation"], "title": r.get("fromTitle"), "approximate": r["approximate"]}
                for r in rows if r["direction"] == "forward" and r["toNotation"] == code]
        return {"backward": out_back, "forwardInto": into}


def _plain(term: Any) -> Any:
    """RDF term -> Python value for JSON: booleans and integers typed, everything else its text."""
    value = term.value
    datatype = getattr(term, "datatype", None)
    if datatype is not None:
        if datatype.value.endswith("#boolean"):
            return value == "true"
        if datatype.value.endswith("#integer"):
            return int(value)
    return value
