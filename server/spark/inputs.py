"""The driver's list of input files: local paths (listed like `m99kg validate` does) or Hadoop URIs.

Local paths go through `batch.claim_files`, so a folder means the same files with or without
Spark, and each file keeps the name the user typed in error messages. An input with a scheme
(`hdfs://`, `s3a://`, `gs://`, `abfss://`, `dbfs:/`, `file:/`) is listed through Hadoop's FileSystem
API on the driver's JVM, with globs, so the files never pass through the driver.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.claims.errors import ClaimInputError
from server.validation.batch import CLAIM_SUFFIXES, claim_files

LINE_SUFFIXES = (".jsonl", ".ndjson")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
_GLOB = re.compile(r"([\\{}\[\]*?])")


@dataclass(frozen=True)
class InputFile:
    name: str  # as error messages show it: the path as given, or the URI
    uri: str  # what Spark reads (glob characters escaped)
    lines: bool  # JSON Lines: Spark splits it by line, so partitions follow the data


def is_uri(text: str) -> bool:
    return bool(_URI.match(text))


def _escape(path: str) -> str:
    """Hadoop reads input paths as globs: a literal `[` or `*` in a file name must be escaped."""
    return _GLOB.sub(r"\\\1", path)


def _wanted(name: str) -> bool:
    return Path(name).suffix.lower() in CLAIM_SUFFIXES and not name.startswith((".", "_"))


def list_inputs(spark: Any, inputs: Iterable[str | Path], input_format: str | None = None
                ) -> tuple[list[InputFile], list[ClaimInputError]]:
    """Every input file, in order, and an error for each input that names nothing readable."""
    files: list[InputFile] = []
    errors: list[ClaimInputError] = []
    by_lines = input_format in (None, "json")
    for item in inputs:
        text = str(item)
        if is_uri(text):
            found = _hadoop_files(spark, text)
            if not found:
                errors.append(ClaimInputError(text, "no such file or folder (or the pattern matches nothing)"))
            for uri, size in found:
                lines = by_lines and uri.lower().endswith(LINE_SUFFIXES)
                _add(files, errors, InputFile(uri, _escape(uri), lines), size)
            continue
        for path in claim_files([Path(text)]):
            if not path.is_file():
                errors.append(ClaimInputError(str(path), "cannot read: no such file"))
                continue
            uri = "file://" + _escape(str(path.resolve()))
            _add(files, errors, InputFile(str(path), uri, by_lines and path.suffix.lower() in LINE_SUFFIXES),
                 path.stat().st_size)
    return files, errors


def _add(files: list[InputFile], errors: list[ClaimInputError], found: InputFile, size: int) -> None:
    """Keep a file, unless it is read whole and too large (checked here so it never reaches an executor)."""
    from server.claims.readers import MAX_BYTES

    if not found.lines and size > MAX_BYTES:
        errors.append(ClaimInputError(found.name, f"file is {size} bytes; the limit is {MAX_BYTES} (use JSON Lines "
                                                  "for larger batches)"))
    else:
        files.append(found)


def _hadoop_files(spark: Any, pattern: str) -> list[tuple[str, int]]:
    """Files matching a Hadoop path or glob; folders are listed recursively (claim files only, sorted)."""
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(pattern)
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    statuses = fs.globStatus(hpath) or []
    found: list[tuple[str, int]] = []
    for status in statuses:
        if status.isDirectory():
            listing = fs.listFiles(status.getPath(), True)
            inside = []
            while listing.hasNext():
                child = listing.next()
                where = child.getPath()
                if _wanted(where.getName()) and not any(part.startswith((".", "_"))
                                                        for part in _relative_parts(status.getPath(), where)):
                    inside.append((where.toString(), child.getLen()))
            found += sorted(inside)
        else:
            found.append((status.getPath().toString(), status.getLen()))
    return found


def _relative_parts(root: Any, child: Any) -> list[str]:
    """The folder names between `root` and `child` (a hidden or `_temporary` folder is skipped)."""
    parts = []
    parent = child.getParent()
    while parent is not None and parent.toString() != root.toString():
        parts.append(parent.getName())
        parent = parent.getParent()
    return parts
