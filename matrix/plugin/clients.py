"""The clients a user's suite gets: Werkzeug's own test client, sending over the socket.

Why Werkzeug's ``Client`` and not ``requests`` or ``httpx``: it is the client Flask's
``app.test_client()`` is made of, it comes with Flask (nothing more to install in every
environment of the matrix, Flask 2.0 to 3.1), and it keeps what a test of a Flask app needs —
a cookie jar (one per client: one virtual user), headers, ``json=``, ``data=`` (forms, files),
``follow_redirects`` — and answers with the same response objects (``status_code``, ``data``,
``get_data()``, ``json``, ``headers``) a test-client suite already asserts on. What it lacks is a
socket: ``SocketProxy`` is the WSGI app it calls, which sends each request over HTTP to the live
server and hands back its answer. So a suite's requests really cross the server under test, and
its assertions need not change.

Every request is bounded by the test's deadline; past it, ``CheckTimeout`` (a ``timeout`` cell).
A test that needs the request context kept in this process after a request (``with client:``,
``client.session_transaction()``) cannot run live: ``NotLive`` skips it, and the plugin records
the cell as n/a with that reason.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from matrix.client import CheckTimeout
from matrix.launch.in_flight import PATH as IN_FLIGHT_PATH

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.test import Client, TestResponse

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
"""Response headers that describe the one HTTP connection, not the response (http.client has
already decoded the chunked body)."""


class NotLive(pytest.skip.Exception):  # type: ignore[name-defined,misc]
    """The test needs the in-process request context after a request: it cannot run live.

    pytest prints a skip's exception as ``module.Class: message`` unless it is its own
    ``Skipped``; named so, the reason reads as any skip's does."""

    __module__ = "builtins"
    __qualname__ = "Skipped"


NotLive.__name__ = NotLive.__qualname__


class Deadline:
    """The test's bound: what is left of it, or ``CheckTimeout``."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.at = time.monotonic() + timeout

    def remaining(self, what: str) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise CheckTimeout(f"{what}: the test exceeded its {self.timeout:g} s bound")
        return left


class SocketProxy:
    """A WSGI app that forwards each request to the live server over a new connection, bounded by
    the deadline, and counts what it sent (``requests``)."""

    def __init__(self, base_url: str, deadline: Deadline) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.address = (host, int(port))
        self.deadline = deadline
        self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target = urllib.parse.quote(path.encode("latin-1"), safe="/;=,:@!$&'()*+~-._")
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        what = f"{environ['REQUEST_METHOD']} {target}"
        with self._lock:
            self.requests += 1
        connection = http.client.HTTPConnection(*self.address, timeout=self.deadline.remaining(what))
        try:
            connection.request(environ["REQUEST_METHOD"], target, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
        except TimeoutError as exc:
            raise CheckTimeout(
                f"{what}: no answer within the test's {self.deadline.timeout:g} s bound"
            ) from exc
        finally:
            connection.close()
        kept = [(name, value) for name, value in answer.getheaders() if name.lower() not in HOP_BY_HOP]
        start_response(f"{answer.status} {answer.reason}", kept)
        return [data]


def plain_client(proxy: SocketProxy) -> Client:
    """Werkzeug's client over ``proxy``, with Flask's response class (``.json``) and its own
    cookie jar."""
    from flask import Response
    from werkzeug.test import Client

    return Client(proxy, Response, use_cookies=True)


def live_test_client(app: Flask, proxy: SocketProxy, **kwargs: Any) -> Client:
    """``app.test_client()`` as the suite would get it, but every request goes to the live server
    (``app`` still builds the requests: its SERVER_NAME, APPLICATION_ROOT and JSON provider)."""
    from flask.testing import FlaskClient

    class LiveFlaskClient(FlaskClient):
        """Flask's test client whose WSGI calls are the socket proxy's."""

        def run_wsgi_app(self, environ: Any, buffered: bool = False) -> Any:
            # Werkzeug's run_wsgi_app calls self.application; FlaskClient builds requests from it.
            built_by, self.application = self.application, proxy  # type: ignore[assignment]
            try:
                return super().run_wsgi_app(environ, buffered)
            finally:
                self.application = built_by

        def __enter__(self) -> Any:
            raise NotLive(
                "n/a: `with client:` keeps the request context in this process after a request; "
                "live, the request ran in the server's process"
            )

        def session_transaction(self, *args: Any, **kwargs: Any) -> Any:
            raise NotLive(
                "n/a: session_transaction() opens the session in this process; live, the session "
                "lives in the cookie the server set"
            )

    return LiveFlaskClient(app, app.response_class, **{"use_cookies": True, **kwargs})


def sendable_config(app: Flask) -> tuple[dict[str, Any], list[str]]:
    """The test app's config where it differs from Flask's defaults, as JSON the server process
    applies after its factory ran (a timedelta as seconds, a path as a string); and the keys that
    cannot travel (not JSON: the server keeps its own value)."""
    defaults = type(app).default_config
    sent: dict[str, Any] = {}
    unsent: list[str] = []
    for key, set_to in app.config.items():
        if key in defaults and defaults[key] == set_to:
            continue
        value = set_to.total_seconds() if isinstance(set_to, timedelta) else set_to
        value = os.fspath(value) if isinstance(value, os.PathLike) else value
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            unsent.append(key)
        else:
            sent[key] = value
    return sent, sorted(unsent)


class AtOnce:
    """``flask_at_once(requests)``: send the requests together, one virtual user each, and return
    the responses in order; the server's peak of requests in flight meanwhile is kept (``peaks``),
    so that a pass where they never overlapped is marked in the table."""

    def __init__(self, make_client: Callable[[], Client], in_flight: Callable[[bool], int]) -> None:
        self.make_client = make_client
        self.in_flight = in_flight
        self.peaks: list[int] = []

    def __call__(self, requests: Sequence[str | Mapping[str, Any]]) -> list[TestResponse]:
        """Each request is a path (GET) or the keyword arguments of ``client.open`` (``path``,
        ``method``, ``json``, ``data``, ``headers``, ...)."""
        orders = [{"path": r} if isinstance(r, str) else dict(r) for r in requests]
        clients = [self.make_client() for _ in orders]
        start = threading.Barrier(len(orders)) if orders else None
        self.in_flight(True)

        def send(index: int) -> TestResponse:
            if start is not None:
                start.wait()
            return clients[index].open(**orders[index])

        with ThreadPoolExecutor(max(1, len(orders))) as pool:
            responses = list(pool.map(send, range(len(orders))))
        self.peaks.append(self.in_flight(False))
        return responses


def read_in_flight(base_url: str, deadline: Deadline, reset: bool) -> int:
    """The server's peak of requests in flight (``matrix.launch.in_flight``), reset if asked."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=deadline.remaining(IN_FLIGHT_PATH))
    try:
        connection.request("GET", IN_FLIGHT_PATH + ("?reset=1" if reset else ""))
        answer = connection.getresponse()
        body = answer.read()
    except TimeoutError as exc:
        raise CheckTimeout(f"{IN_FLIGHT_PATH}: no answer within {deadline.timeout:g} s") from exc
    finally:
        connection.close()
    if answer.status != 200:
        raise RuntimeError(
            f"{IN_FLIGHT_PATH} answered {answer.status}: the server counts no requests in flight"
        )
    return int(json.loads(body)["peak"])
