"""`validate_on_spark`: claims partitioned by Spark, validated by the fast engine, reports written as files.

The driver only lists files and adds up counts; the claims themselves go from storage to the
executors and back to storage. JSON Lines files are read with `textFile`, so a large file is split
into as many partitions as the cluster has cores (line numbers come from `zipWithIndex`); other
files are read whole with `binaryFiles` (one work unit per file, as the CLI does). Each output row
is a claim report (the JSON of `m99kg validate --format jsonl`) or an input error. The rows are
kept (memory, spilling to disk) between writing them and counting them, so nothing is validated twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from server.claims.errors import ClaimInputError
from server.spark import worker
from server.spark.inputs import InputFile, list_inputs

FORMATS = ("jsonl", "parquet")
RESULT_SCHEMA = ("struct<rule:string,severity:string,focus:string,codes:array<string>,message:string,"
                 "source:string>")
PARQUET_SCHEMA = (f"kind string, claim string, conforms boolean, results array<{RESULT_SCHEMA}>, "
                  "`where` string, problem string")


class SparkSetupError(RuntimeError):
    """The cluster cannot run the job (m99kg or its data missing on the executors, output exists…)."""


@dataclass
class SparkSummary:
    """What the driver learns: totals, the first input errors (all of them are in the output), the exit code."""

    output: str
    fmt: str
    claims: int = 0
    conforming: int = 0
    violations: int = 0
    warnings: int = 0
    infos: int = 0
    error_count: int = 0
    errors: list[ClaimInputError] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """As `m99kg validate`: 2 when some input could not be read (or none could), else 1 on a violation."""
        if self.error_count or self.claims == 0:
            return 2
        return 0 if self.conforming == self.claims else 1

    def as_json(self) -> dict:
        return {"claims": self.claims, "violations": self.violations, "warnings": self.warnings, "infos": self.infos,
                "inputErrors": self.error_count, "conforms": self.claims > 0 and self.conforming == self.claims,
                "output": self.output, "format": self.fmt}


def _key(path: str) -> str:
    """The same file named by a local path or by the URI Hadoop reports (file:/a/b, file:///a/b)."""
    if "://" in path or path.startswith("file:"):
        path = unquote(urlparse(path).path)
    return os.path.normpath(path)


def _lines(sc: Any, found: InputFile, partitions: int) -> Any:
    name = found.name
    return (sc.textFile(found.uri, minPartitions=partitions, use_unicode=False)
            .zipWithIndex()
            .map(lambda pair: (name, pair[1] + 1, pair[0])))


def _whole(sc: Any, files: Sequence[InputFile], partitions: int) -> list[Any]:
    """binaryFiles over many files at once (a comma-separated list; a name with a comma goes alone)."""
    if not files:
        return []
    names = {_key(f.uri.replace("\\", "")): f.name for f in files}
    plain = [f.uri for f in files if "," not in f.uri]
    groups = ([",".join(plain)] if plain else []) + [f.uri for f in files if "," in f.uri]

    def named(pair: tuple[str, bytes]) -> worker.Record:
        return (names.get(_key(pair[0]), pair[0]), None, pair[1])

    return [sc.binaryFiles(group, minPartitions=partitions).map(named) for group in groups]


def _preflight(sc: Any) -> None:
    """One tiny task that imports m99kg and finds its ontology on an executor, to fail early and clearly."""

    def probe(_: Any) -> str | None:  # nested, so Spark ships it by value even where `server` is missing
        try:
            import pyoxigraph  # noqa: F401

            from server import resources

            if not resources.codeset_file().is_file() or not resources.shapes_dir().is_dir():
                return f"the ontology or shapes are missing under {resources.ontology_dir().parent}"
            return None
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"

    try:
        problem = sc.parallelize([0], 1).map(probe).collect()[0]
    except Exception as exc:  # the worker could not even start (wrong Python, missing pyspark there)
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if problem:
        raise SparkSetupError(f"the Spark executors cannot run m99kg ({problem}); install the m99kg wheel on "
                              "every node, or ship a packed environment with spark.archives: see docs/spark.md")


def input_pieces(spark: Any, inputs: Iterable[str | Path], input_format: str | None, partitions: int | None,
                 check_executors: bool = True) -> tuple[list[Any], list]:
    """(RDDs of work pieces for the inputs, errors found on the driver): what validate and load share.

    Whole files become one piece per file, JSON Lines files are read line by line; with
    `check_executors`, one small task first proves the executors can import m99kg and find the ontology.
    """
    sc = spark.sparkContext
    if check_executors:
        _preflight(sc)
    parts = max(1, partitions or sc.defaultParallelism)
    files, driver_errors = list_inputs(spark, inputs, input_format)
    pieces = _whole(sc, [f for f in files if not f.lines], parts)
    pieces += [_lines(sc, f, parts) for f in files if f.lines]
    return pieces, driver_errors


def _tally(row: worker.Row) -> tuple[int, int, int, int, int, int]:
    claim = row[0] == "claim"
    return (int(claim), int(claim and bool(row[2])), row[7], row[8], row[9], int(row[0] == "error"))


def _plus(a: tuple, b: tuple) -> tuple:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def validate_on_spark(spark: Any, inputs: Iterable[str | Path], output: str, fmt: str = "jsonl",
                      input_format: str | None = None, batch_size: int = 1000, engine: str = "fast",
                      partitions: int | None = None, overwrite: bool = False, keep_errors: int = 1000,
                      check_executors: bool = True) -> SparkSummary:
    """Validate every claim of `inputs` on `spark` and write one row per claim or input error to `output`.

    `fmt` "jsonl" writes text part files whose lines are those of `m99kg validate --format jsonl`,
    plus `{"kind": "error", "where": …, "problem": …}` lines; "parquet" writes the columns of
    PARQUET_SCHEMA. `partitions` is the minimum number of partitions per input (default: the
    cluster's default parallelism). Raises SparkSetupError when the job cannot run at all.
    """
    from pyspark import StorageLevel

    if fmt not in FORMATS:
        raise ValueError(f"output format {fmt!r}: expected one of {', '.join(FORMATS)}")
    sc = spark.sparkContext
    pieces, driver_errors = input_pieces(spark, inputs, input_format, partitions, check_executors)
    with_json = fmt == "jsonl"
    body = partial(worker.validate_partition, input_format=input_format, batch_size=max(1, batch_size),
                   engine=engine, with_json=with_json)
    rdds = [piece.mapPartitions(body) for piece in pieces]
    if driver_errors:
        rdds.insert(0, sc.parallelize([worker.error_row(e, with_json) for e in driver_errors], 1))
    rows = sc.union(rdds) if rdds else sc.emptyRDD()
    rows.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        _write(spark, rows, output, fmt, overwrite)
        totals = rows.map(_tally).fold((0, 0, 0, 0, 0, 0), _plus)
        errors = rows.filter(lambda r: r[0] == "error").map(lambda r: (r[4], r[5])).take(keep_errors)
    finally:
        rows.unpersist()
    claims, conforming, violations, warnings, infos, error_count = totals
    return SparkSummary(output, fmt, claims, conforming, violations, warnings, infos, error_count,
                        [ClaimInputError(where, problem) for where, problem in errors])


def _write(spark: Any, rows: Any, output: str, fmt: str, overwrite: bool) -> None:
    from pyspark.errors import AnalysisException

    if fmt == "jsonl":
        frame = spark.createDataFrame(rows.map(lambda r: (r[6],)), "value string")
    else:
        frame = spark.createDataFrame(rows.map(lambda r: r[:6]), PARQUET_SCHEMA)
    writer = frame.write.mode("overwrite" if overwrite else "errorifexists")
    try:
        writer.text(output) if fmt == "jsonl" else writer.parquet(output)
    except AnalysisException as exc:
        if "PATH_ALREADY_EXISTS" in str(exc) or "already exists" in str(exc):
            raise SparkSetupError(f"{output} already exists (remove it, or overwrite it: --overwrite)") from None
        raise
