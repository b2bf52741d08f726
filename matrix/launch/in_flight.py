"""Server side of the overlap evidence a user's suite gets: requests in flight, counted in the
server process around the app (``app.wsgi_app``, Flask's place for middleware).

A request is in flight from the moment the app is called until its response is read to the end or
closed (so a streamed response counts while it streams). ``GET /__flask_matrix__/in-flight`` answers the count
now and the peak since the last ``?reset=1``; that request itself is not counted and never reaches
the app. Installed only for a user's app (the matrix's own app set measures overlap with its own
gates, and no check of it runs through this wrapper). Imported after the model patched the
runtime, so the lock cooperates under gevent and eventlet.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

PATH = "/__flask_matrix__/in-flight"

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class InFlight:
    """WSGI middleware counting the requests being served at once, and their peak."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH:
            return self._answer(environ, start_response)
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._leave()
            raise
        return _Counted(result, self._leave)

    def _leave(self) -> None:
        with self.lock:
            self.now -= 1

    def _answer(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            body = json.dumps({"in_flight": self.now, "peak": self.peak}).encode()
            if "reset=1" in environ.get("QUERY_STRING", ""):
                self.peak = self.now
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class _Counted:
    """The app's response iterable, leaving the count once: when the server has read it to the end
    or closes it, whichever comes first (asgiref's WsgiToAsgi reads it and never calls close())."""

    def __init__(self, result: Iterable[bytes], leave: Callable[[], None]) -> None:
        self.result = result
        self.leave: Callable[[], None] | None = leave

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.result
        finally:
            self._leave()

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self._leave()

    def _leave(self) -> None:
        leave, self.leave = self.leave, None
        if leave is not None:
            leave()
