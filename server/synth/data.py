"""The generator's data files: free-text vocabulary and the rule examples used as fault templates.

`data/rule-examples.json` is a copy of every `examples/claims/<rule>/fires.json` (the claim that
makes the rule fire), because examples/ is not packaged into the wheel. tests/test_synth.py fails
when the copy and the examples differ; `python -m server.synth.data` rewrites the copy.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
PHRASES_FILE = DATA_DIR / "phrases.json"
EXAMPLES_FILE = DATA_DIR / "rule-examples.json"


@cache
def phrases() -> dict[str, Any]:
    return json.loads(PHRASES_FILE.read_text(encoding="utf-8"))


@cache
def rule_examples() -> dict[str, dict[str, Any]]:
    """rule id -> the claim (JSON form) that makes that rule fire."""
    return json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))


def repo_examples_dir() -> Path:
    """examples/claims of the checkout this package runs from (absent in an installed wheel)."""
    return Path(__file__).resolve().parents[2] / "examples" / "claims"


def collect_examples(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """Read every <rule>/fires.json under examples/claims, keyed by rule id, sorted."""
    folder = folder or repo_examples_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: examples/claims not found (run this from a checkout of the project)")
    out = {}
    for path in sorted(folder.glob("*/fires.json")):
        obj = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(obj, dict):
            raise ValueError(f"{path}: expected one claim object")
        out[path.parent.name] = obj
    return out


def write_examples(folder: Path | None = None) -> Path:
    EXAMPLES_FILE.write_text(json.dumps(collect_examples(folder), indent=1, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    return EXAMPLES_FILE


if __name__ == "__main__":
    print(f"wrote {write_examples()}", file=sys.stderr)
