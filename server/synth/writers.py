"""Write streams of claims: JSON (one array), JSON Lines, FHIR (a Bundle) and X12 837P.

JSON and JSON Lines are written claim by claim, so a million claims never sit in memory. FHIR and
837P go through the mapping modules of server.claims (fhir_write.write_fhir_bundle,
x12_write.write_837p), imported only when asked for: a build without them fails with a message
naming the missing module instead of a traceback. Those two need a whole batch at once, so the
CLI writes them in files of --per-file claims.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from typing import Any, TextIO

Claim = dict[str, Any]


class FormatUnavailable(RuntimeError):
    """An output format whose writer module is not part of this build."""


def write_json(claims: Iterable[Claim], out: TextIO) -> int:
    """A JSON array, one claim per line; returns the number of claims written."""
    n = 0
    out.write("[")
    for claim in claims:
        out.write(",\n" if n else "\n")
        out.write(json.dumps(claim, ensure_ascii=False, separators=(",", ":")))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def write_jsonl(claims: Iterable[Claim], out: TextIO) -> int:
    n = 0
    for claim in claims:
        out.write(json.dumps(claim, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        n += 1
    return n


def _writer(module: str, function: str, fmt: str) -> Callable[[list[Claim]], Any]:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name not in (module, module.rsplit(".", 1)[0]):
            raise
        raise FormatUnavailable(f"--format {fmt} needs {module}.{function}, which this build does not have "
                                f"(use --format json or jsonl)") from None
    fn = getattr(mod, function, None)
    if fn is None:
        raise FormatUnavailable(f"--format {fmt}: {module} has no {function}() (use --format json or jsonl)")
    return fn


def write_fhir(claims: Iterable[Claim], out: TextIO) -> int:
    """One FHIR Bundle (JSON) holding the claims."""
    batch = list(claims)
    bundle = _writer("server.claims.fhir_write", "write_fhir_bundle", "fhir")(batch)
    out.write(json.dumps(bundle, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")
    return len(batch)


def write_x12(claims: Iterable[Claim], out: TextIO) -> int:
    """One X12 837P interchange holding the claims."""
    batch = list(claims)
    out.write(_writer("server.claims.x12_write", "write_837p", "x12")(batch))
    return len(batch)


#: format -> (file extension, writer, streams claim by claim)
FORMATS: dict[str, tuple[str, Callable[[Iterable[Claim], TextIO], int], bool]] = {
    "json": (".json", write_json, True),
    "jsonl": (".jsonl", write_jsonl, True),
    "fhir": (".fhir.json", write_fhir, False),
    "x12": (".x12", write_x12, False),
}


def check_available(fmt: str) -> None:
    """Raise FormatUnavailable before generating anything when the format's writer is missing."""
    if fmt == "fhir":
        _writer("server.claims.fhir_write", "write_fhir_bundle", "fhir")
    elif fmt == "x12":
        _writer("server.claims.x12_write", "write_837p", "x12")
