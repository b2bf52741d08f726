"""Copied contexts: what a ``copy_current_request_context`` function sees, and what it does.

The decorated function runs in a worker, either joined before the view returns (``joined``) or
parked until the client says it has the whole response (``late``; the checks' closed-connection
protocol, see ``apps.shared.Mailbox``). Views report observations; tokens key per-check state.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, copy_current_request_context, g, request, session

from apps.observe import observe, observe_stable, raised, without_addresses
from apps.shared import JOIN_TIMEOUT, Mailbox
from matrix.models.base import Workers


class TeardownCounter:
    """teardown_request calls per request token, for the requests that ask to be counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}

    def add(self, token: str) -> None:
        with self._lock:
            self._calls[token] = self._calls.get(token, 0) + 1

    def read(self, token: str, forget: bool) -> int:
        with self._lock:
            return self._calls.pop(token, 0) if forget else self._calls.get(token, 0)


class CopiedRunner:
    """Runs a read in a ``copy_current_request_context`` worker: joined (its observation is the
    answer) or, with ``timing=late``, parked until ``/copied/result`` releases it."""

    def __init__(self, workers: Workers) -> None:
        self.workers = workers
        self.mailbox = Mailbox()

    def run(self, read: Callable[[], Any]) -> Any:
        late = request.args["timing"] == "late"
        response_received = self.workers.event()

        @copy_current_request_context
        def work() -> Any:
            if late:
                response_received.wait(JOIN_TIMEOUT)
            return read()

        worker = self.workers.spawn(work)
        if late:
            self.mailbox.park(request.args["token"], worker, response_received)
            return {"parked": True}
        return {"observed": worker.join(JOIN_TIMEOUT)}


def register(app: Flask, workers: Workers) -> None:
    runner = CopiedRunner(workers)
    _request_data_views(app, workers, runner)
    _shared_state_views(app, workers, runner)
    _call_views(app, workers)
    _async_call_views(app, workers)


def _request_data_views(app: Flask, workers: Workers, runner: CopiedRunner) -> None:
    """Form, raw body and uploaded files, read by a joined or a late worker."""
    run_copied = runner.run

    @app.get("/copied/result")
    def copied_result() -> Any:
        """Release a parked worker and report what it observed (or how it failed)."""
        try:
            return {"observed": runner.mailbox.collect(request.args["token"])}
        except Exception as exc:  # the worker's failure is the observation
            return {"observed": {"worker_raised": without_addresses(raised(exc))}}

    @app.post("/copied/request-data")
    def copied_request_data() -> Any:
        """The view stores the marker in the session; the worker reads args, the form (which
        nobody parsed before it) and the session."""
        session["s"] = request.args["marker"]
        return run_copied(
            lambda: {
                "args": observe(lambda: request.args["marker"]),
                "form": observe(lambda: request.form["field"]),
                "session": observe(lambda: session["s"]),
            }
        )

    @app.post("/copied/form-parsed")
    def copied_form_parsed() -> Any:
        """The view parses the form; the worker reads the same field."""
        parsed_in_view = request.form["field"]
        return {
            **run_copied(lambda: {"form": observe(lambda: request.form["field"])}),
            "view": parsed_in_view,
        }

    @app.post("/copied/unparsed-body")
    def copied_unparsed_body() -> Any:
        """A raw body the view never reads; the worker reads it."""
        return run_copied(lambda: {"body": observe(lambda: request.get_data(as_text=True))})

    @app.post("/copied/files")
    def copied_files() -> Any:
        """A multipart upload the view parses. ``view_after_worker``: a joined worker runs, then
        the view reads the file; ``worker_late``: the worker reads it after the response."""
        request.files["upload"]  # parse the upload in the view, as a view that checks it would
        if request.args["variant"] == "worker_late":
            return run_copied(lambda: {"file": observe(lambda: request.files["upload"].read().decode())})

        @copy_current_request_context
        def work() -> Any:
            return observe(lambda: request.args["marker"])

        in_worker = workers.spawn(work).join(JOIN_TIMEOUT)
        after_worker = observe(lambda: request.files["upload"].read().decode())
        return {"observed": {"worker": in_worker, "view_read": after_worker}}


def _shared_state_views(app: Flask, workers: Workers, runner: CopiedRunner) -> None:
    """Session writes, g, and teardown_request calls of a request with a copied-context worker."""
    run_copied = runner.run
    teardowns = TeardownCounter()

    @app.post("/copied/session-write")
    def copied_session_write() -> Any:
        """The worker writes ``session["w"]``; the response carries whatever the cookie holds."""
        marker = request.args["marker"]

        def write() -> Any:
            def assign() -> bool:
                session["w"] = marker
                return True

            return {"write": observe(assign)}

        return run_copied(write)

    @app.get("/copied/session-read")
    def copied_session_read() -> Any:
        return {"w": session.get("w")}

    @app.get("/copied/g")
    def copied_g() -> Any:
        """The view sets ``g`` before the worker, the worker sets ``g`` before the view reads it."""
        g.copied_view = request.args["marker"]

        @copy_current_request_context
        def work() -> Any:
            seen = observe(lambda: g.get("copied_view", "missing"))
            g.copied_worker = "from-worker"
            return seen

        in_worker = workers.spawn(work).join(JOIN_TIMEOUT)
        return {
            "observed": {
                "worker_sees_view_g": in_worker,
                "view_sees_worker_g": g.get("copied_worker", "missing"),
            }
        }

    @app.teardown_request
    def count_copied_teardown(exc: BaseException | None) -> None:
        if request.endpoint == "copied_teardown":
            teardowns.add(request.args["token"])

    @app.post("/copied/teardown")
    def copied_teardown() -> Any:
        """A late worker that only reads args; teardown_request calls are counted per token."""
        return run_copied(lambda: {"args": observe(lambda: request.args["marker"])})

    @app.get("/copied/teardown-count")
    def copied_teardown_count() -> Any:
        return {"calls": teardowns.read(request.args["token"], request.args.get("forget") == "1")}


