"""How each worker kind runs, the way users run it: one runner per kind of the catalog's table.

The kinds themselves (name, words, whether a batch overlaps, where they exist) are one table in
``matrix/areas/workers.toml``; this module says how each one runs. A runner runs a batch of
callables ("thunks") with one primitive — ``threading.Thread``,
``ThreadPoolExecutor.submit``, ``gevent.spawn``, ``asyncio.create_task``, asgiref's
``sync_to_async`` ... — and returns their results in order, bounded by a timeout where the
primitive takes one (a raw greenlet's ``switch()`` and ``async_to_sync`` do not: their thunks run
inline, one after the other, and bound their own waits). Nothing here copies, pushes or restores a
context: whatever context a thunk sees is what the primitive itself gives it, which is what the
worker checks observe.

An async runner needs a running event loop and is awaited from an ``async def`` view.
Runtime libraries (gevent, eventlet, greenlet, asgiref) are imported inside the functions that use
them, so importing this module needs only the standard library, and a kind whose runtime is absent
fails only when it is used (its checks are n/a there).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from matrix.models.base import KeptResult

Thunk = Callable[[], Any]
SyncRunner = Callable[[Sequence[Thunk], float], list[Any]]
AsyncRunner = Callable[[Sequence[Thunk], float], Awaitable[list[Any]]]


class WorkerTimeout(RuntimeError):
    """A batch of workers did not finish within its bound."""


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def run_threads(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """One ``threading.Thread`` per thunk, all started, then joined."""
    deadline = time.monotonic() + timeout
    outcomes = [KeptResult(thunk) for thunk in thunks]
    threads = [threading.Thread(target=outcome, daemon=True) for outcome in outcomes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_remaining(deadline))
        if thread.is_alive():
            raise WorkerTimeout(f"threading.Thread still running after {timeout} s")
    return [outcome.get() for outcome in outcomes]


def run_thread_pool(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """``ThreadPoolExecutor.submit`` on a pool as wide as the batch."""
    deadline = time.monotonic() + timeout
    pool = ThreadPoolExecutor(max_workers=len(thunks))
    try:
        futures = [pool.submit(thunk) for thunk in thunks]
        return [future.result(_remaining(deadline)) for future in futures]
    finally:
        pool.shutdown(wait=False)


def run_gevent_spawn(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """``gevent.spawn`` per thunk, then ``gevent.joinall``."""
    import gevent

    greenlets = [gevent.spawn(thunk) for thunk in thunks]
    gevent.joinall(greenlets, timeout=timeout)
    if not all(greenlet.ready() for greenlet in greenlets):
        gevent.killall(greenlets, block=False)
        raise WorkerTimeout(f"gevent.spawn greenlet still running after {timeout} s")
    return [greenlet.get() for greenlet in greenlets]


def run_raw_greenlet(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """``greenlet.greenlet(thunk).switch()``: each runs at once, until it returns to its parent.

    A raw greenlet is not scheduled by any hub, so a batch runs one after the other; the thunks
    must not block on the hub (``switch()`` takes no timeout and would wait for as long as they do).
    """
    import greenlet  # no stubs; not in pyproject's overrides

    results = []
    for thunk in thunks:
        worker = greenlet.greenlet(thunk)
        result = worker.switch()
        if not worker.dead:
            raise WorkerTimeout("raw greenlet switched back before finishing")
        results.append(result)
    return results


def run_eventlet_spawn(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """``eventlet.spawn`` per thunk, then ``GreenThread.wait``."""
    import eventlet

    threads = [eventlet.spawn(thunk) for thunk in thunks]
    with eventlet.Timeout(timeout, WorkerTimeout(f"eventlet.spawn still running after {timeout} s")):
        return [thread.wait() for thread in threads]


def run_eventlet_spawn_n(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """``eventlet.spawn_n`` (no GreenThread, no result): each thunk reports through an Event."""
    import eventlet
    import eventlet.event

    def reporting(thunk: Thunk, done: Any) -> Callable[[], None]:
        def run() -> None:
            try:
                done.send(thunk())
            except Exception as exc:  # handed to the waiting view, which re-raises it
                done.send_exception(exc)

        return run

    events = []
    for thunk in thunks:
        done = eventlet.event.Event()
        eventlet.spawn_n(reporting(thunk, done))
        events.append(done)
    with eventlet.Timeout(timeout, WorkerTimeout(f"eventlet.spawn_n still running after {timeout} s")):
        return [done.wait() for done in events]


def run_async_to_sync(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """asgiref's ``async_to_sync`` per thunk, from sync code: the thunk runs inside a coroutine
    on asgiref's event loop; each call returns before the next starts (no timeout: the thunk runs
    inline, so it bounds its own waits)."""
    from asgiref.sync import async_to_sync

    async def call(thunk: Thunk) -> Any:
        return thunk()

    return [async_to_sync(call)(thunk) for thunk in thunks]


async def run_create_task(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """``asyncio.create_task`` per thunk (the thunk is the task's body), then gathered."""

    async def call(thunk: Thunk) -> Any:
        return thunk()

    tasks = [asyncio.create_task(call(thunk)) for thunk in thunks]
    return list(await asyncio.wait_for(asyncio.gather(*tasks), timeout))


async def run_to_thread(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """``asyncio.to_thread`` per thunk (the loop's default executor)."""
    calls = [asyncio.to_thread(thunk) for thunk in thunks]
    return list(await asyncio.wait_for(asyncio.gather(*calls), timeout))


async def run_in_executor(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """``loop.run_in_executor`` on a pool as wide as the batch (shut down afterwards, so no
    executor thread outlives the view)."""
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=len(thunks))
    try:
        futures = [loop.run_in_executor(pool, thunk) for thunk in thunks]
        return list(await asyncio.wait_for(asyncio.gather(*futures), timeout))
    finally:
        pool.shutdown(wait=False)


async def run_sync_to_async(thunks: Sequence[Thunk], timeout: float) -> list[Any]:
    """asgiref's ``sync_to_async`` with its defaults (``thread_sensitive=True``: every call runs
    on one thread, one after the other)."""
    from asgiref.sync import sync_to_async

    calls = [sync_to_async(thunk)() for thunk in thunks]
    return list(await asyncio.wait_for(asyncio.gather(*calls), timeout))


RUNNERS: dict[str, SyncRunner | AsyncRunner] = {
    "thread": run_threads,
    "thread_pool": run_thread_pool,
    "run_in_executor": run_in_executor,
    "gevent_spawn": run_gevent_spawn,
    "greenlet": run_raw_greenlet,
    "eventlet_spawn": run_eventlet_spawn,
    "eventlet_spawn_n": run_eventlet_spawn_n,
    "create_task": run_create_task,
    "to_thread": run_to_thread,
    "sync_to_async": run_sync_to_async,
    "async_to_sync": run_async_to_sync,
}
"""Each kind's runner, by the kind's name; a coroutine function is served by an async view."""
