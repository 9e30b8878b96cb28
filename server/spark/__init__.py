"""Claim validation on Apache Spark: the fast engine run in every executor, reports written as files.

The driver lists the inputs (`inputs`), Spark reads them where they are (local disk, HDFS, S3,
GCS…), each partition is validated by one fast-engine validator per Python worker (`worker`), and
the per-claim reports go out as JSON Lines or Parquet (`job`). pyspark is an optional dependency:
nothing in the rest of the package imports this one.
"""
