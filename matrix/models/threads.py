"""OS threads: Werkzeug's threaded development server, one thread per request.

Nothing is patched. Workers are ``threading.Thread``; a thread starts with an empty
``contextvars`` context (until Python 3.14's ``thread_inherit_context``), which is the cell the
table shows for a bare worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from matrix.models.base import Event, WorkerError, WSGIApp


class ThreadWorker:
    """A ``threading.Thread`` that keeps its function's result or exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._fn()
        except BaseException as exc:  # handed to join(), which re-raises it in the view
            self._error = exc

    def join(self, timeout: float) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise WorkerError(f"worker still running after {timeout} s")
        if self._error is not None:
            raise self._error
        return self._result


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


MODEL = ThreadsModel()
