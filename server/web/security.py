"""Cross-cutting request handling: bearer token, CORS, access log (never with claim content)."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from functools import wraps

from flask import Flask, Response, current_app, g, request

log = logging.getLogger("m99kg.access")


def requires_token(view: Callable) -> Callable:
    """Endpoints that accept or expose claims: when M99KG_TOKEN is set, a matching bearer token is required."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        token = current_app.config["M99KG"].token
        if token:
            given = request.headers.get("Authorization", "")
            if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), token.encode()):
                return Response("a bearer token is required (Authorization: Bearer ...)\n", 401,
                                {"WWW-Authenticate": 'Bearer realm="m99kg"', "Content-Type": "text/plain"})
        return view(*args, **kwargs)

    return wrapped


def install(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _after(response: Response) -> Response:
        origins = app.config["M99KG"].cors_origins
        origin = request.headers.get("Origin")
        if origin and ("*" in origins or origin in origins):
            response.headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Accept"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            if "*" not in origins:
                response.headers["Vary"] = "Origin"
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        # the path only: query strings and bodies may carry claim content
        log.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed)
        return response
