"""Isolation and concurrency: does each of many overlapping requests keep its own query, g,
session and ContextVar, do requests overlap at all, do nested contexts stay apart while they
interleave, and does a ContextVar a view never resets reach a later request?

Every view reports what it saw (values, worker identities, gate counts); the checks judge.
"""

from __future__ import annotations

import json
import threading
from contextvars import ContextVar
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request, session

from apps.gate import Gate, GateRegistry, server_capacity
from apps.observe import observe
from apps.shared import GATE_TIMEOUT, TokenLog, yield_a_few
from apps.stores import MarkerStore, marker_store
from matrix.models.base import Workers
from matrix.records import Observation

MARKER: ContextVar[str] = ContextVar("matrix_marker")
"""A user ContextVar, set per request like the users' own (request ids, tenants, DB sessions)."""
LEAK: ContextVar[str] = ContextVar("isolation_leak")
"""Set by a view and deliberately never reset: what a later request sees of it is the check."""

OTHER_APP_NAME = "isolation_other"
NESTED_DEPTH = 3
"""How deep the interleaved reads recurse; every level yields before and after going deeper."""


def register(app: Flask, workers: Workers) -> None:
    gates = GateRegistry(workers, capacity=server_capacity(app))  # requests' gates
    area = Blueprint("isolation", __name__, url_prefix="/isolation")
    _marker_views(area, workers, gates, marker_store(app))
    _overlap_views(area, workers, gates)
    _nested_views(app, area, workers, gates)
    _nested_app_context_views(app, area, TokenLog(workers))
    _contextvar_views(area)
    app.register_blueprint(area)


def _marker_views(area: Blueprint, workers: Workers, gates: GateRegistry, store: MarkerStore) -> None:
    """Query, g (through the app's marker store), session and a ContextVar per request, read back
    after yielding at a gate."""

    @area.get("/markers")
    def markers() -> Any:
        marker = request.args["marker"]
        store.put(marker)
        session["marker"] = marker
        MARKER.set(marker)
        gate = gates.get(request.args["wave"], int(request.args["size"]), GATE_TIMEOUT)
        gate.enter()
        try:
            yield_a_few(workers)
            echo = {
                "query": request.args["marker"],
                "g": store.get(),
                "session": session.get("marker"),
                "contextvar": MARKER.get(None),
            }
            yield_a_few(workers)
        finally:
            gate.leave()
        return {"echo": echo, **gate.report()}


def _overlap_views(area: Blueprint, workers: Workers, gates: GateRegistry) -> None:
    @area.get("/overlap")
    def overlap() -> Any:
        """Hold at a gate until ``size`` requests are inside (bounded); report who ran this one."""
        gate = gates.get(request.args["wave"], int(request.args["size"]), GATE_TIMEOUT)
        gate.enter()
        try:
            # Under gevent/eventlet, patched threading.get_ident names the current greenlet.
            ident = threading.get_ident()
            yield_a_few(workers, 2)
        finally:
            gate.leave()
        return {"ident": ident, **gate.report()}


