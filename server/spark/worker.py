"""What runs inside a Spark executor: input records in, one output row per claim or input error out.

A record is `(name, line, data)`: one line of a JSON Lines file (`line` is its 1-based number) or
a whole file (`line` is None), as bytes, so bad UTF-8 is an error row rather than a failed task.
Records become the work units of `server.validation.batch` (so parsing and error messages are the
CLI's), and the units go through one fast-engine validator per Python worker process: building it
loads the knowledge store (about 2 s, about 300 MB), and Spark reuses Python workers across
tasks (spark.python.worker.reuse, on by default), so a module-level cache pays that once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from server.claims.errors import ClaimInputError
from server.claims.readers import TOO_DEEP
from server.validation import batch
from server.validation.batch import Unit
from server.validation.output import claim_json

Record = tuple[str, int | None, bytes]
# One output row: kind ("claim" | "error"), claim id, conforms, results (tuples in RESULT_FIELDS order),
# where, problem, the JSON Lines text of the row (or None), then counts of violations, warnings, infos.
Row = tuple[str, str | None, bool | None, list | None, str | None, str | None, str | None, int, int, int]
RESULT_FIELDS = ("rule", "severity", "focus", "codes", "message", "source")

_validators: dict[str, Any] = {}


def validator(engine: str = "fast") -> Any:
    """This process's validator, built on first use and kept for every later task."""
    found = _validators.get(engine)
    if found is None:
        from server.store import knowledge_store
        from server.validation.engine import Validator
        from server.validation.fast import FastValidator

        store = knowledge_store(shapes=False)
        found = _validators[engine] = FastValidator(store) if engine == "fast" else Validator(store)
    return found


def _decode(data: bytes, where: str, suffix: str = "") -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClaimInputError(where, f"not UTF-8 text (byte {exc.start}{suffix})") from None


def file_units(name: str, data: bytes, input_format: str | None, batch_size: int) -> Iterator[Unit]:
    """The units of one whole file, as `batch.units` cuts them (JSON and 837P in chunks, other formats whole)."""
    try:
        yield from batch.text_units(_decode(data, name), name, input_format, batch_size)
    except ClaimInputError as exc:
        yield Unit(name, [], [], errors=[exc])
    except RecursionError:
        yield Unit(name, [], [], errors=[ClaimInputError(name, TOO_DEEP)])


def units(records: Iterable[Record], input_format: str | None, batch_size: int) -> Iterator[Unit]:
    """Work units from a partition's records: consecutive lines of one file are batched together.

    A claim id repeated in lines of one file is refused within the partition (as `batch.json_lines`
    does within a file); Spark gives each partition its own lines, so a repeat in another partition
    is not seen.
    """
    pending: Unit | None = None
    ids, ids_for = batch.FileIds(), None

    def flush(unit: Unit) -> Unit:
        return ids.unit(unit.source, unit.objects or [], unit.wheres or [], batch_size, unit.errors)

    for name, line, data in records:
        if line is None:
            if pending is not None:
                yield flush(pending)
                pending = None
            yield from file_units(name, data, input_format, batch_size)
            continue
        if pending is not None and (pending.source != name or len(pending.objects or []) >= batch_size):
            yield flush(pending)
            pending = None
        if name != ids_for:
            ids, ids_for = batch.FileIds(), name
        if pending is None:
            pending = Unit(name, [], [])
        try:
            text = _decode(data, f"{name}:{line}", " of the line")
        except ClaimInputError as exc:
            pending.errors.append(exc)
            continue
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            pending.errors.append(ClaimInputError(f"{name}:{line}:{exc.colno}", f"not valid JSON: {exc.msg}"))
            continue
        except RecursionError:
            pending.errors.append(ClaimInputError(f"{name}:{line}", TOO_DEEP))
            continue
        assert pending.objects is not None and pending.wheres is not None
        pending.objects.append(obj)
        pending.wheres.append(f"{name}:{line}: claim")
    if pending is not None:
        yield flush(pending)


def claim_row(report: Any, with_json: bool) -> Row:
    counts = {"Violation": 0, "Warning": 0, "Info": 0}
    for r in report.results:
        counts[r.severity] = counts.get(r.severity, 0) + 1
    results = [(r.rule, r.severity, r.focus, list(r.codes), r.message, r.source) for r in report.results]
    text = json.dumps(claim_json(report), ensure_ascii=False) if with_json else None
    return ("claim", report.claim, report.conforms, results, None, None, text,
            counts["Violation"], counts["Warning"], counts["Info"])


def error_row(exc: ClaimInputError, with_json: bool = True) -> Row:
    text = json.dumps({"kind": "error", "where": exc.where, "problem": exc.problem}, ensure_ascii=False) \
        if with_json else None
    return ("error", None, None, None, exc.where, exc.problem, text, 0, 0, 0)


def validate_partition(records: Iterable[Record], input_format: str | None = None, batch_size: int = 1000,
                       engine: str = "fast", with_json: bool = True) -> Iterator[Row]:
    """mapPartitions body: the partition's claims validated in batches of `batch_size`, in input order."""
    for unit in units(records, input_format, batch_size):
        outcome = batch.run_unit(validator(engine), unit)
        for exc in outcome.errors:
            yield error_row(exc, with_json)
        for report in outcome.reports:
            yield claim_row(report, with_json)
