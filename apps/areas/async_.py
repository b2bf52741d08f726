"""Async: ``async def`` views held in their loops at once (and overlapped by other async views),
async hooks (before_request, error handler, teardown), a task that outlives its view, and Flask's
gevent ``async_to_sync`` recipe.

Each async hook lives on its own blueprint so that it runs only for its own probe, never for the
rest of the shared app (every async hook is one more asgiref ``async_to_sync`` call per request).
Waits inside coroutines poll a ``workers.event()`` with ``asyncio.sleep``: the event is the
threading-level primitive the other requests set, the poll keeps the coroutine's loop running.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request

from apps.gate import Gate, ServerCapacity, server_capacity
from apps.observe import observe, raised
from apps.shared import GATE_TIMEOUT, JOIN_TIMEOUT, Keyed
from matrix.models.base import Event, Workers

AREA_VAR: ContextVar[str] = ContextVar("async_area_marker")
"""A user ContextVar, set by the views and hooks of this area."""

POLL = 0.002
"""How often a coroutine looks at a threading-level event; each look yields to its loop."""
TASK_BOUND = 5.0
"""How long a task waits for the client's "the response is in" signal before giving up."""
RECIPE_APP_NAME = "async_recipe"
WAVE_SIZE = 10
"""How many async views a wave holds in their loops at once."""


class AsyncProbeError(Exception):
    """Raised on purpose by the error-handler probe."""


class AsyncGate(Gate):
    """``apps.gate.Gate`` for coroutines: the same counting and opening (full, at the server's
    capacity, or bounded, then broken and open for good after ``timeout``), waited for by a
    coroutine that stays suspended in its loop; it can also be released, and tells when its lead
    participant is inside."""

    def __init__(self, workers: Workers, size: int, timeout: float, capacity: ServerCapacity) -> None:
        super().__init__(workers, size, timeout, capacity)
        self.lead_entered = workers.event()

    async def opened(self) -> None:
        """Stay suspended in the loop until the gate opens (bounded)."""
        deadline = time.monotonic() + self.timeout
        while not self._opened.is_set():
            if time.monotonic() >= deadline:
                self.open(broken=True)
                break
            await asyncio.sleep(POLL)

    def is_open(self) -> bool:
        return self._opened.is_set()

    def open(self, broken: bool) -> None:
        with self._lock:
            if not self._opened.is_set():
                self.broken = broken
                self._opened.set()


async def poll(event: Event, timeout: float) -> bool:
    """Wait for a threading-level event inside a coroutine, yielding to the loop (bounded)."""
    deadline = time.monotonic() + timeout
    while not event.is_set():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL)
    return True


async def a_few_awaits(times: int = 3) -> None:
    """Suspension points: the coroutine leaves its loop's stack and comes back."""
    for _ in range(times):
        await asyncio.sleep(0.001)


def echo() -> dict[str, Any]:
    """What this request's contexts say about its marker."""
    return {
        "request": observe(lambda: request.args["marker"]),
        "current_app": observe(lambda: current_app.name),
        "g": observe(lambda: g.marker),
        "contextvar": observe(AREA_VAR.get),
    }


async def echo_after_gate(gate: AsyncGate, lead: bool = False) -> dict[str, Any]:
    """Mark this request, arrive at ``gate``, stay suspended in the loop until it opens, then
    read the marker back. ``lead`` announces arrival, so others can be sent while it waits."""
    marker = request.args["marker"]
    g.marker = marker
    AREA_VAR.set(marker)
    gate.arrive()
    if lead:
        gate.lead_entered.set()
    try:
        await gate.opened()
        await a_few_awaits()
        seen = echo()
    finally:
        gate.leave()
    return {"echo": seen, **gate.report()}


def register(app: Flask, workers: Workers) -> None:
    _overlap_views(app, workers)
    _before_request_views(app)
    _errorhandler_views(app)
    _teardown_views(app, workers)
    _task_views(app, workers)
    _recipe_views(app, workers)


