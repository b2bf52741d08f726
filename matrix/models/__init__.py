"""The closed registry of concurrency models: name -> the module implementing ``Model``.

Modules are imported only when asked for, because importing one is what proves its runtime is
installed (and ``gevent`` or ``eventlet`` must never be imported in the process driving the checks).
The servers that serve each model are a registry of their own (``matrix.launch.servers``).
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from matrix.models.base import Model


class ModelInfo(NamedTuple):
    """What the driver may know of a model without importing its runtime."""

    module: str
    distributions: tuple[str, ...] = ()
    """The runtime's distributions, named with every column of the model (beside Python, Flask,
    Werkzeug and the server's own)."""
    note: str = ""
    """A note on the model's set of servers, shown with the table."""
    cite: tuple[str, ...] = ()


MODELS: dict[str, ModelInfo] = {
    "threads": ModelInfo("matrix.models.threads"),
    "gevent": ModelInfo("matrix.models.gevent", ("gevent", "greenlet")),
    "eventlet": ModelInfo(
        "matrix.models.eventlet",
        ("eventlet", "greenlet"),
        note="eventlet.wsgi is the only server left for eventlet: gunicorn deprecated its eventlet "
        "worker in 26.0 and removed it (PR #3623; the gunicorn 27 installed here has none), and "
        "eventlet itself is deprecated upstream (it warns on import and recommends migrating away).",
        cite=(
            "https://github.com/benoitc/gunicorn/pull/3623",
            "https://github.com/eventlet/eventlet/pull/1065",
        ),
    ),
    "asgi": ModelInfo(
        "matrix.models.asgi",
        ("asgiref",),
        note="Three ways to serve a WSGI Flask app from an ASGI server: asgiref's WsgiToAsgi (under "
        "hypercorn and uvicorn), hypercorn's own WSGI support, and a2wsgi's WSGIMiddleware.",
    ),
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
