"""gevent: ``gevent.monkey.patch_all()`` first, then ``gevent.pywsgi.WSGIServer``.

Importing this module imports gevent, which is the availability check. Patching must run before
Flask, Werkzeug or the app is imported, so that ``threading``, ``socket`` and ``contextvars`` are
the cooperative versions everywhere (gevent's ``patch_contextvars`` is part of ``patch_all`` on the
Pythons that need it; greenlet >= 1.0 gives each greenlet its own context natively).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

from matrix.models.base import Event, WorkerError, WSGIApp


class GreenletWorker:
    """A ``gevent.spawn`` greenlet."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._greenlet = gevent.spawn(fn)

    def join(self, timeout: float) -> Any:
        self._greenlet.join(timeout)
        if not self._greenlet.ready():
            raise WorkerError(f"greenlet still running after {timeout} s")
        return self._greenlet.get()


class GeventWorkers:
    kind = "gevent.spawn"

    def spawn(self, fn: Callable[[], Any]) -> GreenletWorker:
        return GreenletWorker(fn)

    def sleep(self, seconds: float) -> None:
        gevent.sleep(seconds)

    def event(self) -> Event:
        event: Event = gevent.event.Event()
        return event


class GeventModel:
    name = "gevent"

    def patch(self) -> None:
        from gevent import monkey

        monkey.patch_all()

    def workers(self) -> GeventWorkers:
        return GeventWorkers()

    def serve(self, app: WSGIApp, fd: int) -> None:
        import socket  # gevent's cooperative socket module, once patched

        from gevent.pywsgi import WSGIServer

        # log=None: the access log would be the largest part of the server log and says nothing
        # the checks need; errors still go to the error log (stderr, kept in the log file).
        WSGIServer(socket.socket(fileno=fd), app, log=None).serve_forever()


MODEL = GeventModel()
