"""A small client for the SPARQL 1.1 Protocol (query, update) and the Graph Store HTTP Protocol.

Written on http.client rather than a SPARQL library because the service needs three things the
libraries hide: a deadline over the whole answer (not just per socket read), the raw response
stream (so the row limit can stop reading early), and the remote's own status and message.

Endpoint layout: `--store URL` is a base; the query, update and graph store endpoints default to
URL/query, URL/update and URL/store (Oxigraph's layout) and can each be given explicitly.

Credentials come from the environment only (M99KG_STORE_TOKEN for a bearer token, or
M99KG_STORE_USER with M99KG_STORE_PASSWORD for HTTP Basic) and go with every request to all three
endpoints. A URL with user:password@ is refused: it would show in the process list, shell history
and every message that names the store, and http.client would silently drop it.
"""

from __future__ import annotations

import base64
import http.client
import io
import ipaddress
import logging
import os
import socket
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger("m99kg.store")

FORM = "application/x-www-form-urlencoded"

#: Environment variables that override the derived endpoints.
ENV_QUERY, ENV_UPDATE, ENV_GSP = "M99KG_STORE_QUERY_URL", "M99KG_STORE_UPDATE_URL", "M99KG_STORE_GSP_URL"
#: Environment variables holding the store's credentials (never options: they would show in `ps`).
ENV_TOKEN, ENV_USER, ENV_PASSWORD = "M99KG_STORE_TOKEN", "M99KG_STORE_USER", "M99KG_STORE_PASSWORD"
_CREDENTIALS_HINT = f"set {ENV_TOKEN}, or {ENV_USER} and {ENV_PASSWORD}, in the environment"


class RemoteError(Exception):
    """Base of every failure talking to the remote store."""


class StoreUnavailable(RemoteError):
    """The store could not be reached, or did not answer within the time limit."""


class StoreTimeout(StoreUnavailable):
    """The deadline passed before the whole answer arrived."""


class StoreRefused(RemoteError):
    """The store answered with an error status; `message` is its own text."""

    def __init__(self, status: int, message: str, url: str) -> None:
        self.status, self.message, self.url = status, message, url
        hint = ""
        if status in (401, 403):
            hint = (f" (the store wants credentials: {_CREDENTIALS_HINT})" if status == 401 else
                    " (the store forbids this request: a read-only endpoint, or an account without that right)")
        super().__init__(f"the store at {url} answered {status}: {message}{hint}")


def _check_url(url: str, what: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" in parts.netloc:
        shown = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
        raise ValueError(f"{what}: {shown!r} carries credentials (user@ or user:password@); {_CREDENTIALS_HINT} "
                         "instead, where they do not show in the process list or in messages")
    try:
        _port = parts.port  # urllib checks the port only when asked
    except ValueError:
        raise ValueError(f"{what}: {url!r} has a port that is not a number from 0 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what}: {url!r} is not an http:// or https:// URL")
    return url


def _plain(value: str, name: str) -> str:
    """A credential as it may go into a header: printable, no spaces at its ends, no line breaks."""
    if value != value.strip() or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"{name} holds a control character or spaces at its ends; "
                         "it cannot be sent in an HTTP header")
    return value


