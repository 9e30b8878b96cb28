"""Memory of a process and of its process tree, read from /proc (Linux), for the bench scripts."""

from __future__ import annotations

import os


def rss_mib(pid: int | None = None, field: str = "VmRSS") -> float:
    """VmRSS of one process (this one by default), MiB; 0 when it has gone."""
    try:
        with open(f"/proc/{pid or os.getpid()}/status") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith(f"{field}:")), 0) / 1024
    except OSError:
        return 0.0


def peak_rss_mib() -> float:
    """VmHWM, this process's peak RSS since it started its program, MiB. (getrusage's ru_maxrss also
    counts what the parent held before a spawned child's exec: Linux carries it over.)"""
    return rss_mib(field="VmHWM")


def tree_rss_mib(pid: int | None = None) -> float:
    """VmRSS of a process and all its descendants (validation workers sit under the forkserver), MiB."""
    total, todo = 0.0, [pid or os.getpid()]
    while todo:
        current = todo.pop()
        total += rss_mib(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total
