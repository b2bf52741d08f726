"""The app set with one leak: every request's request object and g are kept in a module list (the
"cache the request for later" mistake), so the retention check must find them."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request

from apps import create_app as create_correct_app
from matrix.models.base import Workers

_KEPT: list[Any] = []


def create_app(workers: Workers) -> Flask:
    app = create_correct_app(workers)

    @app.before_request
    def keep_the_request() -> None:
        _KEPT.append((request._get_current_object(), g._get_current_object()))  # type: ignore[attr-defined]

    return app
