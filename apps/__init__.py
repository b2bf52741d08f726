"""The app set served under every model: ``create_app(workers)`` builds it.

Each area (``apps/areas/<area>.py``) adds the views behind its checks; each view exercises one
piece of Flask's context machinery and reports what it observed. The views are written once; the
model only shows up through ``workers``. Here: the app itself, the JSON form of an unhandled
exception, and the two views the launcher uses at start (``/ready``, and the calibration it
announces, ``/capacity``).
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from apps.areas import register_areas
from apps.gate import CAPACITY_PROBE, CAPACITY_QUIET, CapacityProbe, server_capacity
from apps.observe import raised
from apps.shared import GATE_TIMEOUT
from apps.stores import MARKER_STORE, GStore, MarkerStore
from matrix.models.base import Workers


def create_app(workers: Workers, marker_store: MarkerStore | None = None) -> Flask:
    """Build the app; ``marker_store`` defaults to ``g`` (the leaky variant swaps it)."""
    app = Flask("apps")
    # A fresh key per server process: no session cookie outlives the run that signed it.
    app.secret_key = secrets.token_hex(32)
    app.extensions[MARKER_STORE] = marker_store or GStore()
    _readiness_views(app, workers)
    register_areas(app, workers)

    @app.errorhandler(Exception)
    def report_exception(exc: Exception) -> Any:
        """An unhandled exception becomes a JSON observation the checks can compare exactly."""
        if isinstance(exc, HTTPException):
            return exc
        return jsonify(raised(exc)), 500

    return app


def _readiness_views(app: Flask, workers: Workers) -> None:
    capacity = server_capacity(app)
    probes: dict[str, CapacityProbe] = {}
    probes_lock = threading.Lock()

    @app.get("/ready")
    def ready() -> Any:
        """Readiness, and the calibration the launcher runs once per server process."""
        return {"ok": True, "calibrate": {"path": "/capacity", "requests": CAPACITY_PROBE}}

    @app.get("/capacity")
    def measure_capacity() -> Any:
        """One of ``size`` concurrent requests meeting at a ``CapacityProbe``; each records and
        answers the one figure the probe fixed when it opened."""
        with probes_lock:
            probe = probes.setdefault(
                request.args["wave"],
                CapacityProbe(workers, int(request.args["size"]), GATE_TIMEOUT, CAPACITY_QUIET),
            )
        probe.enter()
        probe.leave()
        capacity.record(probe.limit())
        return capacity.to_json()
