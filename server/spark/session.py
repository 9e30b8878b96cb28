"""A SparkSession for `m99kg validate --spark MASTER`.

Local masters (`local`, `local[4]`, `local[*]`) are made network-free: the driver binds to
127.0.0.1, the web UI is off, and the Python workers run this interpreter (so they see the same
installed packages as the driver, whichever virtualenv that is). Cluster masters get only the
settings the caller gives: the cluster's own configuration decides the rest. Under spark-submit
(master "submitted") no master is set at all.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

SUBMITTED = "submitted"  # the master given by spark-submit (or the platform), not set here
LOCAL_SETTINGS = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
}


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def build_session(master: str, app_name: str = "m99kg validate", conf: Mapping[str, str] | None = None,
                  progress: bool = False) -> Any:
    """Start (or join) a SparkSession on `master`; `conf` settings win over the defaults here."""
    from pyspark.sql import SparkSession

    settings: dict[str, str] = {"spark.ui.showConsoleProgress": "true" if progress else "false"}
    if is_local(master):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings |= LOCAL_SETTINGS
        # the RDD API reads PYSPARK_PYTHON (else "python3" on PATH, maybe without m99kg), SQL reads the setting
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        settings["spark.pyspark.python"] = os.environ["PYSPARK_PYTHON"]
    settings |= dict(conf or {})
    builder = SparkSession.builder.appName(app_name)
    if master != SUBMITTED:
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def parse_conf(items: list[str] | None) -> dict[str, str]:
    """`KEY=VALUE` strings (the CLI's repeated --spark-conf) as a dict; a malformed one is a ValueError."""
    conf: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--spark-conf {item!r}: expected KEY=VALUE, e.g. spark.executor.memory=4g")
        conf[key.strip()] = value
    return conf
