"""The server registry: every server that serves the app under a model, one row each.

A new server is one row here. In-process servers run inside the child after the model patched the
runtime: the model's own ``serve`` (no ``target``) or a ``module:function(app, fd)``. Program
servers are the real programs (``python -m gunicorn ...``) with their real options, exec'd by the
child once it has arranged to die with its parent; ``{fd}`` is the listening socket the launcher
bound, and they load their app object from ``matrix.launch.program_app``.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from typing import NamedTuple

from matrix.models import MODELS, check_model_name

PROGRAM_APP = "matrix.launch.program_app"


class ServerInfo(NamedTuple):
    model: str
    label: str
    """As shown in the table."""
    distributions: tuple[str, ...]
    """The distributions that are this server; their versions are named with its columns."""
    target: str = ""
    program: tuple[str, ...] = ()
    stop_signal: int = signal.SIGTERM
    """How the launcher asks it to stop once the checks are done (then SIGKILL, bounded)."""


def _gunicorn(worker_class: str, *options: str) -> tuple[str, ...]:
    return (
        "gunicorn",
        "--bind",
        "fd://{fd}",
        "--worker-class",
        worker_class,
        *options,
        "--workers",
        "1",
        "--graceful-timeout",
        "1",
        "--config",
        "python:matrix.launch.gunicorn_conf",
        f"{PROGRAM_APP}:app",
    )


def _uwsgi(*options: str) -> tuple[str, ...]:
    """uWSGI from the pyuwsgi wheel (see ``matrix.launch.uwsgi``) on the launcher's socket: one
    worker process, no master (the process is the worker), request logging off."""
    return (
        "matrix.launch.uwsgi",
        "--http-socket",
        "fd://{fd}",
        *options,
        "--processes",
        "1",
        "--module",
        f"{PROGRAM_APP}:app",
        "--need-app",
        "--die-on-term",
        "--disable-logging",
    )


def _granian_wsgi(*options: str) -> tuple[str, ...]:
    """Granian's CLI, WSGI interface, on the launcher's socket (see ``matrix.launch.granian``): one
    worker process."""
    return (
        "matrix.launch.granian",
        "--fd",
        "{fd}",
        "--interface",
        "wsgi",
        "--workers",
        "1",
        *options,
        "--no-ws",
        "--log-level",
        "warning",
        f"{PROGRAM_APP}:app",
    )


def _hypercorn(attribute: str) -> tuple[str, ...]:
    return ("hypercorn", "--workers", "0", "--bind", "fd://{fd}", f"{PROGRAM_APP}:{attribute}")


SERVERS: dict[str, ServerInfo] = {
    # threads
    "werkzeug": ServerInfo("threads", "werkzeug threaded", ("werkzeug",)),
    "waitress": ServerInfo(
        "threads", "waitress (4 threads)", ("waitress",), target="matrix.models.threads:serve_waitress"
    ),
    "gunicorn-gthread": ServerInfo(
        "threads",
        "gunicorn gthread (4 threads)",
        ("gunicorn",),
        program=_gunicorn("gthread", "--threads", "4"),
        # Quick shutdown: SIGTERM waits out the graceful timeout with nothing left to finish.
        stop_signal=signal.SIGINT,
    ),
    "gunicorn-sync": ServerInfo(
        "threads",
        "gunicorn sync (1 process, 1 request at a time)",
        ("gunicorn",),
        program=_gunicorn("sync"),
        stop_signal=signal.SIGINT,
    ),
    "uwsgi-threads": ServerInfo(
        "threads",
        "uWSGI --threads 4 --thunder-lock",
        ("pyuwsgi",),
        # --thunder-lock (uWSGI's own advice for threads, docs/articles/SerializingAccept): its
        # priority-inheritance accept lock hands the next connection to the longest-waiting
        # thread, so which thread serves a request follows from the order of requests, never
        # the scheduler; a plain mutex guards accept otherwise.
        program=_uwsgi("--threads", "4", "--thunder-lock"),
        stop_signal=signal.SIGINT,
    ),
    "granian-wsgi": ServerInfo(
        "threads",
        "Granian WSGI (4 blocking threads)",
        ("granian",),
        program=_granian_wsgi("--blocking-threads", "4"),
        stop_signal=signal.SIGINT,
    ),
    # gevent
    "pywsgi": ServerInfo("gevent", "gevent.pywsgi", ("gevent",)),
    "gunicorn-gevent": ServerInfo(
        "gevent", "gunicorn -k gevent", ("gunicorn",), program=_gunicorn("gevent"), stop_signal=signal.SIGINT
    ),
    "uwsgi-gevent": ServerInfo(
        "gevent",
        "uWSGI --gevent 100 (its own gevent loop)",
        ("pyuwsgi",),
        program=_uwsgi("--gevent", "100", "--gevent-early-monkey-patch"),
        stop_signal=signal.SIGINT,
    ),
    # eventlet (gunicorn no longer ships an eventlet worker: see the model's note)
    "eventlet-wsgi": ServerInfo("eventlet", "eventlet.wsgi", ("eventlet",)),
    # asgi
    "hypercorn-asgiref": ServerInfo("asgi", "hypercorn + asgiref WsgiToAsgi", ("hypercorn",)),
    "uvicorn-asgiref": ServerInfo(
        "asgi",
        "uvicorn + asgiref WsgiToAsgi",
        ("uvicorn",),
        program=(
            "uvicorn",
            "--fd",
            "{fd}",
            "--no-access-log",
            "--lifespan",
            "off",
            f"{PROGRAM_APP}:app_asgiref",
        ),
    ),
    "hypercorn-wsgi": ServerInfo(
        "asgi", "hypercorn serving WSGI natively", ("hypercorn",), program=_hypercorn("app")
    ),
    "hypercorn-a2wsgi": ServerInfo(
        "asgi", "hypercorn + a2wsgi WSGIMiddleware", ("hypercorn", "a2wsgi"), program=_hypercorn("app_a2wsgi")
    ),
    "uvicorn-a2wsgi": ServerInfo(
        "asgi",
        "uvicorn + a2wsgi WSGIMiddleware",
        ("uvicorn", "a2wsgi"),
        program=(
            "uvicorn",
            "--fd",
            "{fd}",
            "--no-access-log",
            "--lifespan",
            "off",
            f"{PROGRAM_APP}:app_a2wsgi",
        ),
    ),
}
"""Every server, grouped by model in table order; a model's first server is its default."""


class UnknownServer(ValueError):
    """A server name outside the registry, or one that does not serve this model."""


def servers_of(model: str) -> list[str]:
    return [name for name, info in SERVERS.items() if info.model == model]


def default_server(model: str) -> str:
    return servers_of(check_model_name(model))[0]


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


def check_installed(model: str, names: list[str], versions: Mapping[str, str | None]) -> None:
    """UnknownServer, naming the extra that installs them, when a chosen server's distributions
    (or its model's) are not installed: one line before any server starts, not a server that
    dies with ``No module named gunicorn``."""
    missing = {
        name: [
            d
            for d in dict.fromkeys((*MODELS[model].distributions, *SERVERS[name].distributions))
            if not versions.get(d)
        ]
        for name in names
    }
    wanting = [f"{name} needs {', '.join(dists)}" for name, dists in missing.items() if dists]
    if wanting:
        raise UnknownServer(
            f"{model}: {'; '.join(wanting)}, not installed here: pip install 'flask-context-matrix[{model}]' "
            "(or choose only servers that are installed)"
        )
