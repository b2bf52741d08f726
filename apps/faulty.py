"""The app set plus faults the project's own tests inject: a view that never answers."""

from __future__ import annotations

from typing import Any

from flask import Flask

from apps import create_app as create_correct_app
from matrix.models.base import Workers


def create_app(workers: Workers) -> Flask:
    app = create_correct_app(workers)
    never = workers.event()

    @app.get("/hang")
    def hang() -> Any:
        never.wait(None)  # a deadlock, cooperatively: other requests are still served
        return {"unreachable": True}

    return app


def create_broken_app(workers: Workers) -> Flask:
    """An app whose import-time setup fails, like a typo in a user's factory."""
    raise ImportError("cannot import name 'missing_blueprint' from 'apps.faulty'")
