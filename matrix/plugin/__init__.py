"""The pytest side: options, markers and fixtures; the session object (``session.py``) does the rest.

Registered through the ``pytest11`` entry point, so it is loaded by every pytest run in an
environment where the package is installed; it stays inert until ``--flask-model`` is given.
The driving pytest process is never patched: each server runs in its own process
(``matrix.launch``), and checks talk to it over a socket.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from matrix.catalog import CatalogError
from matrix.client import LiveClient
from matrix.launch.parent import ServerStartError
from matrix.launch.servers import UnknownServer
from matrix.models import MODELS, UnknownModel, check_model_name
from matrix.plugin.clients import (
    AtOnce,
    Deadline,
    SocketProxy,
    live_test_client,
    plain_client,
    read_in_flight,
    sendable_config,
)
from matrix.plugin.session import (
    AT_ONCE,
    OWN_APP,
    PROXIES,
    SERVER_FAILED,
    UNSENT,
    Column,
    LiveTestsNeedAModel,
    MatrixSession,
    StartupFailure,
)
from matrix.plugin.verdict import Verdict

if TYPE_CHECKING:
    from werkzeug.test import Client

SESSION = pytest.StashKey[MatrixSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flask-context-matrix", "Flask's context machinery under a live model")
    group.addoption(
        "--flask-model",
        metavar="NAME",
        help=f"serve the app under this concurrency model: {', '.join(MODELS)}",
    )
    group.addoption(
        "--flask-app",
        metavar="SPEC",
        default=OWN_APP,
        help="the app to serve, as flask --app finds it: module:app, module:create_app or "
        'module:create_app(key="literal"); a factory with a `workers` parameter gets the model\'s '
        "worker primitives (default: %(default)s)",
    )
    group.addoption(
        "--flask-app-config",
        metavar="KEY=VALUE",
        action="append",
        help="set app.config[KEY] in the server process (VALUE as JSON if it reads as JSON, else a "
        "string); repeatable",
    )
    group.addoption(
        "--flask-app-config-file",
        metavar="PATH",
        type=Path,
        help="a TOML or JSON file of app config for the server process (--flask-app-config wins)",
    )
    group.addoption(
        "--flask-app-setup",
        metavar="MODULE:FUNCTION",
        help="run in the server process, inside an app context, before it serves (e.g. "
        "flaskr.db:init_db); it gets the app if it takes an argument",
    )
    group.addoption(
        "--flask-live-test-client",
        action="store_true",
        help="run an existing test-client suite live: app.test_client() sends its requests over "
        "the socket to the app served under the model (same factory, the test app's config; a "
        "server per distinct config); every test becomes a cell of every server",
    )
    group.addoption(
        "--flask-server",
        metavar="NAMES",
        help="the model's servers to serve with: 'all' or a comma-separated list (default: the "
        "model's first); `flask-matrix models` lists them",
    )
    group.addoption(
        "--flask-record",
        metavar="PATH",
        type=Path,
        help="write the (one) server's outcomes to PATH (JSON, atomically)",
    )
    group.addoption(
        "--flask-records",
        metavar="DIR",
        type=Path,
        help="write one record per server to DIR/<environment>--<server>.json",
    )
    group.addoption(
        "--flask-environment", metavar="NAME", help="environment name in the record (default: the model name)"
    )
    group.addoption(
        "--flask-logs",
        metavar="DIR",
        type=Path,
        default=Path(".matrix/logs"),
        help="folder for server logs (default: %(default)s)",
    )
    group.addoption(
        "--flask-check-timeout",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="bound on one check; past it the cell is 'timeout' (default: %(default)s)",
    )
    group.addoption(
        "--flask-strict-catalog",
        action="store_true",
        help="refuse live tests whose id is not in the matrix's check catalog (the matrix's own "
        "checks run with it; a project's own suite runs without, its rows named after its tests)",
    )
    group.addoption(
        "--flask-expectations",
        metavar="PATH",
        type=Path,
        help="documented deviations and notes (a TOML file, or a folder of them) to apply instead "
        "of the catalog's own (matrix/areas/)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "flask_expect_fail(models=[...], servers=[...], reason=..., raises=..., cite=[...]): a "
        "strict xfail under those models/servers (a documented failure in the table)",
    )
    config.addinivalue_line(
        "markers",
        "applies(reason, models=[...], **ranges): the check applies only under the given models "
        "and where each version range (flask=, werkzeug=, python=, ...) holds; elsewhere its "
        "cell is n/a with the reason",
    )
    config.addinivalue_line(
        "markers",
        "restarts_server(reason): the check may leave the server in a state of its own making "
        "(e.g. contexts left on a worker); the next check gets a freshly started server",
    )
    model = config.getoption("flask_model")
    if model is None:
        config.pluginmanager.register(LiveTestsNeedAModel(), "flask-context-matrix-no-model")
        return
    try:
        check_model_name(model)
        session = MatrixSession(config)
    except (UnknownModel, UnknownServer, CatalogError) as exc:
        raise StartupFailure(str(exc)) from None
    config.stash[SESSION] = session
    config.pluginmanager.register(session, "flask-context-matrix-session")
    if session.live_test_client:
        config.pluginmanager.register(LiveTestClient(), "flask-context-matrix-live-test-client")
    # SIGTERM ends the run like Ctrl-C: servers stopped, records kept (marked incomplete).
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: object) -> None:
    """The first SIGTERM interrupts; later ones are ignored, so that they cannot cut short the
    interrupted run's own cleanup (a driver started by a fan-out that was SIGKILLed gets its
    die-with-parent SIGTERM once per thread of the fan-out: Linux sends it on each reparenting)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signum}")


