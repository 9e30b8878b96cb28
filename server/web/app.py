"""The application factory. Heavy resources (worker pool, read-only store) are created by the
caller and passed in, so tests and `m99kg serve` share the same wiring."""

from __future__ import annotations

from flask import Flask, Response

from server.codecard import CodeCards
from server.namedqueries import load_queries
from server.sparql.pool import QueryPool
from server.store import Store
from server.validation.coalesce import Coalescer
from server.validation.engine import Validator
from server.validation.fast import FastValidator
from server.web import api, openapi, pages, security, sparql
from server.web.config import Config


def create_app(config: Config, pool: QueryPool, store: Store) -> Flask:
    app = Flask("m99kg")
    app.config["M99KG"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body
    queries = load_queries()
    app.extensions["m99kg.pool"] = pool
    app.extensions["m99kg.queries"] = queries
    app.extensions["m99kg.cards"] = CodeCards(store, queries)
    app.extensions["m99kg.validator"] = FastValidator(store)  # the shapes compiled to Oxigraph queries
    # concurrent /validate requests share one fast-engine batch (server/validation/coalesce.py)
    app.extensions["m99kg.coalescer"] = Coalescer(app.extensions["m99kg.validator"])
    app.extensions["m99kg.reference-validator"] = Validator(store)  # pySHACL, claim by claim (?engine=reference)
    security.install(app)
    for blueprint in (sparql.bp, api.bp, openapi.bp, pages.bp):
        app.register_blueprint(blueprint)

    @app.errorhandler(413)
    def too_large(_err) -> Response:
        return sparql.text(413, f"the body is larger than the {config.max_body} byte limit")

    @app.errorhandler(404)
    def not_found(_err) -> Response:
        return sparql.text(404, "no such endpoint; see /openapi.json")

    @app.errorhandler(405)
    def not_allowed(_err) -> Response:
        return sparql.text(405, "method not allowed here; see /openapi.json")

    @app.errorhandler(Exception)
    def internal(err: Exception) -> Response:  # a bug: say so without leaking internals
        app.logger.error("unhandled %s on request", type(err).__name__)
        return sparql.text(500, "internal error")

    return app
