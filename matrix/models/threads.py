"""OS threads: Werkzeug's threaded development server (one thread per request) and waitress.

Nothing is patched. Workers are ``threading.Thread``; a thread starts with an empty
``contextvars`` context (until Python 3.14's ``thread_inherit_context``), which is the cell the
table shows for a bare worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from matrix.models.base import Event, ThreadWorker, WSGIApp


class ThreadWorkers:
    """Thread primitives; also used by the ASGI model, whose sync code runs in threads."""

    kind = "threading.Thread"

    def spawn(self, fn: Callable[[], Any]) -> ThreadWorker:
        return ThreadWorker(fn)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def event(self) -> Event:
        return threading.Event()


class ThreadsModel:
    name = "threads"

    def patch(self) -> None:
        """Threads need no patching."""

    def workers(self) -> ThreadWorkers:
        return ThreadWorkers()

    def serve(self, app: WSGIApp, fd: int) -> None:
        from werkzeug.serving import make_server

        # host and port are read from the socket when fd is given.
        make_server("127.0.0.1", 0, app, threaded=True, fd=fd).serve_forever()


def serve_waitress(app: WSGIApp, fd: int) -> None:
    """waitress with its default 4 threads, on the launcher's listening socket."""
    import socket

    import waitress

    waitress.serve(app, sockets=[socket.socket(fileno=fd)], _quiet=True)


MODEL = ThreadsModel()
