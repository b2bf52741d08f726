"""eventlet: ``eventlet.monkey_patch()`` first, then ``eventlet.wsgi.server``.

eventlet is deprecated upstream (its README asks users to migrate away, and importing it warns
with ``EventletDeprecationWarning``); it is still deployed, so it is still a column.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

with warnings.catch_warnings():
    # The deprecation notice is printed on every import; the table's notes carry it instead.
    warnings.simplefilter("ignore")
    import eventlet
    import eventlet.event
    import eventlet.wsgi

from matrix.models.base import Event, WorkerError, WSGIApp


class GreenThreadWorker:
    """An ``eventlet.spawn`` green thread."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._done = eventlet.event.Event()
        self._thread = eventlet.spawn(fn)
        self._thread.link(lambda gt: self._done.send(None))

    def join(self, timeout: float) -> Any:
        with eventlet.Timeout(timeout, False):
            self._done.wait()
        if not self._done.ready():
            raise WorkerError(f"green thread still running after {timeout} s")
        return self._thread.wait()


class EventletWorkers:
    kind = "eventlet.spawn"

    def spawn(self, fn: Callable[[], Any]) -> GreenThreadWorker:
        return GreenThreadWorker(fn)

    def sleep(self, seconds: float) -> None:
        eventlet.sleep(seconds)

    def event(self) -> Event:
        # After monkey_patch(), threading is eventlet.green.threading: its Event cooperates.
        import threading

        return threading.Event()


class EventletModel:
    name = "eventlet"

    def patch(self) -> None:
        eventlet.monkey_patch()

    def workers(self) -> EventletWorkers:
        return EventletWorkers()

    def serve(self, app: WSGIApp, fd: int) -> None:
        from eventlet.green import socket

        eventlet.wsgi.server(socket.socket(fileno=fd), app, log_output=False)


MODEL = EventletModel()
