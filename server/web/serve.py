"""Start the service: build or reuse the snapshot, start the query workers, serve with waitress."""

from __future__ import annotations

import logging
import time

import pyoxigraph as ox

from server.sparql.pool import QueryPool
from server.sparql.snapshot import ensure_snapshot
from server.store import Store
from server.web.app import create_app
from server.web.config import Config


def build(config: Config):
    """(app, pool) ready to serve; the caller closes the pool."""
    snapshot = ensure_snapshot(config.data_dir)
    pool = QueryPool(str(snapshot), workers=config.workers, timeout=config.query_timeout,
                     row_limit=config.row_limit)
    store = Store(oxstore=ox.Store.read_only(str(snapshot)))
    return create_app(config, pool, store), pool


def serve(config: Config) -> None:
    import waitress

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = time.perf_counter()
    app, pool = build(config)
    logging.getLogger("m99kg").info("ready in %.1f s on http://%s:%d/", time.perf_counter() - started,
                                    config.host, config.port)
    try:
        waitress.serve(app, host=config.host, port=config.port, threads=8, ident="m99kg")
    finally:
        pool.close()
