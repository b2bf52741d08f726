"""The app set served under every model: ``create_app(workers)`` builds it.

Each view exercises one piece of Flask's context machinery and reports what it observed. The
views are written once; the model only shows up through ``workers``.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from apps.areas import register_areas
from apps.observe import raised
from apps.stores import GStore, MarkerStore
from apps.views import register_views
from matrix.models.base import Workers


def create_app(workers: Workers, marker_store: MarkerStore | None = None) -> Flask:
    """Build the app; ``marker_store`` defaults to ``g`` (the leaky variant swaps it)."""
    app = Flask("apps")
    # A fresh key per server process: no session cookie outlives the run that signed it.
    app.secret_key = secrets.token_hex(32)
    app.extensions["matrix_workers"] = workers
    register_views(app, workers, marker_store or GStore())
    register_areas(app, workers)

    @app.errorhandler(Exception)
    def report_exception(exc: Exception) -> Any:
        """An unhandled exception becomes a JSON observation the checks can compare exactly."""
        if isinstance(exc, HTTPException):
            return exc
        return jsonify(raised(exc)), 500

    return app
