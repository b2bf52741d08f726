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


class KeptResult:
    """A function's result or exception, kept for whoever joins the worker that ran it.

    Call it (in the worker) to run the function; ``get()`` (in the joining code) returns the
    result or re-raises the exception there, where a view can observe it."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._result: Any = None
        self._error: BaseException | None = None

    def __call__(self) -> None:
        try:
            self._result = self._fn()
        except BaseException as exc:  # re-raised by get(), in the joining code
            self._error = exc

    def get(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._result


class ThreadWorker:
    """A ``threading.Thread`` (green under gevent and eventlet, once they patched ``threading``)
    that keeps its function's result or exception for ``join``."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        # Imported here: the server process imports this module before the model patches
        # threading, and importing it first would capture the unpatched module.
        import threading

        self._kept = KeptResult(fn)
        self._thread = threading.Thread(target=self._kept, daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise WorkerError(f"worker still running after {timeout} s")
        return self._kept.get()
