"""The closed registry of concurrency models: name -> module implementing ``Model``.

Modules are imported only when asked for, because importing one is what proves its runtime is
installed (and ``gevent`` or ``eventlet`` must never be imported in the process driving the checks).
"""

from __future__ import annotations

import importlib
import signal
from typing import NamedTuple

from matrix.models.base import Model


class ModelInfo(NamedTuple):
    """What the driver may know of a model without importing its runtime."""

    module: str
    runtime: str
    """The distribution whose version the column depends on, beside Flask and Werkzeug."""


MODELS: dict[str, ModelInfo] = {
    "threads": ModelInfo("matrix.models.threads", "werkzeug"),
    "gevent": ModelInfo("matrix.models.gevent", "gevent"),
    "eventlet": ModelInfo("matrix.models.eventlet", "eventlet"),
    "asgi": ModelInfo("matrix.models.asgi", "hypercorn"),
}
"""Every model the matrix knows, in table column order."""


class ServerInfo(NamedTuple):
    """A server that serves the app under a model: one registry row.

    In-process servers run inside ``matrix.serve`` after the model patched the runtime: the
    model's own ``serve`` (``target`` empty) or a ``module:function(app, fd)``. Program servers
    are the real programs (``python -m gunicorn ...``) with their real options, exec'd by
    ``matrix.serve`` once it has arranged to die with its parent; ``{fd}`` is the listening
    socket the launcher bound and ``{app}`` the ``matrix.wsgi`` attribute they load.
    """

    model: str
    label: str
    """As shown in the table."""
    runtime: str
    """The distribution that is this server (its version goes into the record)."""
    target: str = ""
    program: tuple[str, ...] = ()
    stop_signal: int = signal.SIGTERM
    """How the launcher asks it to stop once the checks are done (then SIGKILL, bounded)."""


SERVERS: dict[str, ServerInfo] = {
    # threads
    "werkzeug": ServerInfo("threads", "werkzeug threaded", "werkzeug"),
    "waitress": ServerInfo(
        "threads", "waitress (4 threads)", "waitress", target="matrix.models.servers:serve_waitress"
    ),
    "gunicorn-gthread": ServerInfo(
        "threads",
        "gunicorn gthread (4 threads)",
        "gunicorn",
        program=(
            "gunicorn",
            "--bind",
            "fd://{fd}",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--workers",
            "1",
            "--graceful-timeout",
            "1",
            "matrix.wsgi:{app}",
        ),
        # Quick shutdown: SIGTERM waits out the graceful timeout with nothing left to finish.
        stop_signal=signal.SIGINT,
    ),
    # gevent
    "pywsgi": ServerInfo("gevent", "gevent.pywsgi", "gevent"),
    "gunicorn-gevent": ServerInfo(
        "gevent",
        "gunicorn -k gevent",
        "gunicorn",
        program=(
            "gunicorn",
            "--bind",
            "fd://{fd}",
            "--worker-class",
            "gevent",
            "--workers",
            "1",
            "--graceful-timeout",
            "1",
            "matrix.wsgi:{app}",
        ),
        # Quick shutdown: SIGTERM waits out the graceful timeout with nothing left to finish.
        stop_signal=signal.SIGINT,
    ),
    # eventlet (gunicorn no longer ships an eventlet worker: see the table's notes)
    "eventlet-wsgi": ServerInfo("eventlet", "eventlet.wsgi", "eventlet"),
    # asgi
    "hypercorn-asgiref": ServerInfo("asgi", "hypercorn + asgiref WsgiToAsgi", "hypercorn"),
    "uvicorn-asgiref": ServerInfo(
        "asgi",
        "uvicorn + asgiref WsgiToAsgi",
        "uvicorn",
        program=(
            "uvicorn",
            "--fd",
            "{fd}",
            "--no-access-log",
            "--lifespan",
            "off",
            "matrix.wsgi:{app}_asgiref",
        ),
    ),
    "hypercorn-wsgi": ServerInfo(
        "asgi",
        "hypercorn serving WSGI natively",
        "hypercorn",
        program=("hypercorn", "--workers", "0", "--bind", "fd://{fd}", "matrix.wsgi:{app}"),
    ),
    "hypercorn-a2wsgi": ServerInfo(
        "asgi",
        "hypercorn + a2wsgi WSGIMiddleware",
        "a2wsgi",
        program=("hypercorn", "--workers", "0", "--bind", "fd://{fd}", "matrix.wsgi:{app}_a2wsgi"),
    ),
}
"""Every server, grouped by model in table order; a model's first server is its default."""


MODEL_NOTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "eventlet": (
        "eventlet.wsgi is the only server left for eventlet: gunicorn deprecated its eventlet worker "
        "in 26.0 and removed it (PR #3623; the gunicorn 27 installed here has none), and eventlet "
        "itself is deprecated upstream (it warns on import and recommends migrating away).",
        ("https://github.com/benoitc/gunicorn/pull/3623", "https://github.com/eventlet/eventlet/pull/1065"),
    ),
    "asgi": (
        "Three ways to serve a WSGI Flask app from an ASGI server: asgiref's WsgiToAsgi (under "
        "hypercorn and uvicorn), hypercorn's own WSGI support, and a2wsgi's WSGIMiddleware.",
        (),
    ),
}
"""Notes on a model's set of servers, shown with the table."""


def servers_of(model: str) -> list[str]:
    return [name for name, info in SERVERS.items() if info.model == model]


def default_server(model: str) -> str:
    return servers_of(check_model_name(model))[0]


class UnknownServer(ValueError):
    """A server name outside the registry, or one that does not serve this model."""


def check_server_names(model: str, names: str) -> list[str]:
    """``all`` or a comma-separated list of the model's servers; UnknownServer otherwise."""
    valid = servers_of(check_model_name(model))
    if names.strip() == "all":
        return valid
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    for name in chosen:
        if name not in valid:
            raise UnknownServer(
                f"unknown server {name!r} for model {model!r}: choose all or one of {', '.join(valid)}"
            )
    return chosen


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