def _nested_views(app: Flask, area: Blueprint, workers: Workers, gates: GateRegistry) -> None:
    other = Flask(OTHER_APP_NAME)

    @area.before_request
    def mark_g_before() -> None:
        if request.endpoint == "isolation.nested":
            g.before_marker = request.args["marker"]

    @area.after_request
    def echo_g_after(response: Response) -> Response:
        """``g`` as after_request sees it, after all the view's yields, in a header."""
        if request.endpoint == "isolation.nested":
            response.headers["X-Isolation-G"] = f"{g.get('before_marker')}|{g.get('view_marker')}"
        return response

    def snapshot() -> Observation:
        return observe(
            lambda: {
                "current_app": current_app.name,
                "request": request.args.get("marker"),
                "g_before": g.get("before_marker"),
                "g_view": g.get("view_marker"),
                "g_inner": g.get("inner_marker"),
                "session": session.get("marker"),
            }
        )

    def descend(depth: int) -> list[Observation]:
        """Read before and after going one level deeper, yielding around every read."""
        yield_a_few(workers, 1)
        readings = [snapshot()]
        if depth > 0:
            readings += descend(depth - 1)
        yield_a_few(workers, 1)
        readings.append(snapshot())
        return readings

    @area.get("/nested")
    def nested() -> Any:
        """Read current_app, request, g and session at every level of a recursion that yields,
        in three phases each entered together by all ``size`` requests: before, inside and after
        a nested context (odd ``i``: another app's app context; even: a test_request_context)."""
        marker, wave, size = request.args["marker"], request.args["wave"], int(request.args["size"])
        g.view_marker = marker
        session["marker"] = marker
        first = gates.get(f"{wave}:before", size, GATE_TIMEOUT)

        def phase(name: str) -> list[Observation]:
            # A server that serialises requests breaks the first gate; the later ones then open
            # at once instead of making the first request wait out each of them too.
            gate = first if name == "before" else gates.get(f"{wave}:{name}", size, later_timeout(first))
            gate.enter()
            try:
                return descend(NESTED_DEPTH)
            finally:
                gate.leave()

        readings = {"before": phase("before")}
        if int(request.args["i"]) % 2:
            with other.app_context():
                g.inner_marker = marker
                readings["inside"] = phase("inside")
        else:
            with app.test_request_context(f"/?marker={marker}-inner"):
                readings["inside"] = phase("inside")
        readings["after"] = phase("after")
        return {"readings": readings, **first.report()}


def _nested_app_context_views(app: Flask, area: Blueprint, teardowns: TokenLog) -> None:
    """``with app.app_context()`` inside a view, as code does to get "a context" for a database
    call: which g it sees and leaves, whether the request stays readable, what teardown runs."""

    @app.teardown_appcontext
    def count_nested_teardown(exc: BaseException | None) -> None:
        token = g.get("nested_app_context_token")
        if token is not None:
            teardowns.add(token, "teardown_appcontext")

    @area.get("/nested-app-context")
    def nested_app_context() -> Any:
        token, marker = request.args["token"], request.args["marker"]
        g.view_marker = marker
        with app.app_context():
            g.nested_app_context_token = token
            inner = {
                "view_g": observe(lambda: g.get("view_marker")),
                "request": observe(lambda: request.args["marker"]),
                "current_app": observe(lambda: current_app.name),
            }
            g.inner_marker = "inner"
        after = {"view_g": g.get("view_marker"), "inner_g": g.get("inner_marker")}
        return {"inner": inner, "after": after, "teardowns_at_inner_exit": len(teardowns.take(token))}


def _contextvar_views(area: Blueprint) -> None:
    @area.get("/contextvar")
    def contextvar() -> Any:
        """Report the leak variable as this request finds it, then set it and never reset it.

        The body is streamed (an iterator: no Content-Length, so chunked on HTTP/1.1), so a
        keep-alive client learns the response ended only from its last message. With a
        Content-Length body, uvicorn may read the client's next request before the previous
        request's ASGI cycle has ended and start it from inside that cycle (see the
        expectations): a race, which this check leaves out to stay deterministic."""
        seen = LEAK.get(None)
        LEAK.set(request.args["token"])
        body = json.dumps({"seen": seen, "ident": threading.get_ident()})
        return Response(iter([body]), mimetype="application/json")

    @area.get("/contextvar-async")
    async def contextvar_async() -> Any:
        """The same from an ``async def`` view: it runs in the context asgiref's async_to_sync
        gives the coroutine, whose changes asgiref copies back into the calling thread's."""
        seen = LEAK.get(None)
        LEAK.set(request.args["token"])
        body = json.dumps({"seen": seen, "ident": threading.get_ident()})
        return Response(iter([body]), mimetype="application/json")


def later_timeout(first: Gate) -> float:
    return 0.0 if first.broken else GATE_TIMEOUT
