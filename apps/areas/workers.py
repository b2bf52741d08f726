"""Workers: what a callable handed to another worker sees of Flask's contexts.

The model's native worker (``workers.spawn``) with no helper and with an app context it pushes,
and workers each pushing a test_request_context. For every worker kind of the catalog
(``matrix/areas/workers.toml``, run by ``apps.worker_kinds``) three views run the same scenario
through that kind:
``/workers/context/<kind>`` (no helper: does the worker see current_app, request, g and a user
ContextVar set in the view?), ``/workers/app-context/<kind>`` (the worker pushes
``app.app_context()`` itself) and ``/workers/test-client/<kind>`` (several workers each push a
test_request_context and call the app through ``app.test_client()``); ``/workers/resource/<kind>``
and ``/workers/bare-resource/<kind>`` (the worker takes a pooled database connection through ``g``,
inside an app context it pushes and with none, and the pool says when it came back). A kind that
needs a running
event loop is served by an ``async def`` view, the others by a plain one. Plus single views for
reading ``request`` in an app-only context, nested test_request_context push/pop, and Python
3.14's ``threading.Thread(context=...)``.
"""

from __future__ import annotations

import contextvars
import inspect
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

from flask import Flask, copy_current_request_context, current_app, g, has_request_context, request, url_for

from apps.gate import GateRegistry
from apps.observe import observe, raised
from apps.shared import GATE_TIMEOUT, JOIN_TIMEOUT, yield_a_few
from apps.worker_connections import WorkerConnections
from apps.worker_kinds import RUNNERS, AsyncRunner, SyncRunner, Thunk
from matrix.catalog import WorkerKind, load_worker_kinds
from matrix.models.base import Workers
from matrix.records import Observation

WORKER_VAR: ContextVar[str] = ContextVar("matrix_worker_var")
"""A user ContextVar the view sets before handing work to a worker."""
UNSET = "<unset>"
"""What a worker reads from ``WORKER_VAR`` where it is not set (a string: rows are TOML)."""

Kind = WorkerKind
Prepared = tuple[list[Thunk], Callable[[list[Any]], Any]]
"""A scenario's thunks, made inside the view, and how to turn their results into the response."""
Scenario = Callable[[Flask, Kind], Prepared]


def register(app: Flask, workers: Workers) -> None:
    gates = GateRegistry(workers)  # workers' gates: bounded by nothing the server does
    pooled = WorkerConnections(app)
    _native_views(app, workers, gates)
    kinds = load_worker_kinds()
    if {k.name for k in kinds} != set(RUNNERS):
        raise RuntimeError(
            f"worker kinds and runners differ: {sorted({k.name for k in kinds} ^ set(RUNNERS))} "
            f"(matrix/areas/workers.toml, apps/worker_kinds.py)"
        )
    for kind in kinds:
        _kind_view(app, "context", kind, _context_scenario)
        _kind_view(app, "app-context", kind, _app_context_scenario)
        _kind_view(app, "test-client", kind, _test_client_scenario)
        _kind_view(app, "resource", kind, pooled.scenario(pushing_app_context=True))
        _kind_view(app, "bare-resource", kind, pooled.scenario(pushing_app_context=False))

    @app.get("/workers/echo")
    def workers_echo() -> Any:
        """Echo ``i`` after meeting the other workers of the wave (when ``size`` > 1)."""
        size = int(request.args["size"])
        if size == 1:
            return {"i": observe(lambda: request.args["i"]), "in_flight": 1}
        gate = gates.get(request.args["wave"], size, GATE_TIMEOUT)
        gate.enter()
        try:
            yield_a_few(workers)
            echoed = observe(lambda: request.args["i"])
        finally:
            gate.leave()
        return {"i": echoed, "in_flight": gate.max_inside}

    _single_views(app, workers)
    _outside_request_views(app, workers)


def _native_views(app: Flask, workers: Workers, gates: GateRegistry) -> None:
    """The model's native worker, bare and with its own app context; workers each pushing their
    own test_request_context."""

    @app.get("/workers/bare-worker")
    def bare_worker() -> Any:
        def work() -> Any:
            return {
                "current_app": observe(lambda: current_app.name),
                "request": observe(lambda: request.args["marker"]),
            }

        return {"observed": workers.spawn(work).join(JOIN_TIMEOUT), "worker": workers.kind}

    @app.get("/workers/app-context-worker")
    def app_context_worker() -> Any:
        def work() -> Any:
            def read() -> str:
                with app.app_context():
                    return str(current_app.name)

            return {"current_app": observe(read)}

        return {"observed": workers.spawn(work).join(JOIN_TIMEOUT), "worker": workers.kind}

    @app.get("/workers/test-request-context")
    def test_request_context() -> Any:
        count = int(request.args["workers"])
        gate = gates.get(request.args["wave"], count, GATE_TIMEOUT)

        def push_and_read(i: int) -> Callable[[], Any]:
            def work() -> Any:
                with app.test_request_context(f"/?i={i}"):
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


