"""Start the service: build or reuse the snapshot, start the query workers, serve with waitress.

With `store_url` set, the store is a remote SPARQL 1.1 server instead: the knowledge graphs are
synchronised into it (fingerprints, see server/remote/sync.py) and queries are forwarded to it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

import pyoxigraph as ox
from flask import Flask, Response

from server.remote.protocol import Endpoints, ProtocolClient, RemoteError, StoreRefused, StoreUnavailable
from server.sparql.pool import QueryPool
from server.sparql.snapshot import data_folder, ensure_snapshot
from server.store import Store
from server.web.app import create_app
from server.web.config import Config

log = logging.getLogger("m99kg")


def build(config: Config, snapshot: Path | None = None):
    """(app, pool) ready to serve; the caller closes the pool. `snapshot`: the data folder's snapshot,
    when the caller holds the folder's lock (serve does); otherwise it is brought up to date here."""
    if config.store_url:
        return build_remote(config)
    snapshot = snapshot or ensure_snapshot(config.data_dir)
    pool = QueryPool(str(snapshot), workers=config.workers, timeout=config.query_timeout,
                     row_limit=config.row_limit, memory_mb=config.query_memory_mb)
    store = Store(oxstore=ox.Store.read_only(str(snapshot)))
    return create_app(config, pool, store), pool


def build_remote(config: Config):
    """(app, pool) over the SPARQL server at config.store_url; raises RemoteError when it cannot be used."""
    from server.remote.pool import RemoteQueryPool
    from server.remote.store import RemoteStore
    from server.remote.sync import sync_knowledge

    endpoints = Endpoints.from_base(config.store_url, query=config.store_query_url,
                                    update=config.store_update_url, store=config.store_gsp_url)
    client = ProtocolClient(endpoints, timeout=config.query_timeout)
    store = RemoteStore(client)
    if config.store_sync:
        report = sync_knowledge(store)
        log.info("store %s: %s", endpoints.query, report.summary())
    pool = RemoteQueryPool(client, workers=config.workers, timeout=config.query_timeout,
                           row_limit=config.row_limit)
    app = create_app(config, pool, store)
    install_store_errors(app)
    return app, pool


def install_store_errors(app: Flask) -> None:
    """Code cards and validation read the remote store directly: its failures become 503/502, not 500."""

    @app.errorhandler(StoreUnavailable)
    def unavailable(err: StoreUnavailable) -> Response:
        return Response(f"{err}; try again later\n", 503, content_type="text/plain; charset=utf-8")

    @app.errorhandler(StoreRefused)
    def refused(err: StoreRefused) -> Response:
        return Response(f"the SPARQL store failed: {err.status} {err.message[:500]}\n", 502,
                        content_type="text/plain; charset=utf-8")

    @app.errorhandler(RemoteError)
    def other(err: RemoteError) -> Response:
        return Response(f"the SPARQL store failed: {err}\n", 502, content_type="text/plain; charset=utf-8")


def serve(config: Config) -> None:
    import waitress

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = time.perf_counter()
    with contextlib.ExitStack() as held:
        snapshot = None
        if not config.store_url:  # a loader must not write the data folder while the workers read it
            snapshot = held.enter_context(data_folder(config.data_dir, exclusive=False))
        app, pool = build(config, snapshot)
        log.info("ready in %.1f s on http://%s:%d/", time.perf_counter() - started, config.host, config.port)
        try:
            waitress.serve(app, host=config.host, port=config.port, threads=config.threads, ident="m99kg")
        finally:
            pool.close()
