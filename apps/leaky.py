"""The app set with the classic bug, planted twice: per-request values kept in a module global, the
views' marker instead of ``g`` and the session object instead of one per request."""

from __future__ import annotations

from flask import Flask

from apps import create_app as create_correct_app
from apps.stores import ModuleGlobalSessionInterface, ModuleGlobalStore
from matrix.models.base import Workers


def create_app(workers: Workers) -> Flask:
    app = create_correct_app(workers, marker_store=ModuleGlobalStore())
    app.session_interface = ModuleGlobalSessionInterface()
    return app
