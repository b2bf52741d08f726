"""Flask's request and app-context signals, observed per request under overlapping requests.

Receivers are connected to this app only (``sender=app``) and only while a check has armed them
(``/signals/arm`` .. ``/signals/disarm``): the appcontext and async receivers act on every request
of the app, so leaving them connected would change what other areas' requests do. Each receiver
files what it saw under the token its request carries; a follow-up request reports the files.

Signals need blinker, which Flask made a required dependency only in 2.3; before, without it,
``connect`` raises. Nothing is connected at registration, so the app builds under every Flask.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Flask,
    Response,
    appcontext_popped,
    appcontext_pushed,
    current_app,
    g,
    got_request_exception,
    request,
    request_finished,
    request_started,
    request_tearing_down,
)

from apps.gate import GateRegistry, ServerCapacity, server_capacity
from apps.observe import observe, raised
from apps.shared import GATE_TIMEOUT, yield_a_few
from matrix.models.base import Event, Workers

SIGNAL_TOKEN: ContextVar[str | None] = ContextVar("matrix_signal_token", default=None)
"""Set by the appcontext view, read by the appcontext_popped receiver: the popped signal carries
no request (the request context is gone by then), so this is how it names its request."""


class SignalProbeError(Exception):
    """Raised by the lifecycle view on purpose; its error handler re-raises."""


class SignalProbeReraisedError(Exception):
    """Raised from an error handler, so Flask treats it as unhandled and sends
    got_request_exception (a handled exception is not signalled)."""


@dataclass
class AsyncWave:
    """One async-receiver wave: the held receiver's entry, and how many overlapping requests
    have been torn down while it waited."""

    entered: Event
    size: int
    broken: bool = False
    torn_down: int = 0
    overlapped_by: int | None = None


@dataclass
class SignalFiles:
    """What the receivers saw, filed by request token."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    lifecycle: dict[str, list[Any]] = field(default_factory=dict)
    pushed: dict[int, int] = field(default_factory=dict)
    popped: dict[str, list[Any]] = field(default_factory=dict)
    view_saw: dict[str, Any] = field(default_factory=dict)
    async_seen: dict[str, Any] = field(default_factory=dict)
    async_errors: dict[str, Any] = field(default_factory=dict)
    waves: dict[str, AsyncWave] = field(default_factory=dict)

    def file(self, token: str, entry: list[Any]) -> None:
        with self.lock:
            self.lifecycle.setdefault(token, []).append(entry)


def register(app: Flask, workers: Workers) -> None:
    files = SignalFiles()
    capacity = server_capacity(app)
    gates = GateRegistry(workers, capacity=capacity)  # requests' gates
    receivers = {
        "lifecycle": _lifecycle_receivers(app, files),
        "appcontext": _appcontext_receivers(files),
        "async": _async_receivers(workers, files, capacity),
    }

    @app.errorhandler(SignalProbeError)
    def signals_reraise(exc: SignalProbeError) -> Any:
        raise SignalProbeReraisedError(str(exc))

    @app.get("/signals/arm")
    def signals_arm() -> Any:
        for signal, receiver in receivers[request.args["set"]]:
            signal.connect(receiver, app, weak=False)
        return {"armed": request.args["set"]}

    @app.get("/signals/disarm")
    def signals_disarm() -> Any:
        for signal, receiver in receivers[request.args["set"]]:
            signal.disconnect(receiver, app)
        return {"disarmed": request.args["set"]}

    _lifecycle_views(app, workers, files, gates)
    _appcontext_views(app, workers, files, gates)
    _async_views(app, workers, files, capacity)


def _lifecycle_views(app: Flask, workers: Workers, files: SignalFiles, gates: GateRegistry) -> None:
    @app.get("/signals/lifecycle")
    def signals_lifecycle() -> Any:
        """Overlap at a gate; raise (through the error handler) when asked."""
        token = request.args["sigtok"]
        gate = gates.hold(request.args["wave"], int(request.args["size"]), GATE_TIMEOUT)
        if request.args.get("raise") == "1":
            raise SignalProbeError(f"raised for {token}")
        return {"token": token, **gate.report()}

    @app.get("/signals/lifecycle/report")
    def signals_lifecycle_report() -> Any:
        with files.lock:
            return {t: files.lifecycle.pop(t, []) for t in request.args["tokens"].split(",")}


def _appcontext_views(app: Flask, workers: Workers, files: SignalFiles, gates: GateRegistry) -> None:
    @app.get("/signals/appcontext")
    def signals_appcontext() -> Any:
        """Name the request for the popped receiver; read back what the pushed receiver set in
        this request's g, before and after overlapping at a gate."""
        token = request.args["sigtok"]
        SIGNAL_TOKEN.set(token)
        before = g.get("matrix_signal_pushed")
        gate = gates.get(request.args["wave"], int(request.args["size"]), GATE_TIMEOUT)
        gate.enter()
        try:
            yield_a_few(workers)
            after = g.get("matrix_signal_pushed")
        finally:
            gate.leave()
        with files.lock:
            files.view_saw[token] = before if before == after else [before, after]
        return gate.report()

    @app.get("/signals/appcontext/report")
    def signals_appcontext_report() -> Any:
        report = {}
        with files.lock:
            for token in request.args["tokens"].split(","):
                seen = files.view_saw.pop(token, None)
                report[token] = {
                    "view_saw": seen,
                    "pushed_calls": files.pushed.get(seen, 0) if isinstance(seen, int) else None,
                    "popped": files.popped.pop(token, []),
                }
            files.pushed.clear()
        return report