def authorization_from(environ: Mapping[str, str]) -> str | None:
    """The Authorization header value for the store, from M99KG_STORE_TOKEN (Bearer) or
    M99KG_STORE_USER and M99KG_STORE_PASSWORD (Basic, UTF-8); None when none is set.
    ValueError (naming the variables, never their values) for an incomplete or mixed setting."""
    token, user, password = (environ.get(name) or None for name in (ENV_TOKEN, ENV_USER, ENV_PASSWORD))
    if token and (user or password):
        raise ValueError(f"set either {ENV_TOKEN} or {ENV_USER} and {ENV_PASSWORD}, not both")
    if token:
        token = _plain(token, ENV_TOKEN)
        if " " in token:
            raise ValueError(f"{ENV_TOKEN} holds a space; give the token alone, without 'Bearer '")
        if not token.isascii():
            raise ValueError(f"{ENV_TOKEN} holds characters outside ASCII, which a bearer token cannot (RFC 6750)")
        return "Bearer " + token
    if user or password:
        if not (user and password):
            missing = ENV_PASSWORD if user else ENV_USER
            raise ValueError(f"{missing} is not set: HTTP Basic needs both {ENV_USER} and {ENV_PASSWORD}")
        user = _plain(user, ENV_USER)
        if ":" in user:
            raise ValueError(f"{ENV_USER} holds a colon, which HTTP Basic cannot carry in a user name")
        password = _plain(password, ENV_PASSWORD)
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Endpoints:
    query: str
    update: str
    store: str
    #: the Authorization header sent to all three (kept out of repr, so it never reaches a log)
    authorization: str | None = field(default=None, repr=False)

    @classmethod
    def from_base(cls, base: str, query: str | None = None, update: str | None = None,
                  store: str | None = None, environ: Mapping[str, str] | None = None) -> Endpoints:
        """Derive URL/query, URL/update, URL/store; explicit values (or M99KG_STORE_*_URL) win.
        The credentials are read from the environment (see authorization_from)."""
        environ = os.environ if environ is None else environ
        base = _check_url(base.rstrip("/"), "--store")
        query = query or environ.get(ENV_QUERY) or base + "/query"
        update = update or environ.get(ENV_UPDATE) or base + "/update"
        store = store or environ.get(ENV_GSP) or base + "/store"
        return cls(_check_url(query, "query endpoint"), _check_url(update, "update endpoint"),
                   _check_url(store, "graph store endpoint"), authorization_from(environ))

    def cleartext_hosts(self) -> list[str]:
        """Hosts other than this machine that would get the credentials over plain http."""
        if self.authorization is None:
            return []
        parts = [urllib.parse.urlsplit(u) for u in (self.query, self.update, self.store)]
        return sorted({p.hostname or "" for p in parts if p.scheme == "http" and not _is_loopback(p.hostname or "")})


class _DeadlineReader(io.RawIOBase):
    """A response body that fails with StoreTimeout once the deadline passes, and remembers its tail
    (a server that gives up mid-answer often writes its reason there)."""

    def __init__(self, response: http.client.HTTPResponse, sock: socket.socket | None, deadline: float,
                 url: str) -> None:
        self.response, self.sock, self.deadline, self.url = response, sock, deadline, url
        self.tail = b""
        #: the failure raised from readinto, kept because a parser reading this stream may wrap it
        self.failure: RemoteError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.failure = StoreTimeout(f"no complete answer from {self.url} within the time limit")
            raise self.failure
        if self.sock is not None:
            self.sock.settimeout(remaining)
        try:
            n = self.response.readinto(buffer)
        except TimeoutError as exc:
            self.failure = StoreTimeout(f"no complete answer from {self.url} within the time limit")
            raise self.failure from exc
        except (OSError, http.client.HTTPException) as exc:
            self.failure = StoreUnavailable(f"the connection to {self.url} broke: {exc}")
            raise self.failure from exc
        if n:
            self.tail = (self.tail + bytes(buffer[:n]))[-300:]
        return n or 0