def _overlap_views(app: Flask, workers: Workers) -> None:
    """``WAVE_SIZE`` async views suspended in their loops at once (bounded), each reading its
    own; the lead is also what the other checks hold while their probe runs (another async view,
    an async hook)."""
    capacity = server_capacity(app)
    gates = Keyed(lambda: AsyncGate(workers, WAVE_SIZE, GATE_TIMEOUT, capacity))
    area = Blueprint("async_overlap", __name__, url_prefix="/async/overlap")

    @area.get("/")
    async def overlap() -> Any:
        return await echo_after_gate(gates.get(request.args["wave"]), request.args.get("lead") == "1")

    @area.get("/view")
    async def plain() -> Any:
        """An async view that awaits a few times, then reads its own request."""
        await a_few_awaits()
        return {"marker": observe(lambda: request.args["marker"])}

    @area.get("/lead-entered")
    def lead_entered() -> Any:
        """Wait (bounded) until the lead request is inside its gate; a server that serves one
        request at a time answers this only after the lead is done."""
        gate = gates.get(request.args["wave"])
        entered = capacity.wait_for_another_request(gate.lead_entered, GATE_TIMEOUT)
        return {"entered": entered, "lead_still_held": entered and not gate.is_open()}

    @area.get("/release")
    def release() -> Any:
        """Open the gate for whoever is still inside (the lead, where the others failed)."""
        gate = gates.get(request.args["wave"])
        gate.open(broken=True)
        gates.pop(request.args["wave"])
        return {"released": True}

    app.register_blueprint(area)


def _before_request_views(app: Flask) -> None:
    area = Blueprint("async_before", __name__, url_prefix="/async/before-request")

    @area.before_request
    async def before() -> None:
        """Suspend, then record what this request's contexts show, in ``g`` and a ContextVar."""
        await a_few_awaits()
        g.marker = request.args["marker"]
        AREA_VAR.set(request.args["marker"])
        g.hook_saw = {
            "request": observe(lambda: request.args["marker"]),
            "endpoint": observe(lambda: request.endpoint),
            "current_app": observe(lambda: current_app.name),
        }

    @area.get("/")
    def probe() -> Any:
        return {
            "hook_saw": g.get("hook_saw"),
            "view_sees": {"g": observe(lambda: g.marker), "contextvar": observe(AREA_VAR.get)},
        }

    app.register_blueprint(area)


def _errorhandler_views(app: Flask) -> None:
    area = Blueprint("async_errorhandler", __name__, url_prefix="/async/errorhandler")

    @area.errorhandler(AsyncProbeError)
    async def handle(exc: AsyncProbeError) -> Any:
        await a_few_awaits()
        return jsonify({"error": str(exc), **echo()}), 409

    @area.errorhandler(500)
    def handler_failed(exc: Any) -> Any:
        """Where the async handler itself could not run, report why (Flask wraps the failure
        in an InternalServerError whose ``original_exception`` it is)."""
        return jsonify(raised(getattr(exc, "original_exception", None) or exc)), 500

    @area.get("/")
    def probe() -> Any:
        g.marker = request.args["marker"]
        AREA_VAR.set(request.args["marker"])
        raise AsyncProbeError(f"raised for {request.args['marker']}")

    app.register_blueprint(area)


def _teardown_views(app: Flask, workers: Workers) -> None:
    """An async teardown_request records what it saw, per token; a later request reads it."""
    seen: Keyed[tuple[Event, dict[str, Any]]] = Keyed(lambda: (workers.event(), {}))
    area = Blueprint("async_teardown", __name__, url_prefix="/async/teardown")

    @area.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        await a_few_awaits()
        done, record = seen.get(request.args["token"])
        record.update(echo(), exc=None if exc is None else type(exc).__name__)
        done.set()

    @area.get("/")
    def probe() -> Any:
        g.marker = request.args["marker"]
        AREA_VAR.set(request.args["marker"])
        return {"ok": True}

    @app.get("/async/teardown-seen", endpoint="async_teardown_seen")
    def teardown_seen() -> Any:
        done, record = seen.get(request.args["token"])
        # No wait: Flask pops the request context (running teardown) before wsgi_app returns
        # the body to the server, so a teardown that ran has finished before the client read
        # the probe's response.
        ran = done.is_set()
        seen.pop(request.args["token"])
        return {"ran": ran, "seen": record}

    app.register_blueprint(area)