def _kind_view(app: Flask, scenario_name: str, kind: Kind, scenario: Scenario) -> None:
    """Serve /workers/<scenario>/<kind> with a view (async where the kind needs a loop) that
    prepares the scenario's thunks in the view and runs them through ``kind``."""
    rule = f"/workers/{scenario_name}/{kind.name}"
    endpoint = f"workers_{scenario_name.replace('-', '_')}_{kind.name}"

    def prepare() -> Prepared:
        return scenario(app, kind)

    runner = RUNNERS[kind.name]
    if inspect.iscoroutinefunction(runner):
        run_async = cast(AsyncRunner, runner)

        async def async_view() -> Any:
            thunks, respond = prepare()
            try:
                results = await run_async(thunks, JOIN_TIMEOUT)
            except Exception as exc:  # the kind itself failed: each worker's observation
                results = [raised(exc)] * len(thunks)
            return respond(results)

        app.add_url_rule(rule, endpoint, async_view)
    else:
        run = cast(SyncRunner, runner)

        def sync_view() -> Any:
            thunks, respond = prepare()
            try:
                results = run(thunks, JOIN_TIMEOUT)
            except Exception as exc:  # the kind itself failed: each worker's observation
                results = [raised(exc)] * len(thunks)
            return respond(results)

        app.add_url_rule(rule, endpoint, sync_view)


def _read_view_context() -> dict[str, Observation]:
    """What a worker sees of the view's app, request, g and user ContextVar."""
    return {
        "current_app": observe(lambda: current_app.name),
        "request": observe(lambda: request.args["token"]),
        "g": observe(lambda: g.worker_token),
        "contextvar": observe(lambda: WORKER_VAR.get(UNSET)),
    }


def _context_scenario(app: Flask, kind: Kind) -> Prepared:
    """The view sets g and the ContextVar to its ``token``; one worker reads them, no helper."""
    g.worker_token = request.args["token"]
    WORKER_VAR.set(request.args["token"])
    return [_read_view_context], lambda results: {"worker": results[0]}


def _app_context_scenario(app: Flask, kind: Kind) -> Prepared:
    """One worker pushes ``app.app_context()`` and uses current_app and a fresh g; afterwards the
    view checks its own request and g are untouched."""
    g.worker_token = request.args["token"]

    def work() -> Any:
        with app.app_context():
            g.in_worker = "set in worker"
            return {
                "current_app": observe(lambda: current_app.name),
                "g": observe(lambda: g.in_worker),
                "g_fresh": observe(lambda: g.get("worker_token")),
            }

    def respond(results: list[Any]) -> Any:
        view_after = {
            "request": observe(lambda: request.args["token"]),
            "g": observe(lambda: g.worker_token),
        }
        return {"worker": results[0], "view_after": view_after}

    return [work], respond


def _test_client_scenario(app: Flask, kind: Kind) -> Prepared:
    """``count`` workers each push ``test_request_context('/?i=N')``, set ``g`` to N and, inside
    it, GET /workers/echo?i=N through ``app.test_client()``, then read args and g again. Where the
    kind overlaps, the echo views meet at a gate: every worker has pushed its context and set g
    before any reads back. The view then reports what its own g holds of the workers' key."""
    count = int(request.args["workers"])
    size = count if kind.overlaps else 1
    wave = request.args["wave"]

    def work(i: int) -> Thunk:
        def run() -> Any:
            ctx = app.test_request_context(f"/?i={i}")
            ctx.push()
            try:
                g.test_client_i = str(i)
                pushed = observe(lambda: request.args["i"])
                response = app.test_client().get(
                    "/workers/echo", query_string={"i": i, "wave": wave, "size": size}
                )
                body = response.get_json()
                after = observe(lambda: request.args["i"])
                own_g = observe(lambda: g.test_client_i)
            finally:
                ctx.pop()
            query = {"pushed": pushed, "client": body.get("i", body), "after_client": after}
            return {"query": query, "g": own_g, "in_flight": body.get("in_flight", 0)}

        return run

    def respond(results: list[Any]) -> Any:
        return {
            "seen": [{k: v for k, v in seen.items() if k != "in_flight"} for seen in results],
            "in_flight": max(seen.get("in_flight", 0) for seen in results),
            "gate_size": size,
            "view_g": observe(lambda: g.get("test_client_i")),
        }

    return [work(i) for i in range(count)], respond


