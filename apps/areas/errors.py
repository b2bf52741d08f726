"""The common context errors, provoked on purpose: what the code that made the mistake sees.

Each view reports the exception type and first message line (or the value, where the mistake
silently worked). The places are the ones Flask's docs warn about: module code run outside any
context (an import at startup), a worker touching ``request`` with no context of its own, and
code that runs once the request context is gone (a response's ``call_on_close`` callback).
"""

from __future__ import annotations

import types
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request

from apps.observe import observe
from apps.shared import GATE_TIMEOUT, JOIN_TIMEOUT, TokenLog
from matrix.models.base import Workers

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


def register(app: Flask, workers: Workers) -> None:
    after_teardown = TokenLog(workers)

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
            after_teardown.add(
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
        calls = after_teardown.take(request.args["token"], wait=GATE_TIMEOUT)
        return {"callback": calls[-1] if calls else f"not called within {GATE_TIMEOUT:g} s"}
