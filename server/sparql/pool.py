"""A pool of query worker processes with a time limit and a memory limit per query.

Each worker holds the snapshot open read-only. A query is handed to an idle worker; if no answer
comes within the time limit the worker is killed (the only way to stop a pyoxigraph query) and a
fresh worker is started in the background, so the other workers keep serving meanwhile. Each worker
may allocate at most `memory_mb` (RLIMIT_DATA): a query that wants more (a sorted cross product
takes 3.5 GB in 10 s) makes Oxigraph's allocation fail, which ends that worker alone; the answer
says so and a fresh worker starts, instead of the machine running out of memory.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue
import signal
import threading
import time
from dataclasses import dataclass

from server.sparql import worker
from server.sparql.worker import QueryRequest, QueryResponse

_CTX = mp.get_context("spawn")


@dataclass
class _Worker:
    process: mp.process.BaseProcess
    conn: object


def _start(store_path: str, memory_mb: int = 0) -> _Worker:
    parent, child = _CTX.Pipe()
    process = _CTX.Process(target=worker.main, args=(child, store_path, memory_mb), daemon=True,
                           name="m99kg-query-worker")
    process.start()
    child.close()
    if not parent.poll(60) or parent.recv() != "ready":
        process.kill()
        raise RuntimeError("a query worker did not start")
    return _Worker(process, parent)


class QueryPool:
    def __init__(self, store_path: str, workers: int = 2, timeout: float = 10.0, row_limit: int = 100_000,
                 memory_mb: int = 0) -> None:
        self.store_path = store_path
        self.timeout = timeout
        self.row_limit = row_limit
        self.memory_mb = memory_mb
        # last in, first out: a lone client's queries go to the worker that answered the previous one,
        # whose RocksDB block cache is warm (each worker process has its own); a queue would rotate
        # them through every worker's cold cache in turn
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        for _ in range(workers):
            w = _start(store_path, memory_mb)
            self._all.append(w)
            self._idle.put(w)

    def execute(self, req: QueryRequest) -> QueryResponse:
        req.row_limit = min(req.row_limit, self.row_limit)
        deadline = time.monotonic() + self.timeout
        try:
            w = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            return QueryResponse(503, "text/plain; charset=utf-8",
                                 b"every query worker is busy; try again in a few seconds")
        try:
            w.conn.send(req)
            if w.conn.poll(max(0.0, deadline - time.monotonic())):
                response = w.conn.recv()
                self._idle.put(w)
                return response
            message = f"the query ran past the {self.timeout:g} s time limit and was stopped"
        except (EOFError, OSError, BrokenPipeError):  # the worker died while it ran the query
            w.process.join(2)
            if w.process.exitcode == -signal.SIGABRT and self.memory_mb:  # Rust aborts when allocation fails
                message = (f"the query needed more than the {self.memory_mb} MiB a query worker may use and was "
                           "stopped; narrow it (a LIMIT does not help a sort or a DISTINCT over everything)")
            else:
                message = ("the query worker stopped while running this query (the SPARQL engine crashed); a new "
                           "worker is starting. If this query does it again, simplify it")
        self._replace(w)
        return QueryResponse(503, "text/plain; charset=utf-8", message.encode())

    def _replace(self, dead: _Worker) -> None:
        dead.process.kill()

        def respawn() -> None:
            dead.process.join(5)
            fresh = _start(self.store_path, self.memory_mb)
            with self._lock:
                self._all = [w for w in self._all if w is not dead] + [fresh]
            self._idle.put(fresh)

        threading.Thread(target=respawn, daemon=True, name="m99kg-worker-respawn").start()

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for w in workers:
            with contextlib.suppress(OSError, BrokenPipeError):
                w.conn.send(None)
            w.process.join(2)
            if w.process.is_alive():
                w.process.kill()
