"""The app set with one bug: the isolation view keeps its marker in a module global, not ``g``."""

from __future__ import annotations

from flask import Flask

from apps import create_app as create_correct_app
from apps.stores import ModuleGlobalStore
from matrix.models.base import Workers


def create_app(workers: Workers) -> Flask:
    return create_correct_app(workers, marker_store=ModuleGlobalStore())
