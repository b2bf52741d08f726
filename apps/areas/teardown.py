"""Teardown and cleanup: each teardown callback once per request, raising teardown callbacks, the
``exc`` they get, what they can still read, an outer app context during dispatch, and the
callbacks that run after the response.

Every request of this area marks itself in ``g.area_teardown_probe = (mode, token)``; the
callbacks act only for their own mode and log into a ``TokenLog`` under the token, which a follow-up
request reads. The callbacks are registered on the whole app (teardown_appcontext has no blueprint
form) but stay inert for every other request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Flask, Response, after_this_request, current_app, g, request

from apps.gate import GateRegistry, server_capacity
from apps.observe import observe
from apps.shared import GATE_TIMEOUT, JOIN_TIMEOUT, TokenLog
from matrix.models.base import Workers

CLOSE_WAIT = 0.5
"""Bound on waiting for a post-response callback. The request is sent with ``Connection: close``
and read until the server closes the socket, after its own cleanup (where it calls the response's
``close()``), so a callback that runs at all has run by then; the bound only caps the wait for one
that never does."""


class TeardownAreaError(Exception):
    """Raised on purpose by this area's views and callbacks."""


class ClosingBody:
    """A WSGI response iterable with a ``close()`` that PEP 3333 says the server must call."""

    def __init__(self, body: bytes, on_close: Callable[[], None]) -> None:
        self._body = body
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    def close(self) -> None:
        self._on_close()


def _probe(mode: str) -> str | None:
    """The token of the current request if it is probing ``mode``, else None."""
    probe = g.get("area_teardown_probe")
    if probe is not None and probe[0] == mode:
        token: str = probe[1]
        return token
    return None


def _exc_name(exc: BaseException | None) -> str | None:
    return None if exc is None else type(exc).__name__


def register(app: Flask, workers: Workers) -> None:
    bp = Blueprint("area_teardown", __name__, url_prefix="/teardown")
    log = TokenLog(workers)
    _once_views(app, bp, log, GateRegistry(workers, capacity=server_capacity(app)))
    _raising_callbacks(app, bp, log)
    _observing_callbacks(app, bp, log)
    _outer_context_views(app, bp, workers, log)
    _closing_views(bp, log)

    @bp.get("/calls")
    def calls() -> Any:
        return {"calls": log.take(request.args["token"])}

    app.register_blueprint(bp)


def _once_views(app: Flask, bp: Blueprint, log: TokenLog, gates: GateRegistry) -> None:
    """A view, held at its wave's gate with the others, that raises when asked; its
    teardown_request and teardown_appcontext calls, logged."""

    @bp.get("/once")
    def once() -> Any:
        g.area_teardown_probe = ("once", request.args["token"])
        gates.hold(request.args["wave"], int(request.args["size"]), GATE_TIMEOUT)
        if request.args.get("raise") == "1":
            raise TeardownAreaError("the view raised on purpose")
        return {"ok": True}

    @bp.teardown_request
    def once_teardown_request(exc: BaseException | None) -> None:
        token = _probe("once")
        if token is not None:
            log.add(token, "teardown_request")

    @app.teardown_appcontext
    def once_teardown_appcontext(exc: BaseException | None) -> None:
        token = _probe("once")
        if token is not None:
            log.add(token, "teardown_appcontext")

    @bp.get("/once/calls")
    def once_calls() -> Any:
        """Each token's calls, and the wave's gate report (the views that raised cannot send it)."""
        gate = gates.get(request.args["wave"], int(request.args["size"]), GATE_TIMEOUT)
        calls = {token: log.take(token) for token in request.args["tokens"].split(",")}
        return {"calls": calls, **gate.report()}


def _raising_callbacks(app: Flask, bp: Blueprint, log: TokenLog) -> None:
    """Three teardown_request and three teardown_appcontext callbacks; the second registered of
    each raises. Flask calls them in reverse registration order."""

    def teardown(kind: str, name: str) -> Callable[[BaseException | None], None]:
        def callback(exc: BaseException | None) -> None:
            token = _probe("raising")
            if token is None:
                return
            log.add(token, [kind, name])
            if name.endswith("raises"):
                raise TeardownAreaError(f"{kind} callback {name} raised on purpose")

        callback.__name__ = f"area_{kind}_{name}"
        return callback

    for name in ("registered_first", "registered_second_raises", "registered_third"):
        bp.teardown_request(teardown("teardown_request", name))
        app.teardown_appcontext(teardown("teardown_appcontext", name))

    @bp.get("/raising-callback")
    def raising_callback() -> Any:
        g.area_teardown_probe = ("raising", request.args["token"])
        return {"ok": True}


