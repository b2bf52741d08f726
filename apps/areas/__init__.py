"""One module per catalog area; each defines ``register(app, workers)`` adding its views.

``apps.create_app`` registers every module found here, so an area is added by adding a module.
Constraint as for all of ``apps/``: no model library imports, no "which model am I" branches.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from matrix.models.base import Workers


def register_areas(app: Flask, workers: Workers) -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}").register(app, workers)