def _single_views(app: Flask, workers: Workers) -> None:
    @app.get("/workers/request-in-app-context")
    def request_in_app_context() -> Any:
        """A native worker pushes only ``app.app_context()`` and reads ``request``."""

        def work() -> Any:
            with app.app_context():
                return {
                    "current_app": observe(lambda: current_app.name),
                    "has_request_context": has_request_context(),
                    "request": observe(lambda: request.args["token"]),
                }

        return {"worker": workers.spawn(work).join(JOIN_TIMEOUT)}

    @app.get("/workers/nested-test-request-context")
    def nested_test_request_context() -> Any:
        """Push an outer then an inner test_request_context, pop the inner, then the outer: in the
        view (over the live request) and in a native worker (over nothing)."""

        def nested() -> dict[str, Observation]:
            def which() -> Observation:
                return observe(lambda: request.args["which"])

            seen = {}
            outer = app.test_request_context("/?which=outer")
            outer.push()
            try:
                seen["outer"] = which()
                inner = app.test_request_context("/?which=inner")
                inner.push()
                try:
                    seen["inner"] = which()
                finally:
                    inner.pop()
                seen["after_inner_pop"] = which()
            finally:
                outer.pop()
            seen["after_outer_pop"] = which()
            return seen

        return {"view": nested(), "worker": workers.spawn(nested).join(JOIN_TIMEOUT)}

    @app.get("/workers/thread-context-argument")
    def thread_context_argument() -> Any:
        """Python 3.14: ``threading.Thread(context=copy_context())`` runs in the view's context;
        a plain Thread inherits it exactly when ``sys.flags.thread_inherit_context`` is set."""
        g.worker_token = request.args["token"]
        WORKER_VAR.set(request.args["token"])
        explicit: list[Any] = []
        plain: list[Any] = []
        # Passed as keywords so that the module still type-checks against Pythons without it.
        options: dict[str, Any] = {"context": contextvars.copy_context()}
        with_context = threading.Thread(target=lambda: explicit.append(_read_view_context()), **options)
        without = threading.Thread(target=lambda: plain.append(WORKER_VAR.get(None)))
        for thread in (with_context, without):
            thread.start()
            thread.join(JOIN_TIMEOUT)
        flag = bool(getattr(sys.flags, "thread_inherit_context", 0))
        return {
            "context_argument": explicit[0] if explicit else None,
            "plain_thread_inherits": bool(plain) and plain[0] == request.args["token"],
            "thread_inherit_context": flag,
        }


def _outside_request_views(app: Flask, workers: Workers) -> None:
    """What a job with only an app context (a task queue's, an executor's) can do of the
    request-bound helpers: build a URL, copy a request context."""

    @app.get("/workers/url-for-in-app-context")
    def url_for_in_app_context() -> Any:
        """A native worker pushes only ``app.app_context()`` (no request, no SERVER_NAME) and
        builds a URL, as a job sending a link by mail does."""

        def work() -> Any:
            with app.app_context():
                return {"url_for": observe(lambda: url_for("workers_echo"))}

        return {"worker": workers.spawn(work).join(JOIN_TIMEOUT), "view": url_for("workers_echo")}

    @app.teardown_appcontext
    def count_outside_request_teardown(exc: BaseException | None) -> None:
        probe = g.get("outside_request_probe")
        if probe is not None:
            probe.append("teardown_appcontext")

    @app.get("/workers/copy-context-outside-request")
    def copy_context_outside_request() -> Any:
        """A native worker with only ``app.app_context()`` decorates a function with
        copy_current_request_context (a Celery task or an executor job started outside a view)."""

        def work() -> Any:
            torn_down: list[str] = []
            with app.app_context():
                g.outside_request_probe = torn_down
                decorated = observe(lambda: callable(copy_current_request_context(lambda: None)))
                app_after = observe(lambda: current_app.name)
            return {
                "decorator": decorated.get("raises", "no error"),
                "message": decorated.get("message"),
                "current_app_after": app_after,
                "teardown_appcontext": len(torn_down),
            }

        return {"worker": workers.spawn(work).join(JOIN_TIMEOUT)}