def _observing_callbacks(app: Flask, bp: Blueprint, log: TokenLog) -> None:
    """One callback of each kind reporting the ``exc`` it got and what it can still read."""

    def observer(kind: str) -> Callable[[BaseException | None], None]:
        def callback(exc: BaseException | None) -> None:
            token = _probe("observe")
            if token is None:
                return
            log.add(
                token,
                {
                    "callback": kind,
                    "exc": _exc_name(exc),
                    "g": observe(lambda: g.area_teardown_probe[1]),
                    "request": observe(lambda: request.args["token"]),
                },
            )

        callback.__name__ = f"area_{kind}_observer"
        return callback

    bp.teardown_request(observer("teardown_request"))
    app.teardown_appcontext(observer("teardown_appcontext"))

    @bp.get("/observed")
    def observed() -> Any:
        """``fail=view``: the view raises (the app's error handler turns it into a 500);
        ``fail=after_request``: an after_this_request callback raises, outside the handled part."""
        g.area_teardown_probe = ("observe", request.args["token"])
        fail = request.args.get("fail")
        if fail == "view":
            raise TeardownAreaError("the view raised on purpose")
        if fail == "after_request":

            @after_this_request
            def fail_after(response: Response) -> Response:
                raise TeardownAreaError("an after_this_request callback raised on purpose")

        return {"ok": True}


def _outer_context_views(app: Flask, bp: Blueprint, workers: Workers, log: TokenLog) -> None:
    """A worker pushes ``app.app_context()``, marks its ``g`` and dispatches a request through
    ``app.test_client()``: is the outer context reused, and when does teardown_appcontext run?"""

    @app.teardown_appcontext
    def area_count_outer_teardown(exc: BaseException | None) -> None:
        token = _probe("outer")
        if token is not None:
            log.add(token, "teardown_appcontext")

    @bp.get("/outer-context")
    def outer_context() -> Any:
        token = request.args["token"]
        flask_app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

        def work() -> Any:
            with flask_app.app_context():
                g.area_teardown_probe = ("outer", token)
                g.area_outer_marker = "outer"
                response = flask_app.test_client().get(
                    "/teardown/outer-context/inner", query_string={"token": token}
                )
                inner = json.loads(response.get_data())
                teardowns_after_inner = len(log.peek(token))
                outer_sees_inner = g.get("area_inner_marker")
            teardowns_after_outer = len(log.take(token))
            return {
                "inner_sees_outer_g": inner["outer_marker"],
                "outer_sees_inner_g": outer_sees_inner,
                "teardowns_after_inner": teardowns_after_inner,
                "teardowns_after_outer": teardowns_after_outer,
            }

        return {"observed": workers.spawn(work).join(JOIN_TIMEOUT)}

    @bp.get("/outer-context/inner")
    def outer_context_inner() -> Any:
        outer_marker = g.get("area_outer_marker")
        g.area_teardown_probe = ("outer", request.args["token"])
        g.area_inner_marker = "inner"
        return {"outer_marker": outer_marker}


def _closing_views(bp: Blueprint, log: TokenLog) -> None:
    """after_this_request, Response.call_on_close and a raw iterable's close(), each logging."""

    @bp.route("/closing", methods=["GET", "POST"])
    def closing() -> Any:
        token, kind = request.args["token"], request.args["kind"]
        if kind == "after_this_request":

            @after_this_request
            def mark(response: Response) -> Response:
                log.add(token, {"request": observe(lambda: request.args["token"])})
                return response

            return {"ok": True}
        if kind == "call_on_close":
            response = Response(b'{"ok": true}', mimetype="application/json")
            response.call_on_close(
                lambda: log.add(token, {"request": observe(lambda: request.args["token"])})
            )
            return response
        # The raw iterable goes to the server as is (direct_passthrough: Werkzeug does not wrap
        # it in its ClosingIterator), so its close() is called by the server or by nobody.
        body = b'{"ok": true}'
        return Response(
            ClosingBody(body, lambda: log.add(token, {"request": observe(lambda: request.args["token"])})),
            mimetype="application/json",
            headers={"Content-Length": str(len(body))},
            direct_passthrough=True,
        )

    @bp.get("/closing/calls")
    def closing_calls() -> Any:
        return {"calls": log.take(request.args["token"], wait=CLOSE_WAIT)}
