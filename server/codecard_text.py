"""Render a code card as plain text for the terminal: the order a coder reads it in."""

from __future__ import annotations

import textwrap
from typing import Any


def _wrap(text: str, indent: str = "    ") -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent)


def _src(item: dict[str, Any]) -> str:
    return f" [{', '.join(item['sources'])}]" if item.get("sources") else ""


def _opt(label: str, key: str):
    return lambda item: f"{label}{item[key]}" if item.get(key) else None


# (card key, heading, first line of an item, detail lines; the last detail line carries the sources)
_SOURCED_SECTIONS = [
    ("confusable", "Confusable codes (and what decides)",
     lambda c: f"{c['code']}  {c.get('title') or ''}",
     [lambda c: f"decided by: {c['decidingElement']}. {c.get('distinction') or ''}"]),
    ("displacedBy", "Classified elsewhere: codes that displace it or go with it",
     lambda d: f"{d['code']}  {d.get('title') or ''}  [{d['relation']}]",
     [_opt("when: ", "condition"), _opt("why: ", "rationale")]),
    ("pairings", "Procedure pairings",
     lambda p: f"{p['procedure']}  {p.get('descriptor') or ''} ({p.get('family') or ''}; {p.get('strength') or ''})",
     [_opt("", "rationale")]),
    ("documentation", "Documentation needed",
     lambda d: f"{d['element']} ({d.get('strength') or ''}; {d.get('context') or ''})",
     [_opt("", "rationale")]),
]


def render(card: dict[str, Any]) -> str:
    out: list[str] = []
    add = out.append
    status = "billable" if card["billable"] else "NOT billable (header)"
    add(f"{card['code']}  {card['title']}")
    add(f"  {status}; {card['level']}; {card['release']} [TAB]")
    if not card["billable"] and card["children"]:
        billable = [c for c in card["children"] if c["billable"]]
        if billable:
            add(f"  {card['code']} cannot be billed: bill one of its codes, e.g. "
                + ", ".join(c["code"] for c in billable[:10]))
    add("")
    add("Hierarchy")
    for depth, h in enumerate(card["hierarchy"]):
        add(f"  {'  ' * depth}{h['code']}  {h['title']} ({h['level']})")
    add(f"  {'  ' * len(card['hierarchy'])}{card['code']}  {card['title']}")
    if card["region"] or card["mechanism"] or card["site"]:
        add("")
        add("Facets")
        if card["region"]:
            r = card["region"]
            area = f"; Medicare area {r['medicareArea']}" if r.get("medicareArea") else ""
            add(f"  region: {r['label']} (CMT {r['cmt']}; OMT region {r['omt']}{area})")
        else:
            add("  region: none")
        if card["mechanism"]:
            add(f"  mechanism: {card['mechanism']['label']}")
        if card["site"]:
            add(f"  anatomic site: {card['site']['label']}")
    if card["notes"]:
        add("")
        add("Notes (tabular)")
        for n in card["notes"]:
            add(_wrap(f"{n['kind']} at {n['on']}: {n['text']}", "  "))
    for key, heading in (("children", "Codes under it"), ("siblings", "Siblings")):
        if card[key]:
            add("")
            add(heading)
            for c in card[key]:
                add(f"  {c['code']}  {c['title']}{'' if c['billable'] else ' (header)'}")
    for key, heading, head, details in _SOURCED_SECTIONS:
        if card[key]:
            add("")
            add(heading)
            for item in card[key]:
                add("  " + head(item))
                texts = [t for t in (d(item) for d in details) if t]
                for i, text in enumerate(texts):
                    add(_wrap(text + (_src(item) if i == len(texts) - 1 else "")))
    icd9 = card["icd9"]
    if icd9["backward"] or icd9["forwardInto"]:
        add("")
        add("ICD-9-CM crosswalk (CMS GEMs) [GEM, ICD9]")
        for b in icd9["backward"]:
            approx = "approximate" if b["approximate"] else "exact"
            add(f"  backward: {card['code']} -> {b['icd9']} {b.get('title') or ''} ({approx})")
            for f in b["forward"]:
                add(f"    forward: {b['icd9']} -> {f['code']} {f.get('title') or ''}")
        for f in icd9["forwardInto"]:
            add(f"  forward into this code: {f['icd9']} {f.get('title') or ''} -> {card['code']}")
    add("")
    add("Sources")
    for s in card["sources"]:
        add(f"  [{s['key']}] {s['title']} ({s['evidence']}){' ' + s['url'] if s.get('url') else ''}")
    return "\n".join(out) + "\n"
