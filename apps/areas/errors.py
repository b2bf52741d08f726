"""The common context errors, provoked on purpose: what the code that made the mistake sees.

Each view reports the exception type and first message line (or the value, where the mistake
silently worked). The places are the ones Flask's docs warn about: module code run outside any
context (an import at startup), a worker touching ``request`` with no context of its own, and
code that runs once the request context is gone (a response's ``call_on_close`` callback).
"""

from __future__ import annotations

import threading
import types
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request

from apps.observe import observe
from apps.views import GATE_TIMEOUT, JOIN_TIMEOUT
from matrix.models.base import Event, Workers

PROBE_MODULE = """\
from flask import current_app

APP_NAME = current_app.name
"""
"""A module that reads current_app at import time, the mistake behind Flask's most common error."""


def _import_probe(name: str) -> str:
    """Execute ``PROBE_MODULE`` as a fresh module, as ``import`` would, and return its APP_NAME."""
    module = types.ModuleType(name)
    exec(compile(PROBE_MODULE, f"<{name}>", "exec"), module.__dict__)
    return str(module.APP_NAME)


class AfterTeardownFiles:
    """Observations of call_on_close callbacks, by token, with an event per token to wait on."""

    def __init__(self, workers: Workers) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._events: dict[str, Event] = {}
        self._seen: dict[str, Any] = {}

    def _event(self, token: str) -> Event:
        with self._lock:
            if token not in self._events:
                self._events[token] = self._workers.event()
            return self._events[token]

    def file(self, token: str, seen: Any) -> None:
        with self._lock:
            self._seen[token] = seen
        self._event(token).set()

    def collect(self, token: str, timeout: float) -> Any:
        called = self._event(token).wait(timeout)
        with self._lock:
            self._events.pop(token, None)
            seen = self._seen.pop(token, None)
        return {"callback": seen if called else f"not called within {timeout:g} s"}


def register(app: Flask, workers: Workers) -> None:
    after_teardown = AfterTeardownFiles(workers)

    @app.get("/errors/current-app-at-import")
    def errors_current_app_at_import() -> Any:
        """The probe module imported by a fresh native worker (outside any context, as at
        startup) and, for contrast, inside this view."""
        name = f"errors_probe_{request.args['token']}"
        in_worker = workers.spawn(lambda: observe(lambda: _import_probe(name))).join(JOIN_TIMEOUT)
        return {"in_worker": in_worker, "in_view": observe(lambda: _import_probe(name))}

    @app.get("/errors/request-in-worker")
    def errors_request_in_worker() -> Any:
        """A native worker reads request with no context, inside one it pushes itself, and after
        popping it; the view then reads its own request."""
        flask_app = current_app._get_current_object()  # type: ignore[attr-defined]

        def work() -> Any:
            before = observe(lambda: request.args["who"])
            with flask_app.test_request_context("/?who=worker"):
                inside = observe(lambda: request.args["who"])
            after = observe(lambda: request.args["who"])
            return {"before": before, "inside": inside, "after": after}

        seen = workers.spawn(work).join(JOIN_TIMEOUT)
        return {**seen, "view": observe(lambda: request.args["who"])}

    @app.get("/errors/after-teardown")
    def errors_after_teardown() -> Any:
        """Register a call_on_close callback: it runs when the server closes the response, after
        teardown_request and the context pops, and reads request, g and current_app."""
        token = request.args["token"]
        g.errors_marker = token

        def on_close() -> None:
            after_teardown.file(
                token,
                {
                    "request": observe(lambda: request.args["token"]),
                    "g": observe(lambda: g.errors_marker),
                    "current_app": observe(lambda: current_app.name),
                },
            )

        response: Response = jsonify({"registered": token})
        response.call_on_close(on_close)
        return response

    @app.get("/errors/after-teardown/result")
    def errors_after_teardown_result() -> Any:
        """Wait (bounded) for the callback; a server that never closes the response reports
        that it was not called."""
        return after_teardown.collect(request.args["token"], GATE_TIMEOUT)
