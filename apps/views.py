"""The views behind the foundation checks. Each returns what it observed, never a verdict."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from flask import (
    Flask,
    Response,
    copy_current_request_context,
    current_app,
    g,
    request,
    session,
    stream_with_context,
)

from apps.gate import CapacityProbe, GateRegistry, ServerCapacity, server_capacity
from apps.observe import observe
from apps.stores import MarkerStore
from matrix.models.base import Worker, Workers

JOIN_TIMEOUT = 20.0
"""Bound on waiting for a worker; below the checks' own timeout so a hang is reported here."""
GATE_TIMEOUT = 2.0
"""Bound on a rendezvous; a server that cannot overlap participants pays it once per wave."""
CAPACITY_PROBE = 100
"""Requests in the wave that measures the server's capacity: the largest wave a check sends."""
CAPACITY_QUIET = 0.25
"""No new request for this long, with two or more inside: the server admits no more."""

MARKER: ContextVar[str] = ContextVar("matrix_marker")
"""A user ContextVar, set per request like the users' own (request ids, tenants, DB sessions)."""


class TeardownProbeError(Exception):
    """Raised on purpose by the teardown view."""


class Mailbox:
    """Workers parked by token until the client says it has the response, then joined."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parked: dict[str, tuple[Worker, Any]] = {}

    def park(self, token: str, worker: Worker, response_received: Any) -> None:
        with self._lock:
            self._parked[token] = (worker, response_received)

    def collect(self, token: str) -> Any:
        with self._lock:
            worker, response_received = self._parked.pop(token)
        response_received.set()
        return worker.join(JOIN_TIMEOUT)


def yield_a_few(workers: Workers, times: int = 5) -> None:
    """Cooperative yields: the points where another request or worker may run."""
    for _ in range(times):
        workers.sleep(0.001)


def register_views(app: Flask, workers: Workers, store: MarkerStore) -> None:
    capacity = server_capacity(app)
    gates = GateRegistry(workers, capacity=capacity)

    @app.get("/ready")
    def ready() -> Any:
        """Readiness, and the calibration the harness runs once per server process."""
        return {
            "ok": True,
            "worker_kind": workers.kind,
            "calibrate": {"path": "/capacity", "requests": CAPACITY_PROBE},
        }

    _capacity_views(app, workers, capacity)

    _isolation_views(app, workers, store, gates)
    _worker_views(app, workers)
    _copy_context_views(app, workers)
    _test_request_context_views(app, workers, GateRegistry(workers))  # workers', not requests'
    _streaming_views(app, workers)
    _async_views(app, workers, capacity)
    _teardown_views(app)


def _capacity_views(app: Flask, workers: Workers, capacity: ServerCapacity) -> None:
    probes: dict[str, CapacityProbe] = {}
    probes_lock = threading.Lock()

    @app.get("/capacity")
    def measure_capacity() -> Any:
        """One of ``size`` concurrent requests meeting at a ``CapacityProbe``; each records and
        answers the one figure the probe fixed when it opened."""
        with probes_lock:
            probe = probes.setdefault(
                request.args["wave"],
                CapacityProbe(workers, int(request.args["size"]), GATE_TIMEOUT, CAPACITY_QUIET),
            )
        probe.enter()
        probe.leave()
        capacity.record(probe.limit())
        return capacity.to_json()


def _isolation_views(app: Flask, workers: Workers, store: MarkerStore, gates: GateRegistry) -> None:
    """Query, g, session and a ContextVar per request, read back after yielding at a gate."""

    @app.get("/isolation")
    def isolation() -> Any:
        marker = request.args["marker"]
        store.put(marker)
        session["marker"] = marker
        MARKER.set(marker)
        gate = gates.get(request.args["wave"], int(request.args["size"]), GATE_TIMEOUT)
        gate.enter()
        try:
            yield_a_few(workers)
            echo = {
                "query": request.args["marker"],
                "g": store.get(),
                "session": session.get("marker"),
                "contextvar": MARKER.get(None),
            }
            yield_a_few(workers)
        finally:
            gate.leave()
        return {"echo": echo, **gate.report()}


def _worker_views(app: Flask, workers: Workers) -> None:
    """A native worker with no helper, and one that pushes an app context itself."""

    @app.get("/bare-worker")
    def bare_worker() -> Any:
        def work() -> Any:
            return {
                "current_app": observe(lambda: current_app.name),
                "request": observe(lambda: request.args["marker"]),
            }

        return {"observed": workers.spawn(work).join(JOIN_TIMEOUT), "worker": workers.kind}

    @app.get("/app-context-worker")
    def app_context_worker() -> Any:
        flask_app = current_app._get_current_object()  # type: ignore[attr-defined]

        def work() -> Any:
            def read() -> str:
                with flask_app.app_context():
                    return str(current_app.name)

            return {"current_app": observe(read)}

        return {"observed": workers.spawn(work).join(JOIN_TIMEOUT), "worker": workers.kind}


def _copy_context_views(app: Flask, workers: Workers) -> None:
    """copy_current_request_context, joined in the view or parked until after the response."""
    mailbox = Mailbox()

    @app.post("/copy-context")
    def copy_context() -> Any:
        """Spawn a ``copy_current_request_context`` worker; ``late`` parks it past the response."""
        late = request.args["timing"] == "late"
        session["s"] = request.args["marker"]
        response_received = workers.event()

        @copy_current_request_context
        def work() -> Any:
            if late:
                response_received.wait(JOIN_TIMEOUT)
            return {
                "args": observe(lambda: request.args["marker"]),
                "form": observe(lambda: request.form["field"]),
                "session": observe(lambda: session["s"]),
            }

        worker = workers.spawn(work)
        if late:
            mailbox.park(request.args["token"], worker, response_received)
            return {"parked": True}
        return {"observed": worker.join(JOIN_TIMEOUT)}

    @app.get("/copy-context/result")
    def copy_context_result() -> Any:
        return {"observed": mailbox.collect(request.args["token"])}


def _test_request_context_views(app: Flask, workers: Workers, gates: GateRegistry) -> None:
    """Workers that each push their own test_request_context."""

    @app.get("/test-request-context")
    def test_request_context() -> Any:
        count = int(request.args["workers"])
        flask_app = current_app._get_current_object()  # type: ignore[attr-defined]
        gate = gates.get(request.args["wave"], count, GATE_TIMEOUT)

        def push_and_read(i: int) -> Callable[[], Any]:
            def work() -> Any:
                with flask_app.test_request_context(f"/?i={i}"):
                    gate.enter()
                    try:
                        yield_a_few(workers)
                        return observe(lambda: request.args["i"])
                    finally:
                        gate.leave()

            return work

        spawned = [workers.spawn(push_and_read(i)) for i in range(count)]
        seen = [worker.join(JOIN_TIMEOUT) for worker in spawned]
        wrong = {str(i): s for i, s in enumerate(seen) if s != {"value": str(i)}}
        return {"wrong": wrong, **gate.report()}


def _streaming_views(app: Flask, workers: Workers) -> None:
    """A generator response, with or without stream_with_context."""

    @app.get("/stream")
    def stream() -> Any:
        """Three NDJSON chunks, each what the generator saw of ``request.args`` at that point."""

        def generate() -> Iterator[str]:
            for _ in range(3):
                yield_a_few(workers, 2)
                yield json.dumps(observe(lambda: request.args["marker"])) + "\n"

        chunks: Iterator[str] = generate()
        if request.args["with_context"] == "1":
            chunks = stream_with_context(chunks)
        return Response(chunks, mimetype="application/x-ndjson")


def _async_views(app: Flask, workers: Workers, capacity: ServerCapacity) -> None:
    """An async def view, optionally held inside its event loop while others arrive."""
    held: dict[str, tuple[Any, Any]] = {}
    held_lock = threading.Lock()
    async_arrivals = [0]

    def hold_events(token: str) -> tuple[Any, Any]:
        with held_lock:
            if token not in held:
                held[token] = (workers.event(), workers.event())
            return held[token]

    @app.before_request
    def count_async_arrivals() -> None:
        """Count requests reaching the async view, also those Flask fails to run it for."""
        if request.endpoint == "async_view":
            with held_lock:
                async_arrivals[0] += 1

    @app.get("/async-view")
    async def async_view() -> Any:
        """Await asyncio.sleep, then report request.args; with ``hold``, stay suspended inside the
        event loop (bounded) until the client releases it, counting the requests that arrived
        meanwhile: the measured overlap. A server that runs one request at a time lets in no
        other request (nor the release) while it holds, so there it does not hold."""
        token = request.args.get("hold")
        overlapped_by = None
        if token is not None:
            entered, release = hold_events(token)
            arrivals_before = async_arrivals[0]
            entered.set()
            deadline = time.monotonic() + GATE_TIMEOUT
            while not release.is_set() and not capacity.saturated(1) and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            overlapped_by = async_arrivals[0] - arrivals_before
        for _ in range(3):
            await asyncio.sleep(0.001)
        return {"marker": observe(lambda: request.args["marker"]), "overlapped_by": overlapped_by}

    @app.get("/async-view/entered")
    def async_view_entered() -> Any:
        """Wait until the held view is suspended in its loop; a server that runs one request at a
        time may serve this first, so the wait is bounded like a gate."""
        entered, _ = hold_events(request.args["hold"])
        return {"entered": capacity.wait_for_another_request(entered, GATE_TIMEOUT)}

    @app.get("/async-view/release")
    def async_view_release() -> Any:
        _, release = hold_events(request.args["hold"])
        release.set()
        with held_lock:
            held.pop(request.args["hold"], None)
        return {"released": True}


def _teardown_views(app: Flask) -> None:
    """teardown_request and teardown_appcontext calls, logged per request token."""
    teardown_lock = threading.Lock()
    teardown_log: dict[str, list[str]] = {}

    @app.get("/teardown")
    def teardown() -> Any:
        g.teardown_token = request.args["token"]
        if request.args.get("raise") == "1":
            raise TeardownProbeError("the view raised on purpose")
        return {"ok": True}

    def log_teardown(name: str) -> None:
        token = g.get("teardown_token")
        if token is not None:
            with teardown_lock:
                teardown_log.setdefault(token, []).append(name)

    @app.teardown_request
    def on_teardown_request(exc: BaseException | None) -> None:
        log_teardown("teardown_request")

    @app.teardown_appcontext
    def on_teardown_appcontext(exc: BaseException | None) -> None:
        log_teardown("teardown_appcontext")

    @app.get("/teardown/log")
    def teardown_calls() -> Any:
        tokens = request.args["tokens"].split(",")
        with teardown_lock:
            return {token: teardown_log.pop(token, []) for token in tokens}