class Reply:
    """An open 2xx answer: its media type and a deadline-guarded body stream. Close it when done."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse, deadline: float,
                 url: str) -> None:
        self._conn = conn
        self.status = response.status
        self.media_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        self.raw = _DeadlineReader(response, conn.sock, deadline, url)
        self.body = io.BufferedReader(self.raw, 64 * 1024)

    def read_all(self) -> bytes:
        return self.body.read()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Reply:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class ProtocolClient:
    """One HTTP request per call (no shared connection, so it is safe from many threads)."""

    def __init__(self, endpoints: Endpoints, timeout: float = 10.0, upload_timeout: float = 600.0) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        #: the Server header of the latest answer (tells Oxigraph apart for its bulk load option)
        self.server_header = ""
        for host in endpoints.cleartext_hosts():
            log.warning("the store's credentials go to %s over plain http, readable on the network; "
                        "use https:// for a store on another machine", host)

    # -- plumbing ------------------------------------------------------------------------------

    def _open(self, method: str, url: str, body: bytes | io.BufferedIOBase | None, headers: dict[str, str],
              timeout: float) -> Reply:
        """Send one request; return the open 2xx reply or raise StoreRefused / StoreUnavailable."""
        deadline = time.monotonic() + timeout
        parts = urllib.parse.urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=timeout)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if self.endpoints.authorization is not None:
            headers = {**headers, "Authorization": self.endpoints.authorization}
        try:
            conn.request(method, target, body=body, headers=headers)
            if conn.sock is not None:
                conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
            response = conn.getresponse()
        except TimeoutError as exc:
            conn.close()
            raise StoreTimeout(f"no answer from {url} within the {timeout:g} s time limit") from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            raise StoreUnavailable(f"the SPARQL store at {url} is unreachable ({reason})") from exc
        self.server_header = response.getheader("Server") or self.server_header
        if 200 <= response.status < 300:
            return Reply(conn, response, deadline, url)
        try:
            message = response.read(4000).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException):
            message = ""
        finally:
            conn.close()
        raise StoreRefused(response.status, message or response.reason, url)

    @staticmethod
    def _graph_url(base: str, graph: str | None) -> str:
        sep = "&" if "?" in base else "?"
        return base + sep + (urllib.parse.urlencode({"graph": graph}) if graph else "default")

    # -- SPARQL 1.1 Protocol ---------------------------------------------------------------------

    def query(self, sparql: str, accept: str, default_graphs: Iterable[str] = (), named_graphs: Iterable[str] = (),
              timeout: float | None = None) -> Reply:
        """POST the query as a form (no URL length limit); the dataset goes as protocol parameters."""
        fields = [("query", sparql)]
        fields += [("default-graph-uri", g) for g in default_graphs]
        fields += [("named-graph-uri", g) for g in named_graphs]
        body = urllib.parse.urlencode(fields).encode()
        return self._open("POST", self.endpoints.query, body,
                          {"Content-Type": FORM, "Accept": accept}, timeout or self.timeout)

    def update(self, sparql_update: str, timeout: float | None = None) -> None:
        """One SPARQL Update request (on Oxigraph: one transaction, all or nothing)."""
        body = urllib.parse.urlencode({"update": sparql_update}).encode()
        with self._open("POST", self.endpoints.update, body, {"Content-Type": FORM},
                        timeout or self.upload_timeout) as reply:
            reply.read_all()

    # -- Graph Store HTTP Protocol -----------------------------------------------------------------

    def graph_write(self, method: str, graph: str | None, data: bytes | io.BufferedIOBase, media_type: str,
                    length: int | None = None, extra: str = "") -> None:
        """PUT (replace) or POST (add to) a named graph, or the default graph when `graph` is None.
        `extra` is appended to the query string (a server's own option, e.g. Oxigraph's no_transaction)."""
        headers = {"Content-Type": media_type}
        if length is not None:
            headers["Content-Length"] = str(length)
        url = self._graph_url(self.endpoints.store, graph) + (f"&{extra}" if extra else "")
        with self._open(method, url, data, headers, self.upload_timeout) as reply:
            reply.read_all()

    def graph_delete(self, graph: str) -> bool:
        """DELETE a named graph; False when the store says it does not exist."""
        try:
            with self._open("DELETE", self._graph_url(self.endpoints.store, graph), None, {},
                            self.upload_timeout) as reply:
                reply.read_all()
        except StoreRefused as exc:
            if exc.status == 404:
                return False
            raise
        return True
