"""The closed registry of concurrency models: name -> module implementing ``Model``.

Modules are imported only when asked for, because importing one is what proves its runtime is
installed (and ``gevent`` or ``eventlet`` must never be imported in the process driving the checks).
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from matrix.models.base import Model


class ModelInfo(NamedTuple):
    """What the driver may know of a model without importing its runtime."""

    module: str
    server: str
    runtime: str
    """The distribution whose version the column depends on, beside Flask and Werkzeug."""


MODELS: dict[str, ModelInfo] = {
    "threads": ModelInfo("matrix.models.threads", "werkzeug threaded", "werkzeug"),
    "gevent": ModelInfo("matrix.models.gevent", "gevent.pywsgi", "gevent"),
    "eventlet": ModelInfo("matrix.models.eventlet", "eventlet.wsgi", "eventlet"),
    "asgi": ModelInfo("matrix.models.asgi", "hypercorn + WsgiToAsgi", "hypercorn"),
}
"""Every model the matrix knows, in table column order."""


class UnknownModel(ValueError):
    """A model name outside the registry."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")


class ModelUnavailable(RuntimeError):
    """The model's runtime library is not installed in this environment."""


def check_model_name(name: str) -> str:
    """Return ``name`` if the registry knows it, else raise ``UnknownModel``."""
    if name not in MODELS:
        raise UnknownModel(name)
    return name


def load_model(name: str) -> Model:
    """Import the model's module and return its ``MODEL``; may import the runtime library."""
    module_name = MODELS[check_model_name(name)].module
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelUnavailable(
            f"model {name!r} needs {exc.name!r}, which is not installed here: "
            f"pip install 'flask-context-matrix[{name}]'"
        ) from exc
    model: Model = module.MODEL
    return model
