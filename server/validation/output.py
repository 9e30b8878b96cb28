"""Write validation reports as they come: the JSON report (one entry per claim) or JSON Lines.

The JSON report has the contract of docs/claims.md (conforms, summary, claims); written as a
stream, its claims come first and the summary last, so a batch of any size needs no buffering.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TextIO

from server.validation.engine import ClaimReport


def claim_json(report: ClaimReport) -> dict:
    return {"claim": report.claim, "conforms": report.conforms, "results": [r.as_json() for r in report.results]}


@dataclass
class Tally:
    claims: int = 0
    conforming: int = 0
    violations: int = 0
    warnings: int = 0
    infos: int = 0

    def add(self, report: ClaimReport) -> None:
        self.claims += 1
        self.conforming += report.conforms
        for r in report.results:
            if r.severity == "Violation":
                self.violations += 1
            elif r.severity == "Warning":
                self.warnings += 1
            else:
                self.infos += 1

    @property
    def conforms(self) -> bool:
        return self.conforming == self.claims

    def summary(self) -> dict:
        return {"claims": self.claims, "violations": self.violations, "warnings": self.warnings, "infos": self.infos}


class ReportWriter:
    """Streams claim reports to `out` as the JSON report ("json") or one JSON object per line ("jsonl")."""

    def __init__(self, out: TextIO, fmt: str = "json") -> None:
        self.out, self.fmt, self.tally = out, fmt, Tally()
        if fmt == "json":
            out.write('{"claims": [')

    def add(self, report: ClaimReport) -> None:
        text = json.dumps(claim_json(report), ensure_ascii=False)
        if self.fmt == "json":
            self.out.write(("\n  " if self.tally.claims == 0 else ",\n  ") + text)
        else:
            self.out.write(text + "\n")
        self.tally.add(report)

    def close(self, input_errors: list[str] | None = None) -> None:
        if self.fmt == "json":
            tail = {"summary": self.tally.summary(), "conforms": self.tally.conforms}
            if input_errors:
                tail["inputErrors"] = input_errors
            self.out.write("\n],\n" + json.dumps(tail, ensure_ascii=False)[1:] + "\n")
        self.out.flush()
