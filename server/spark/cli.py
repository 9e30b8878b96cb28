"""`m99kg validate --spark MASTER --output PATH`: the CLI's Spark mode (options are added by validate_cmd).

Reports go to files (JSON Lines or Parquet part files under PATH), input errors to stderr and the
output, a JSON summary to stdout; the exit code is the one `m99kg validate` gives.
"""

from __future__ import annotations

import argparse
import json
import sys

SHOWN_ERRORS = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Spark", "validate on Apache Spark (needs pyspark: pip install 'm99kg[spark]'); "
                                               "see docs/spark.md")
    group.add_argument("--spark", metavar="MASTER", default=None,
                       help="Spark master: local[2], local[*], yarn, spark://host:7077, k8s://…; 'submitted' takes "
                            "spark-submit's")
    group.add_argument("--output", metavar="PATH", default=None,
                       help="folder the reports are written to (a local path or a Hadoop URI; required with --spark)")
    group.add_argument("--output-format", choices=("jsonl", "parquet"), default="jsonl",
                       help="JSON Lines (the lines of --format jsonl, plus error lines) or Parquet")
    group.add_argument("--spark-conf", metavar="KEY=VALUE", action="append", default=[],
                       help="a Spark setting, e.g. spark.executor.memory=4g (repeatable)")
    group.add_argument("--partitions", type=int, default=None,
                       help="minimum partitions per input (default: the cluster's default parallelism)")
    group.add_argument("--overwrite", action="store_true", help="replace the output folder if it exists")


def run_spark(args: argparse.Namespace) -> int:
    """Validate `args.files` on Spark; every failure to start or write is one message and exit 2."""
    if not args.spark:
        print("m99kg validate: --output is for --spark (without it the report goes to stdout)", file=sys.stderr)
        return 2
    if not args.output:
        print("m99kg validate: --spark needs --output PATH (the folder the reports are written to)", file=sys.stderr)
        return 2
    try:
        import pyspark  # noqa: F401
    except ImportError:
        print("m99kg validate: --spark needs pyspark: pip install 'm99kg[spark]'", file=sys.stderr)
        return 2
    from server.spark.job import SparkSetupError, validate_on_spark
    from server.spark.session import build_session, parse_conf

    try:
        conf = parse_conf(args.spark_conf)
    except ValueError as exc:
        print(f"m99kg validate: {exc}", file=sys.stderr)
        return 2
    from pyspark.sql import SparkSession

    joined = SparkSession.getActiveSession()  # called from a notebook or a test: leave its session running
    try:
        spark = build_session(args.spark, conf=conf, progress=sys.stderr.isatty() and not args.no_progress)
    except Exception as exc:  # no Java, a master that does not answer: Spark's own message, first line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"m99kg validate: cannot start Spark on {args.spark}: {first}", file=sys.stderr)
        return 2
    try:
        summary = validate_on_spark(spark, args.files, args.output, args.output_format, args.input_format,
                                    args.batch_size, args.engine, args.partitions, args.overwrite)
    except SparkSetupError as exc:
        print(f"m99kg validate: {exc}", file=sys.stderr)
        return 2
    finally:
        if joined is None:
            spark.stop()
    for exc in summary.errors[:SHOWN_ERRORS]:
        print(f"m99kg validate: {exc}", file=sys.stderr)
    if summary.error_count > SHOWN_ERRORS:
        print(f"m99kg validate: … and {summary.error_count - SHOWN_ERRORS} more input errors (every one is in "
              f"{args.output})", file=sys.stderr)
    json.dump(summary.as_json(), sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return summary.exit_code