def _async_views(app: Flask, workers: Workers, files: SignalFiles, capacity: ServerCapacity) -> None:
    @app.get("/signals/async")
    def signals_async() -> Any:
        """The held request returns at once (its receiver then holds); an overlapping one waits,
        bounded, until the held receiver is suspended in its event loop."""
        wave = _async_wave(files, workers, request.args["wave"], int(request.args["size"]))
        overlapping = request.args["role"] == "overlap"
        if overlapping and not capacity.wait_for_another_request(wave.entered, GATE_TIMEOUT):
            wave.broken = True  # the held receiver never got in while this one waited
            wave.entered.set()
        return {"ok": True}

    @app.get("/signals/async/report")
    def signals_async_report() -> Any:
        tokens = request.args["tokens"].split(",")
        with files.lock:
            wave = files.waves.pop(request.args["wave"], None)
            return {
                "seen": {t: files.async_seen.pop(t, None) for t in tokens},
                "errors": {t: files.async_errors.pop(t, None) for t in tokens},
                "overlapped_by": wave.overlapped_by if wave else None,
                "entered_broken": wave.broken if wave else None,
            }


def _async_wave(files: SignalFiles, workers: Workers, wave: str, size: int) -> AsyncWave:
    with files.lock:
        if wave not in files.waves:
            files.waves[wave] = AsyncWave(workers.event(), size)
        return files.waves[wave]


Receiver = Callable[..., Any]
ReceiverSet = list[tuple[Any, Receiver]]
"""(signal, receiver) pairs that a check connects for its duration."""


def _lifecycle_receivers(app: Flask, files: SignalFiles) -> ReceiverSet:
    """File what each request signal saw, under the lifecycle request's own token."""

    def lifecycle_token() -> str | None:
        return request.args.get("sigtok") if request.endpoint == "signals_lifecycle" else None

    def on_started(sender: Flask, **extra: Any) -> None:
        token = lifecycle_token()
        if token is not None:
            files.file(token, ["request_started", sender is app])

    def on_exception(sender: Flask, exception: BaseException, **extra: Any) -> None:
        token = lifecycle_token()
        if token is not None:
            files.file(token, ["got_request_exception", raised(exception)])

    def on_finished(sender: Flask, response: Response, **extra: Any) -> None:
        token = lifecycle_token()
        if token is not None:
            body = response.get_json(silent=True) if response.is_json else None
            echoed = body.get("token") if isinstance(body, dict) else None
            files.file(token, ["request_finished", response.status_code, echoed])

    def on_tearing_down(sender: Flask, exc: BaseException | None = None, **extra: Any) -> None:
        token = lifecycle_token()
        if token is not None:
            files.file(token, ["request_tearing_down", raised(exc) if exc is not None else None])

    return [
        (request_started, on_started),
        (got_request_exception, on_exception),
        (request_finished, on_finished),
        (request_tearing_down, on_tearing_down),
    ]


def _appcontext_receivers(files: SignalFiles) -> ReceiverSet:
    """appcontext_pushed numbers each new context in its g; appcontext_popped files the token
    the view left in SIGNAL_TOKEN."""
    pushed_ids = itertools.count(1)

    def on_pushed(sender: Flask, **extra: Any) -> None:
        """Flask's documented use: put something in the new context's g."""
        with files.lock:
            number = next(pushed_ids)
            files.pushed[number] = files.pushed.get(number, 0) + 1
        g.matrix_signal_pushed = number

    def on_popped(sender: Flask, **extra: Any) -> None:
        token = SIGNAL_TOKEN.get()
        if token is not None:
            SIGNAL_TOKEN.set(None)
            with files.lock:
                files.popped.setdefault(token, []).append(observe(lambda: current_app.name))

    return [(appcontext_pushed, on_pushed), (appcontext_popped, on_popped)]


def _async_receivers(workers: Workers, files: SignalFiles, capacity: ServerCapacity) -> ReceiverSet:
    """An async request_finished receiver, plus sync ones filing exceptions and teardowns."""

    def async_wave() -> AsyncWave | None:
        if request.endpoint != "signals_async":
            return None
        return _async_wave(files, workers, request.args["wave"], int(request.args["size"]))

    async def on_finished_async(sender: Flask, **extra: Any) -> None:
        """Run by Flask through ensure_sync. The held one stays suspended in its event loop
        (bounded) until every overlapping request of its wave is torn down; not at all where it
        fills the server, which then lets no overlapping request in until it is done."""
        wave = async_wave()
        if wave is None:
            return
        if request.args["role"] == "held":
            wave.entered.set()
            deadline = time.monotonic() + GATE_TIMEOUT
            while (
                wave.torn_down < wave.size
                and not wave.broken
                and not capacity.saturated(1)
                and time.monotonic() < deadline
            ):
                await asyncio.sleep(0.002)
            wave.overlapped_by = wave.torn_down
        for _ in range(3):
            await asyncio.sleep(0.001)
        seen = observe(lambda: request.args["sigasync"])
        with files.lock:
            files.async_seen[request.args["sigasync"]] = seen

    def on_async_exception(sender: Flask, exception: BaseException, **extra: Any) -> None:
        if async_wave() is not None:
            with files.lock:
                files.async_errors.setdefault(request.args["sigasync"], raised(exception))

    def on_async_tearing_down(sender: Flask, **extra: Any) -> None:
        wave = async_wave()
        if wave is not None and request.args["role"] == "overlap":
            with files.lock:
                wave.torn_down += 1

    return [
        (request_finished, on_finished_async),
        (got_request_exception, on_async_exception),
        (request_tearing_down, on_async_tearing_down),
    ]