def _call_views(app: Flask, workers: Workers) -> None:
    """The decorated function in an executor, called twice, and twice at once."""

    @app.get("/copied/executor")
    def copied_executor() -> Any:
        """The decorated function submitted to a ThreadPoolExecutor, result awaited in the view."""

        @copy_current_request_context
        def work() -> Any:
            return {"args": observe(lambda: request.args["marker"]), "session": observe(lambda: session["s"])}

        session["s"] = request.args["marker"]
        pool = ThreadPoolExecutor(max_workers=1)
        try:
            return {"observed": observe_stable(lambda: pool.submit(work).result(JOIN_TIMEOUT))}
        finally:
            pool.shutdown(wait=False)

    @app.get("/copied/called-twice")
    def copied_called_twice() -> Any:
        """The same decorated function run by one worker, then by another."""
        session["s"] = request.args["marker"]

        @copy_current_request_context
        def work() -> Any:
            return {"args": observe(lambda: request.args["marker"]), "session": observe(lambda: session["s"])}

        first = observe_stable(lambda: workers.spawn(work).join(JOIN_TIMEOUT))
        second = observe_stable(lambda: workers.spawn(work).join(JOIN_TIMEOUT))
        return {"observed": {"first": first, "second": second}}

    @app.get("/copied/concurrent")
    def copied_concurrent() -> Any:
        """The same decorated function in two workers at once, in a fixed order: the first pushes,
        the second pushes, the first returns (and pops), then the second returns."""
        first_in, second_in, first_go, first_out = (workers.event() for _ in range(4))
        waits: list[bool] = []

        @copy_current_request_context
        def work(entered: Any, go: Any) -> Any:
            entered.set()
            waits.append(go.wait(JOIN_TIMEOUT))
            return observe(lambda: request.args["marker"])

        first = workers.spawn(lambda: work(first_in, first_go))
        waits.append(first_in.wait(JOIN_TIMEOUT))
        second = workers.spawn(lambda: work(second_in, first_out))
        waits.append(second_in.wait(JOIN_TIMEOUT))
        first_go.set()
        first_result = observe_stable(lambda: first.join(JOIN_TIMEOUT))
        first_out.set()
        second_result = observe_stable(lambda: second.join(JOIN_TIMEOUT))
        return {"observed": {"first": first_result, "second": second_result}, "in_order": all(waits)}


def _async_call_views(app: Flask, workers: Workers) -> None:
    """An ``async def`` decorated function: called from a worker, awaited in an async view, and
    handed by an async view to ``loop.run_in_executor``."""

    async def read_async() -> Any:
        import asyncio

        await asyncio.sleep(0)
        return {"args": observe(lambda: request.args["marker"]), "session": observe(lambda: session["s"])}

    @app.get("/copied/async-worker")
    def copied_async_worker() -> Any:
        """An ``async def`` decorated function called from a worker spawned by a sync view."""
        session["s"] = request.args["marker"]
        work = copy_current_request_context(read_async)
        return {"observed": observe_stable(lambda: workers.spawn(work).join(JOIN_TIMEOUT))}

    @app.get("/copied/async-awaited")
    async def copied_async_awaited() -> Any:
        """An ``async def`` decorated function called and awaited inside an async view."""
        session["s"] = request.args["marker"]
        work = copy_current_request_context(read_async)
        try:
            result = work()
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # the observation, not an error of the view
            return {"observed": without_addresses(raised(exc))}
        return {"observed": {"value": result}}

    @app.get("/copied/async-run_in_executor")
    async def copied_async_in_executor() -> Any:
        """An ``async def`` decorated function handed to ``loop.run_in_executor`` by an async
        view: the sync wrapper runs (and drives the coroutine) in a pool thread, not the loop's."""
        import asyncio

        session["s"] = request.args["marker"]
        work = copy_current_request_context(read_async)
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, work)
            if inspect.isawaitable(result):  # Flask 2.0's wrapper returned the bare coroutine
                close = getattr(result, "close", None)
                if close is not None:
                    close()
                return {"observed": {"value": "a coroutine, never awaited"}}
        except Exception as exc:  # the observation, not an error of the view
            return {"observed": without_addresses(raised(exc))}
        return {"observed": {"value": result}}
