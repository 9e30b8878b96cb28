"""`m99kg load --spark MASTER`: claims validated on Spark, stored by the driver one transaction per batch.

The executors read, parse and validate their share of the input exactly as `m99kg validate --spark`
does (the same input listing, work units and per-worker fast validator, server.spark.worker), but
each batch of claims becomes its `server.loading.BatchWrites` (the claim and result statements)
instead of report rows. The driver pulls those with `toLocalIterator()`, one partition at a time,
and stores each with `server.loading.write_batch`, exactly as the plain load does: one transaction
per batch, so an interrupted load leaves whole batches only, as without Spark.

Executors never write to the store. An embedded store is a folder on the driver's disk, and for a
remote store a single writer keeps the transactions in one place and ordered; the parallel part
(parsing and validation) is the expensive part. The rows are computed once by a counting pass
over all partitions (cached, memory then disk) before the driver reads them, so the validation
runs on every core rather than partition by partition as the driver asks for them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used, so `m99kg --help` does not load the validation engine
    from server.claims.errors import ClaimInputError
    from server.loading import LoadSummary, UpdateTarget

Record = tuple[str, int | None, bytes]  # server.spark.worker.Record: (file name, line number or None, bytes)

# One row: kind ("batch" | "error"), the batch's writes (server.loading.BatchWrites), its claims, results and
# inserted triples, where, problem.
LoadRow = tuple[str, Any, int, int, int, str | None, str | None]


def load_partition(records: Iterable[Record], input_format: str | None = None, batch_size: int = 1000,
                   store_content: bool = True) -> Iterator[LoadRow]:
    """mapPartitions body: one writes row per validated batch, one error row per input error, in input order."""
    from server.loading import batch_writes
    from server.spark import worker
    from server.validation import batch

    for unit in worker.units(records, input_format, batch_size):
        claims, errors = batch.parse(unit)
        for exc in errors:
            yield ("error", None, 0, 0, 0, exc.where, exc.problem)
        if claims:
            reports = worker.validator("fast").validate(claims).claims
            writes = batch_writes(claims, reports, store_content, "fast")
            yield ("batch", writes, len(claims), sum(len(r.results) for r in reports), writes.triples, None, None)


def _new_summary() -> LoadSummary:
    from server.loading import LoadSummary

    return LoadSummary()


@dataclass
class SparkLoad:
    """What the driver stored, and every input error (there is no output folder to hold them)."""

    summary: LoadSummary = field(default_factory=_new_summary)
    errors: list[ClaimInputError] = field(default_factory=list)


def load_on_spark(spark: Any, inputs: Iterable[str | Path], target: UpdateTarget, store_content: bool = True,
                  input_format: str | None = None, batch_size: int = 1000, partitions: int | None = None,
                  check_executors: bool = True,
                  on_batch: Callable[[LoadSummary], None] | None = None) -> SparkLoad:
    """Validate `inputs` on `spark` and apply one update per batch to `target` on this (the driver's) process.

    Input errors are collected, not raised; the readable claims are loaded. Raises SparkSetupError when
    the executors cannot run m99kg, and whatever `target.update` raises (the batches before it are stored).
    """
    from pyspark import StorageLevel

    from server.claims.errors import ClaimInputError
    from server.loading import write_batch
    from server.spark.job import input_pieces

    sc = spark.sparkContext
    pieces, driver_errors = input_pieces(spark, inputs, input_format, partitions, check_executors)
    body = partial(load_partition, input_format=input_format, batch_size=max(1, batch_size),
                   store_content=store_content)
    done = SparkLoad(errors=list(driver_errors))
    if not pieces:
        return done
    rows = sc.union([piece.mapPartitions(body) for piece in pieces])
    rows.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows.count()  # validates every partition in parallel; the driver then reads the cached rows
        for kind, writes, claims, results, triples, where, problem in rows.toLocalIterator():
            if kind == "error":
                done.errors.append(ClaimInputError(where or "", problem or ""))
                continue
            write_batch(target, writes)
            done.summary.claims += claims
            done.summary.results += results
            done.summary.triples += triples
            done.summary.batches += 1
            if on_batch is not None:
                on_batch(done.summary)
    finally:
        rows.unpersist()
    return done


# -- the command line --------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The Spark options of `m99kg load` (no --output: the store is the output)."""
    group = parser.add_argument_group("Spark", "validate on Apache Spark, store from this process (needs pyspark: "
                                               "pip install 'm99kg[spark]'); see docs/spark.md")
    group.add_argument("--spark", metavar="MASTER", default=None,
                       help="Spark master: local[2], local[*], yarn, spark://host:7077, k8s://…; 'submitted' takes "
                            "spark-submit's")
    group.add_argument("--spark-conf", metavar="KEY=VALUE", action="append", default=[],
                       help="a Spark setting, e.g. spark.executor.memory=4g (repeatable)")
    group.add_argument("--partitions", type=int, default=None,
                       help="minimum partitions per input (default: the cluster's default parallelism)")


def _fail(message: str) -> int:
    print(f"m99kg load: {message}", file=sys.stderr)
    return 2


def run_spark_load(args: argparse.Namespace) -> int:
    """`m99kg load --spark`: the exit codes and summary line of the plain load; any failure is one message."""
    if not args.spark:
        return _fail("--spark-conf and --partitions are for --spark")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return _fail("--spark needs pyspark: pip install 'm99kg[spark]'")
    from pyspark.sql import SparkSession

    from server.remote.protocol import RemoteError
    from server.spark.session import build_session, parse_conf

    try:
        conf = parse_conf(args.spark_conf)
    except ValueError as exc:
        return _fail(str(exc))
    started = time.perf_counter()
    try:
        with _target(args) as target:
            joined = SparkSession.getActiveSession()  # a notebook's or a test's: leave it running
            try:
                spark = build_session(args.spark, app_name="m99kg load", conf=conf, progress=sys.stderr.isatty())
            except Exception as exc:  # no Java, a master that does not answer: Spark's own message, first line
                return _fail(f"cannot start Spark on {args.spark}: {_first_line(exc)}")
            try:
                done = load_on_spark(spark, args.files, target, not args.no_store_content, args.input_format,
                                     args.batch_size, args.partitions)
            finally:
                if joined is None:
                    spark.stop()
    except (OSError, RuntimeError, RemoteError) as exc:  # busy data folder, store I/O, SparkSetupError
        return _fail(str(exc))
    except Exception as exc:  # a failed Spark job (Py4JJavaError): the task's error is in Spark's log above
        return _fail(f"the Spark job failed: {_first_line(exc)} (see the Spark log above)")
    for exc in done.errors:
        print(f"m99kg load: {exc}", file=sys.stderr)
    summary, elapsed = done.summary, time.perf_counter() - started
    print(f"loaded {summary.claims} claims with {summary.results} results in {summary.batches} transactions "
          f"({summary.triples} triples, {elapsed:.1f} s, {summary.claims / max(elapsed, 1e-9):.0f} claims/s)")
    return 2 if done.errors else 0


def _target(args: argparse.Namespace) -> Any:
    """A context giving the update target: the remote store, or the data folder under its exclusive lock."""
    import contextlib

    if args.store:
        from server.remote.store import RemoteStore

        return contextlib.nullcontext(RemoteStore.at(args.store, timeout=600))
    from server.cli.load_cmd import embedded_store

    return embedded_store(Path(args.data))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
