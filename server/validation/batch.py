"""Batch validation: files and folders of any claim format in, per-claim reports out, as a stream.

Input is cut into work units: a plain-JSON or JSON Lines file into chunks of claim objects, any
other format (JSON-LD, Turtle, FHIR, X12) one file per unit, except an 837P of more claims than a
batch. Units are read lazily and validated by the fast engine in batches of at most the batch
size, in this process or in worker processes (one per core), and the per-claim reports come back
in input order. Memory is bounded by the batch size and the number of units in flight, never by
the total: a million claims stream through.

Why 837P files are cut by size: pyx12 reads about 450 claims a second, slower than a worker
validates them. A folder of small files is best read by the workers, each its own file. A large
file, read by one worker, would leave the others idle; so it is read to claim objects here, in
the process that cuts the units (its transaction sets by as many reader processes as there are
workers, when it has several: server.claims.x12_split), and its claims go out in batches to every
worker.

A claim id may appear once per file. Within one unit the JSON claim reader refuses a repeat; across
the units of a file, `FileIds` does, with the same message, so cutting a file into units changes
no result.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from server.claims.errors import ClaimInputError
from server.claims.graph import ClaimGraph
from server.claims.readers import TOO_DEEP

CLAIM_SUFFIXES = {".json", ".jsonl", ".ndjson", ".jsonld", ".ttl", ".837", ".edi", ".x12", ".txt"}
DEFAULT_BATCH = 1000


@dataclass
class Unit:
    """A piece of input: claim objects already parsed from JSON, or the text of one file."""

    source: str
    objects: list | None = None
    wheres: list[str] | None = None
    text: str | None = None
    fmt: str | None = None
    errors: list[ClaimInputError] = field(default_factory=list)  # found while reading (a bad JSON line)
    batch_size: int = DEFAULT_BATCH  # claims validated at once: a file of another format may hold more


@dataclass
class Outcome:
    """What one unit gave: the claims (kept only when asked for), their reports, and input errors."""

    reports: list = field(default_factory=list)  # list[ClaimReport]
    claims: list[ClaimGraph] = field(default_factory=list)
    errors: list[ClaimInputError] = field(default_factory=list)


def claim_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and the claim files inside the folders named (sorted, recursively)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.suffix.lower() in CLAIM_SUFFIXES and not child.name.startswith("."):
                    yield child
        else:
            yield path


def _read(path: Path) -> str:
    from server.claims.readers import MAX_BYTES

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ClaimInputError(str(path), f"cannot read: {exc.strerror}") from None
    if size > MAX_BYTES and path.suffix.lower() not in (".jsonl", ".ndjson"):
        raise ClaimInputError(str(path), f"file is {size} bytes; the limit is {MAX_BYTES} (use JSON Lines for "
                                         "larger batches)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ClaimInputError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ClaimInputError(str(path), f"cannot read: {exc.strerror}") from None


class FileIds:
    """The claim ids of one file seen so far, to refuse a repeat in a later unit of the file.

    An id counts once its claim passes the field checks, as in `jsonform.claims_from_objects`,
    so a file cut into units gets the errors it gets read whole. Memory: the ids of one file.
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def unit(self, source: str, objects: list, wheres: list[str], batch_size: int,
             errors: list[ClaimInputError] | None = None) -> Unit:
        from server.claims.jsonform import check_claim

        keep: list = []
        keep_wheres: list[str] = []
        bad = list(errors or [])
        for obj, where in zip(objects, wheres, strict=True):
            try:
                check_claim(obj, where)
            except (ClaimInputError, RecursionError):
                keep.append(obj)  # the claim reader reports it, with the unit's other errors
                keep_wheres.append(where)
                continue
            if obj["id"] in self.seen:
                bad.append(ClaimInputError(f"{where}.id", f"claim {obj['id']!r} appears twice in one file"))
                continue
            self.seen.add(obj["id"])
            keep.append(obj)
            keep_wheres.append(where)
        return Unit(source, keep, keep_wheres, errors=bad, batch_size=batch_size)


def _chunks(source: str, objects: list, wheres: list[str], batch_size: int,
            errors: list[ClaimInputError] | None = None) -> Iterator[Unit]:
    ids = FileIds()
    if not objects and errors:
        yield Unit(source, [], [], errors=list(errors), batch_size=batch_size)
    for start in range(0, len(objects), batch_size):
        yield ids.unit(source, objects[start:start + batch_size], wheres[start:start + batch_size], batch_size,
                       errors if start == 0 else None)


def json_lines(lines: Iterable[str], source: str, batch_size: int) -> Iterator[Unit]:
    """Units of claim objects from JSON Lines (one claim per line); a bad line is an error of its unit."""
    ids = FileIds()
    objects: list = []
    wheres: list[str] = []
    bad: list[ClaimInputError] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as exc:
            bad.append(ClaimInputError(f"{source}:{n}:{exc.colno}", f"not valid JSON: {exc.msg}"))
            continue
        except RecursionError:
            bad.append(ClaimInputError(f"{source}:{n}", TOO_DEEP))
            continue
        wheres.append(f"{source}:{n}: claim")
        if len(objects) == batch_size:
            yield ids.unit(source, objects, wheres, batch_size, bad)
            objects, wheres, bad = [], [], []
    if objects or bad:
        yield ids.unit(source, objects, wheres, batch_size, bad)


def _json_lines_file(path: Path, batch_size: int) -> Iterator[Unit]:
    try:
        with path.open(encoding="utf-8") as fh:
            yield from json_lines(fh, str(path), batch_size)
    except UnicodeDecodeError as exc:
        raise ClaimInputError(str(path), f"not UTF-8 text (byte {exc.start})") from None


