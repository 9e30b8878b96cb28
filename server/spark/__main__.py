r"""The job script for spark-submit (and Databricks, EMR steps, Dataproc jobs): `m99kg validate` on the
cluster that runs it, the master and resources coming from spark-submit rather than from --spark.

    JOB=$(python -c 'import server.spark.__main__ as m; print(m.__file__)')
    spark-submit --master yarn --deploy-mode cluster "$JOB" \
        s3a://bucket/claims/ --output s3a://bucket/reports/ --output-format parquet

Takes the arguments of `m99kg validate` (files, --output, --output-format, --batch-size …); the file
can be copied anywhere (to S3, GCS, DBFS) as long as m99kg is installed where it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from server.spark.session import SUBMITTED


def main(argv: Sequence[str] | None = None) -> int:
    from server.cli import build_parser

    args = build_parser().parse_args(["validate", "--spark", SUBMITTED, *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