def _task_views(app: Flask, workers: Workers) -> None:
    """``asyncio.create_task`` from an async view, left running when the view returns.

    The task waits (polling, bounded) for the client's "I have the response" signal, then
    reads the contexts; its fate and what it saw are kept per token until the client asks.
    A strong reference to the task is kept until it is done: the loop holds tasks weakly.
    """
    tasks: set[asyncio.Task[None]] = set()
    records: Keyed[tuple[Event, Event, dict[str, Any]]] = Keyed(
        lambda: (workers.event(), workers.event(), {})
    )

    @app.get("/async/task", endpoint="async_task_start")
    async def task_start() -> Any:
        token = request.args["token"]
        g.marker = request.args["marker"]
        AREA_VAR.set(request.args["marker"])
        response_received, done, record = records.get(token)

        async def outlive() -> None:
            record["fate"] = "started"
            record["at_start"] = echo()
            try:
                if await poll(response_received, TASK_BOUND):
                    record["after_response"] = echo()
                    record["fate"] = "finished"
                else:
                    record["fate"] = "the response signal never came"
            except asyncio.CancelledError:
                record["fate"] = "cancelled"
                record["at_cancel"] = echo()
                raise
            finally:
                done.set()

        task = asyncio.create_task(outlive())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        await asyncio.sleep(0)  # the task was scheduled first: it starts before the view goes on
        return {"task_started": record.get("fate") == "started"}

    @app.get("/async/task/result", endpoint="async_task_result")
    def task_result() -> Any:
        response_received, done, record = records.get(request.args["token"])
        response_received.set()
        finished = done.wait(TASK_BOUND)
        records.pop(request.args["token"])
        return {"done": finished, **record}


def _recipe_views(app: Flask, workers: Workers) -> None:
    """Flask's gevent recipe (docs/gevent.rst): ``async_to_sync`` overridden to schedule every
    coroutine on one asyncio loop that runs in a gevent greenlet, via run_coroutine_threadsafe.

    The app set is shared, so the recipe gets its own small ``Flask`` subclass, reached through
    its test client from a sync view of the main app: it runs inside the live server's
    greenlets. Two changes to the recipe, both for a server shared with other checks: the loop
    lives only while a request uses it (reference-counted: a running loop is visible to every
    greenlet of the OS thread, and would refuse the main app's own asgiref async views), and
    ``future.result`` is bounded. ``asyncio.EventLoop`` (Python 3.13+) is ``new_event_loop()``.
    """
    capacity = server_capacity(app)
    loop_holder = RecipeLoop()
    gates = Keyed(lambda: AsyncGate(workers, WAVE_SIZE, GATE_TIMEOUT, capacity))

    class GeventFlask(Flask):
        def async_to_sync(self, func: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                coro = func(*args, **kwargs)
                future = asyncio.run_coroutine_threadsafe(coro, loop_holder.loop())
                return future.result(JOIN_TIMEOUT)

            return run

    recipe = GeventFlask(RECIPE_APP_NAME)

    @recipe.get("/overlap")
    async def recipe_overlap() -> Any:
        return await echo_after_gate(gates.get(request.args["wave"]))

    @recipe.errorhandler(Exception)
    def recipe_exception(exc: Exception) -> Any:
        return jsonify(raised(exc)), 500

    @app.get("/async/gevent-recipe", endpoint="async_gevent_recipe")
    def gevent_recipe() -> Any:
        with loop_holder:
            response = recipe.test_client().get("/overlap", query_string=dict(request.args))
        return {"status": response.status_code, "body": response.get_json()}


class RecipeLoop:
    """The recipe's shared loop, running in a gevent greenlet while at least one request is
    inside ``with``; the last one out stops it and waits (bounded) for the greenlet to end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._greenlet: Any = None

    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "used outside of 'with'"
        return self._loop

    def __enter__(self) -> RecipeLoop:
        import gevent  # the recipe is gevent's; only its check (gevent-only) gets here

        with self._lock:
            self._users += 1
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._greenlet = gevent.spawn(self._loop.run_forever)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users or self._loop is None:
                return
            loop, greenlet = self._loop, self._greenlet
            self._loop = self._greenlet = None
        loop.call_soon_threadsafe(loop.stop)
        greenlet.join(JOIN_TIMEOUT)
        if not loop.is_running():
            loop.close()