def text_units(text: str, source: str, fmt: str | None = None, batch_size: int = DEFAULT_BATCH,
               read_workers: int = 1) -> Iterator[Unit]:
    """The units of one file's text (format detected unless given). A file refused whole raises
    ClaimInputError, or RecursionError for JSON nested too deep; the caller reports it. An 837P of
    more claims than a batch is read here, by `read_workers` processes when its transaction sets
    allow (server.claims.x12_split)."""
    from server.claims.accounted import item_wheres
    from server.claims.jsonform import load_json
    from server.claims.readers import detect_format
    from server.claims.x12_split import claim_objects_split

    kind = fmt or detect_format(text)
    if kind == "json":
        items = load_json(text, source)
        yield from _chunks(source, items, item_wheres(source, len(items)), batch_size)
    elif kind == "x12" and x12_claim_count(text) > batch_size:
        bad: list[ClaimInputError] = []
        objects, wheres = claim_objects_split(text, source, bad, read_workers)
        yield from _chunks(source, objects, wheres, batch_size, bad)
    else:
        yield Unit(source, text=text, fmt=kind, batch_size=batch_size)


def x12_claim_count(text: str) -> int:
    """About how many claims (CLM segments) an 837P holds, from its delimiters; 0 when ISA is unreadable."""
    text = text.lstrip()
    if len(text) < 106:
        return 0
    element, terminator = text[3], text[105]
    return len(re.findall(re.escape(terminator) + r"[\r\n]*CLM" + re.escape(element), text))


def units(paths: Iterable[Path], fmt: str | None = None, batch_size: int = DEFAULT_BATCH,
          errors: list[ClaimInputError] | None = None, read_workers: int = 1) -> Iterator[Unit]:
    """Work units for the files and folders named; unreadable files go to `errors` (or raise)."""
    for path in claim_files(paths):
        try:
            if fmt in (None, "json") and path.suffix.lower() in (".jsonl", ".ndjson"):
                yield from _json_lines_file(path, batch_size)
                continue
            yield from text_units(_read(path), str(path), fmt, batch_size, read_workers)
        except (ClaimInputError, RecursionError) as exc:
            bad = exc if isinstance(exc, ClaimInputError) else ClaimInputError(str(path), TOO_DEEP)
            if errors is None:
                raise bad from None
            errors.append(bad)


def object_units(objects: Iterable[dict], source: str = "<generated>",
                 batch_size: int = DEFAULT_BATCH) -> Iterator[Unit]:
    """Work units from claim objects in memory (the synthetic generator, an HTTP batch body)."""
    chunk: list = []
    start = 0
    for obj in objects:
        chunk.append(obj)
        if len(chunk) == batch_size:
            yield Unit(source, chunk, [f"{source}: claims[{start + i}]" for i in range(len(chunk))])
            start += len(chunk)
            chunk = []
    if chunk:
        yield Unit(source, chunk, [f"{source}: claims[{start + i}]" for i in range(len(chunk))])


def parse(unit: Unit) -> tuple[list[ClaimGraph], list[ClaimInputError]]:
    """The claim graphs of one unit; bad claims (or a bad file) become errors, the rest still load."""
    from server.claims.accounted import claim_graphs
    from server.claims.readers import read_text

    errors: list[ClaimInputError] = list(unit.errors)
    try:
        if unit.objects is not None:
            return claim_graphs(unit.objects, unit.source, errors, unit.wheres), errors
        return read_text(unit.text or "", unit.source, unit.fmt, errors), errors
    except ClaimInputError as exc:
        errors.append(exc)
        return [], errors
    except RecursionError:  # claim objects nested hundreds deep (JSON Lines): the readers recurse per level
        errors.append(ClaimInputError(unit.source, TOO_DEEP))
        return [], errors


# -- running -------------------------------------------------------------------------------------

_validator = None


def _make_validator(engine: str):
    from server.store import knowledge_store
    from server.validation.engine import Validator
    from server.validation.fast import FastValidator

    store = knowledge_store(shapes=False)
    return FastValidator(store) if engine == "fast" else Validator(store)


def _init_worker(engine: str) -> None:
    global _validator
    _validator = _make_validator(engine)


def _work(args: tuple[Unit, bool]) -> Outcome:
    unit, keep_claims = args
    return run_unit(_validator, unit, keep_claims)


def run_unit(validator, unit: Unit, keep_claims: bool = False) -> Outcome:
    """Parse one unit and validate its claims, at most `unit.batch_size` at a time."""
    claims, errors = parse(unit)
    size = max(1, unit.batch_size)
    reports = [report for start in range(0, len(claims), size)
               for report in validator.validate(claims[start:start + size]).claims]
    return Outcome(reports, claims if keep_claims else [], errors)


def validate_units(work: Iterable[Unit], engine: str = "fast", workers: int = 1, keep_claims: bool = False,
                   validator=None, on_outcome: Callable[[Outcome], None] | None = None) -> Iterator[Outcome]:
    """Validate units in input order; with workers > 1, in that many processes (one per core)."""
    if workers <= 1:
        validator = validator or _make_validator(engine)
        for unit in work:
            yield run_unit(validator, unit, keep_claims)
        return
    ctx = mp.get_context("spawn" if os.name != "posix" else "forkserver")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(engine,)) as pool:
        # at most two units per worker in flight, answered in input order: Pool.imap would read the
        # whole input ahead, and memory must stay bounded by the batch size, not by the input
        pending: deque = deque()
        for unit in work:
            pending.append(pool.apply_async(_work, ((unit, keep_claims),)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
