"""Validation reports for people: a coder's worklist, claim by claim, worst first."""

from __future__ import annotations

import textwrap

from server.validation.engine import Report

_LABEL = {"Violation": "REJECT ", "Warning": "RISK   ", "Info": "NOTE   "}


def worklist(report: Report) -> str:
    out: list[str] = []
    for claim in report.claims:
        counts = {s: sum(1 for r in claim.results if r.severity == s) for s in ("Violation", "Warning", "Info")}
        verdict = "will be rejected" if counts["Violation"] else ("at risk" if counts["Warning"] else "clean")
        out.append(f"{claim.claim}: {verdict} ({counts['Violation']} violations, {counts['Warning']} warnings, "
                   f"{counts['Info']} notes)")
        for r in claim.results:
            codes = " ".join(r.codes)
            out.append(f"  {_LABEL[r.severity]}{r.rule}{'  [' + codes + ']' if codes else ''}")
            out.append(textwrap.fill(r.message, width=100, initial_indent="      ", subsequent_indent="      "))
            if r.source:
                out.append(f"      source: {r.source}")
        out.append("")
    s = report.as_json()["summary"]
    ok = sum(1 for c in report.claims if c.conforms)
    out.append(f"{s['claims']} claims, {ok} without violations; {s['violations']} violations, "
               f"{s['warnings']} warnings, {s['infos']} notes")
    return "\n".join(out) + "\n"
