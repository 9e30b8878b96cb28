"""Service settings, from command-line options and environment variables (M99KG_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env_list(name: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, "").split(",") if v.strip()]


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8099
    data_dir: Path = Path("var")
    query_timeout: float = 10.0
    row_limit: int = 100_000
    max_body: int = 5 * 1024 * 1024
    #: most claims one /validate?engine=reference request may hold (pySHACL: about 0.5 s a claim, under the GIL)
    reference_max_claims: int = 50
    workers: int = 2
    #: private memory one query worker may use, in MiB (0: no limit); a query past it stops that worker
    query_memory_mb: int = 4096
    #: request threads; concurrent /validate requests wait on them to share a batch, so more threads
    #: make larger batches under load (bench/service_latency.py)
    threads: int = 32
    token: str | None = field(default_factory=lambda: os.environ.get("M99KG_TOKEN") or None)
    cors_origins: list[str] = field(default_factory=lambda: _env_list("M99KG_CORS_ORIGINS"))
    #: a SPARQL 1.1 server to use instead of the embedded snapshot (base URL; see docs/remote-store.md)
    store_url: str | None = None
    #: explicit endpoints of that server; None: URL/query, URL/update, URL/store or M99KG_STORE_*_URL
    store_query_url: str | None = None
    store_update_url: str | None = None
    store_gsp_url: str | None = None
    #: check the knowledge graphs' fingerprints at start and upload the stale ones
    store_sync: bool = True
