"""A real waitress server for a Flask app on 127.0.0.1, for the tests that drive the service over HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import waitress


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app, port: int, threads: int = 6) -> Iterator[int]:
    """Serve `app` on 127.0.0.1:`port` until the block ends.

    The server is closed by its own loop thread: closing it from another thread races the
    select() of that loop, which then dies with EBADF (waitress issue 468, fixed after 3.0.2).
    """
    httpd = waitress.create_server(app, host="127.0.0.1", port=port, threads=threads)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        httpd.trigger.pull_trigger(httpd.close)
        thread.join(5)