def _running(column: Column, config: dict[str, Any] | None = None) -> str:
    """The column's server's base URL, starting it if needed; a server that will not start ends
    the session with its one line."""
    try:
        return column.running(config).base_url
    except ServerStartError as exc:
        raise StartupFailure(str(exc), SERVER_FAILED) from None


@pytest.fixture(scope="session")
def flask_column(request: pytest.FixtureRequest, flask_server: str) -> Iterator[Column]:
    """One server of ``--flask-model`` serving the app in its own process group, started once per
    server (pytest groups the checks by server) and stopped before the next server's. With
    ``--flask-live-test-client`` it starts when a test first asks for a client, with that app's
    config."""
    column = request.config.stash[SESSION].columns[flask_server]
    if not column.session.live_test_client:
        _running(column)
    yield column
    column.stop()


def _proxy(
    request: pytest.FixtureRequest, column: Column, config: dict[str, Any] | None = None
) -> SocketProxy:
    """A socket proxy to the column's server for this test, counted in its cell, bounded by the
    check timeout from now."""
    proxy = SocketProxy(_running(column, config), Deadline(column.session.timeout))
    request.node.stash.setdefault(PROXIES, []).append(proxy)
    return proxy


@pytest.fixture
def flask_live_client(request: pytest.FixtureRequest, flask_column: Column) -> Client:
    """Werkzeug's test client (what ``app.test_client()`` is made of) sending every request over
    the socket to the live server: its own cookie jar, headers, ``json=``, ``data=``,
    ``follow_redirects``; responses with ``status_code``, ``data``, ``get_data()``, ``json``,
    ``headers``. Bounded by the check timeout."""
    return plain_client(_proxy(request, flask_column))


@pytest.fixture
def flask_live_clients(request: pytest.FixtureRequest, flask_column: Column) -> Callable[[], Client]:
    """Make a new live client per call: one virtual user each, with its own cookie jar."""
    return lambda: plain_client(_proxy(request, flask_column))


@pytest.fixture
def flask_at_once(request: pytest.FixtureRequest, flask_column: Column) -> AtOnce:
    """``flask_at_once([path_or_open_kwargs, ...])`` sends the requests together, one new virtual
    user each, and returns their responses in order. The server counts requests in flight
    meanwhile: when they never overlapped (a server that runs one at a time), a pass is marked
    "passed without overlap" in the table, as the matrix's own checks are."""
    base_url = _running(flask_column)
    deadline = Deadline(flask_column.session.timeout)
    at_once = AtOnce(
        lambda: plain_client(_proxy(request, flask_column)),
        lambda reset: read_in_flight(base_url, deadline, reset),
    )
    request.node.stash[AT_ONCE] = at_once
    return at_once


class LiveTestClient:
    """Registered with ``--flask-live-test-client``: its autouse fixture makes every test a cell
    of every server, and ``Flask.test_client`` a live client for the app it is called on."""

    @pytest.fixture(autouse=True)
    def flask_live_test_client(
        self, request: pytest.FixtureRequest, flask_column: Column, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from flask import Flask

        def test_client(app: Flask, use_cookies: bool = True, **kwargs: Any) -> Client:
            config, unsent = sendable_config(app)
            if unsent:
                request.node.stash[UNSENT] = unsent
            return live_test_client(
                app, _proxy(request, flask_column, config), use_cookies=use_cookies, **kwargs
            )

        monkeypatch.setattr(Flask, "test_client", test_client)


@pytest.fixture
def live(flask_column: Column) -> LiveClient:
    """A client for the live server whose every call is bounded by the check's timeout."""
    return LiveClient(_running(flask_column), flask_column.session.timeout)


@pytest.fixture
def flask_live_url(flask_column: Column) -> str:
    """Base URL (http://127.0.0.1:PORT) of the app served under the chosen model and server."""
    return _running(flask_column)


@pytest.fixture
def flask_model(request: pytest.FixtureRequest) -> str:
    """The concurrency model this session serves under (threads, gevent, eventlet, asgi)."""
    if SESSION not in request.config.stash:
        pytest.fail("flask_model needs --flask-model")
    return request.config.stash[SESSION].model


@pytest.fixture
def verdict(request: pytest.FixtureRequest) -> Verdict:
    """Judges the check's observation against its ideal and this cell's documented deviation."""
    return request.config.stash[SESSION].verdict_for(request.node)
