"""The legacy context stacks, ``flask._app_ctx_stack`` and ``flask._request_ctx_stack``, as code
written for Flask 2.0/2.1 uses them: ``.top`` in a view and in a copied-context worker, and
``push``/``pop`` of an app context. Deprecated in 2.2, reduced to ``.top`` in 2.3, removed in 3.0
(the check is n/a there). Warnings raised by each use are part of what the view reports.

``push``/``pop`` run in a worker of their own: in Flask 2.2 the stack's ``pop`` sets the context
variable to None instead of restoring it, which inside the view would break the request's own
context and leave nothing sensible to observe afterwards.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import flask
from flask import Blueprint, Flask, copy_current_request_context, g, has_app_context, request

from apps.observe import observe_stable
from apps.shared import JOIN_TIMEOUT
from matrix.models.base import Workers


def with_warnings(read: Callable[[], Any]) -> dict[str, Any]:
    """``read``'s observation and the warnings it raised (their messages, in order)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seen = observe_stable(read)
    return {"seen": seen, "warnings": [str(w.message) for w in caught]}


def tops() -> dict[str, Any]:
    """What the two stacks' ``top`` give of the request's marker."""
    return {
        "request": flask._request_ctx_stack.top.request.args["marker"],  # type: ignore[attr-defined]
        "g": flask._app_ctx_stack.top.g.legacy_marker,  # type: ignore[attr-defined]
    }


def request_top() -> dict[str, Any]:
    """What ``_request_ctx_stack.top`` gives of the request's marker (in a copied-context worker,
    whose app context, and g, are new: the copied area's checks say so)."""
    return {"request": flask._request_ctx_stack.top.request.args["marker"]}  # type: ignore[attr-defined]


def register(app: Flask, workers: Workers) -> None:
    area = Blueprint("legacy", __name__, url_prefix="/legacy")

    @area.get("/view-top")
    def view_top() -> Any:
        g.legacy_marker = request.args["marker"]
        return with_warnings(tops)

    @area.get("/worker-top")
    def worker_top() -> Any:
        g.legacy_marker = request.args["marker"]
        copied = copy_current_request_context(lambda: with_warnings(request_top))
        return workers.spawn(copied).join(JOIN_TIMEOUT)

    @area.get("/push-pop")
    def push_pop() -> Any:
        def in_a_worker() -> dict[str, Any]:
            def use() -> dict[str, Any]:
                ctx = app.app_context()
                flask._app_ctx_stack.push(ctx)  # type: ignore[attr-defined]
                pushed = flask.current_app.name
                popped = flask._app_ctx_stack.pop()  # type: ignore[attr-defined]
                return {"current_app": pushed, "popped_itself": popped is ctx, "after": has_app_context()}

            return with_warnings(use)

        return workers.spawn(in_a_worker).join(JOIN_TIMEOUT)

    app.register_blueprint(area)
