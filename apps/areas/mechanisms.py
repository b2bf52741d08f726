"""Flask's per-request mechanisms under measured overlap: every request of a wave stores its marker
through one mechanism, waits at a gate until the others are inside too (bounded), yields, and reads
the marker back through the same mechanism.

The marker lives where the app's marker store keeps it (``g``; ``apps.leaky`` plants a module
global), so the same views show a leak through a hook, a teardown callback, a URL default or an
error handler wherever requests really overlap; the session and flash views keep it in the
request's ``session`` (``apps.leaky`` plants a session interface that hands every request one
session object). Each answer carries its gate's report: the peak of
requests in flight, which the check records as the cell's overlap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    after_this_request,
    flash,
    g,
    get_flashed_messages,
    request,
    session,
    url_for,
)

from apps.gate import GateRegistry, server_capacity
from apps.shared import GATE_TIMEOUT, TokenLog
from apps.stores import MarkerStore, marker_store
from matrix.models.base import Workers

PREFIX = "/mechanisms"


class MarkedError(Exception):
    """Raised by the error-handler view; its handler answers from the request's own state."""


def register(app: Flask, workers: Workers) -> None:
    gates = GateRegistry(workers, capacity=server_capacity(app))
    store = marker_store(app)
    teardowns = TokenLog(workers)
    area = Blueprint("mechanisms", __name__, url_prefix=PREFIX)

    def held() -> dict[str, Any]:
        """Wait with the wave's other requests at its gate, yielding inside; the gate's report."""
        return gates.hold(request.args["wave"], int(request.args["size"]), GATE_TIMEOUT).report()

    _hook_views(area, store, held)
    _teardown_views(app, area, store, teardowns, held)
    _url_views(area, store, held)
    _error_views(area, store, held)
    _session_views(area, held)
    _flash_views(area, held)
    app.register_blueprint(area)


Held = Callable[[], dict[str, Any]]


def _hook_views(area: Blueprint, store: MarkerStore, held: Held) -> None:
    """before_request stores, after_this_request and after_request read back after the gate."""

    @area.before_request
    def remember() -> None:
        if request.endpoint == "mechanisms.hooks":
            store.put(request.args["marker"])

    @area.after_request
    def read_back(response: Response) -> Response:
        if request.endpoint == "mechanisms.hooks":
            _add_seen(response, "after_request", store.get())
        return response

    @area.get("/hooks")
    def hooks() -> Any:
        seen: dict[str, Any] = {}

        @after_this_request
        def this_request(response: Response) -> Response:
            _add_seen(response, "after_this_request", store.get())
            return response

        report = held()
        seen["view"] = store.get()
        return {"seen": seen, **report}


def _teardown_views(app: Flask, area: Blueprint, store: MarkerStore, teardowns: TokenLog, held: Held) -> None:
    """teardown_request and teardown_appcontext file what they see of the marker; the check takes
    the filings after the wave. They file under a key the view keeps in ``g`` itself (the request
    is gone by teardown_appcontext), so a leaky store shows as a wrong value, not a lost one."""

    def file(callback: str) -> None:
        key = g.get("mechanisms_teardown_key")
        if key is not None:
            teardowns.add(key, {callback: store.get()})

    @area.teardown_request
    def teardown_request(exc: BaseException | None) -> None:
        file("teardown_request")

    @app.teardown_appcontext
    def teardown_appcontext(exc: BaseException | None) -> None:
        file("teardown_appcontext")

    @area.get("/teardown")
    def teardown() -> Any:
        g.mechanisms_teardown_key = request.args["marker"]
        store.put(request.args["marker"])
        return held()

    @area.get("/teardown/report")
    def teardown_report() -> Any:
        markers = request.args["markers"].split(",")
        filed = {}
        for marker in markers:
            entries = teardowns.take(marker, wait=GATE_TIMEOUT)
            filed[marker] = {k: v for entry in entries for k, v in entry.items()}
        return {"filed": filed}


def _url_views(area: Blueprint, store: MarkerStore, held: Held) -> None:
    """url_value_preprocessor takes the marker out of the URL, url_defaults puts it back into
    url_for after the gate."""

    @area.url_value_preprocessor
    def pull(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if endpoint == "mechanisms.url" and values is not None:
            store.put(values.pop("marker"))

    @area.url_defaults
    def push(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "mechanisms.url" and "marker" not in values:
            values["marker"] = store.get()

    @area.get("/url/<marker>")
    def url() -> Any:
        report = held()
        return {"seen": {"url_for": url_for("mechanisms.url")}, **report}


def _error_views(area: Blueprint, store: MarkerStore, held: Held) -> None:
    """A view stores its marker and raises after the gate; the error handler answers from g."""

    @area.errorhandler(MarkedError)
    def handled(error: MarkedError) -> Any:
        report = json.loads(str(error))
        return {"seen": {"errorhandler": store.get(), "request": request.args["marker"]}, **report}, 200

    @area.get("/errorhandler")
    def error() -> Any:
        store.put(request.args["marker"])
        raise MarkedError(json.dumps(held()))


def _session_views(area: Blueprint, held: Held) -> None:
    """before_request writes the marker into the session; the view (after the gate) and
    after_request read it back, and the cookie the response sets carries it to the next request."""

    @area.before_request
    def into_session() -> None:
        if request.endpoint == "mechanisms.session_view":
            session["mechanism_marker"] = request.args["marker"]

    @area.after_request
    def session_read_back(response: Response) -> Response:
        if request.endpoint == "mechanisms.session_view":
            _add_seen(response, "after_request", session.get("mechanism_marker"))
        return response

    @area.get("/session")
    def session_view() -> Any:
        report = held()
        return {"seen": {"view": session.get("mechanism_marker")}, **report}

    @area.get("/session/next")
    def session_next() -> Any:
        return {"seen": session.get("mechanism_marker")}


def _flash_views(area: Blueprint, held: Held) -> None:
    """before_request flashes the marker; the view (after the gate) and after_request get the
    flashed messages, and the next request with the response's cookie finds none left."""

    @area.before_request
    def flash_marker() -> None:
        if request.endpoint == "mechanisms.flashed":
            flash(request.args["marker"])

    @area.after_request
    def flash_read_back(response: Response) -> Response:
        if request.endpoint == "mechanisms.flashed":
            _add_seen(response, "after_request", get_flashed_messages())
        return response

    @area.get("/flash")
    def flashed() -> Any:
        report = held()
        return {"seen": {"view": get_flashed_messages()}, **report}

    @area.get("/flash/next")
    def flash_next() -> Any:
        return {"seen": get_flashed_messages()}


def _add_seen(response: Response, where: str, value: Any) -> None:
    """Add what a hook read after the view to the view's JSON answer, under ``seen``."""
    body = json.loads(response.get_data())
    body["seen"][where] = value
    response.set_data(json.dumps(body))
