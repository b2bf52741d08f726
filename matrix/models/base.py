"""The one small Protocol every concurrency model implements.

A model is a runtime (OS threads, gevent, eventlet, asyncio). It knows three things:

1. how to patch the runtime, which must happen before Flask or the app is imported;
2. how to serve a WSGI app on a listening socket it is handed (the launcher binds 127.0.0.1 on a
   port the OS picks, so the port is known before the server starts and nothing else can bind);
3. the worker primitives the app set uses (spawn, join, cooperative sleep, event), so that the
   apps never ask which model they run under.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

WSGIApp = Callable[..., Any]


class Event(Protocol):
    """A one-shot flag that a worker can wait on without blocking other workers."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class Worker(Protocol):
    """A handle on a spawned worker; ``join`` returns the worker function's result."""

    def join(self, timeout: float) -> Any: ...


class Workers(Protocol):
    """The model's native concurrency primitives, as the app set sees them."""

    kind: str
    """What a worker is under this model, e.g. ``threading.Thread`` or ``gevent.spawn``."""

    def spawn(self, fn: Callable[[], Any]) -> Worker: ...

    def sleep(self, seconds: float) -> None:
        """Yield to other workers for ``seconds`` (0 yields once)."""

    def event(self) -> Event: ...


class Model(Protocol):
    """A concurrency model: patch the runtime, serve an app, hand out worker primitives."""

    name: str

    def patch(self) -> None:
        """Patch the runtime. Called first thing in the server process, before Flask is imported."""

    def workers(self) -> Workers: ...

    def serve(self, app: WSGIApp, fd: int) -> None:
        """Serve ``app`` with the model's default server on the listening socket ``fd``, forever."""


class WorkerError(RuntimeError):
    """A worker did not finish within its join timeout."""
