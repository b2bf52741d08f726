"""Werkzeug's Local, LocalStack, LocalProxy and LocalManager across concurrent workers.

Workers are the model's native ones (``workers.spawn``) or ``threading.Thread`` as the app
imports it (``ThreadWorker``; under gevent and eventlet, monkey-patched into a green thread).
Every view releases what it stored in its own context before returning, so nothing outlives a
request even where a server reuses one context for several requests.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from werkzeug.local import Local, LocalManager, LocalStack, release_local

from apps.gate import Gate, GateRegistry
from apps.observe import observe
from apps.shared import GATE_TIMEOUT, JOIN_TIMEOUT, yield_a_few
from matrix.models.base import ThreadWorker, Worker, Workers

ISOLATED = Local()
STACKED: LocalStack[str] = LocalStack()
PROXIED = Local()
MANAGED = Local()
MANAGED_STACK: LocalStack[str] = LocalStack()
MANAGER = LocalManager([MANAGED, MANAGED_STACK])
UPPER = operator.methodcaller("upper")
"""An attribute lookup through the proxy, as user code does (``proxy.upper()``)."""


def _spawner(workers: Workers, variant: str) -> Callable[[Callable[[], Any]], Worker]:
    return {"native": workers.spawn, "threading": ThreadWorker}[variant]


def _start_response(
    status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
) -> Callable[[bytes], object]:
    return lambda data: None


def register(app: Flask, workers: Workers) -> None:
    gates = GateRegistry(workers)
    _local_views(app, workers, gates)
    _localstack_views(app, workers, gates)
    _localproxy_views(app, workers)
    _localmanager_views(app, workers, gates)


def _wave_gate(gates: GateRegistry) -> Gate:
    return gates.get(request.args["wave"], int(request.args["workers"]), GATE_TIMEOUT)


def _local_views(app: Flask, workers: Workers, gates: GateRegistry) -> None:
    @app.get("/locals/local-isolation")
    def locals_local_isolation() -> Any:
        """Each worker reads the Local first (what it inherited), sets its own value, overlaps
        the others at a gate and reads it back; the view's own value is read after the joins."""
        count, gate = int(request.args["workers"]), _wave_gate(gates)
        ISOLATED.owner = "view"

        def work(i: int) -> Callable[[], Any]:
            def run() -> Any:
                inherited = observe(lambda: ISOLATED.owner)
                ISOLATED.owner = f"w{i}"
                gate.enter()
                try:
                    yield_a_few(workers)
                    own = observe(lambda: ISOLATED.owner)
                finally:
                    gate.leave()
                release_local(ISOLATED)
                return {"inherited": inherited, "own": own}

            return run

        try:
            spawn = _spawner(workers, request.args["variant"])
            seen = [w.join(JOIN_TIMEOUT) for w in [spawn(work(i)) for i in range(count)]]
            parent_after = observe(lambda: ISOLATED.owner)
        finally:
            release_local(ISOLATED)
        return {"seen": seen, "parent_after": parent_after, **gate.report()}


def _localstack_views(app: Flask, workers: Workers, gates: GateRegistry) -> None:
    @app.get("/locals/localstack-isolation")
    def locals_localstack_isolation() -> Any:
        """Each worker reads the stack's top first, pushes two items of its own, overlaps the
        others at a gate, then pops back down, reading the top at every step."""
        count, gate = int(request.args["workers"]), _wave_gate(gates)
        STACKED.push("view")

        def work(i: int) -> Callable[[], Any]:
            def run() -> Any:
                inherited = observe(lambda: STACKED.top)
                STACKED.push(f"w{i}-a")
                gate.enter()
                try:
                    STACKED.push(f"w{i}-b")
                    yield_a_few(workers)
                    tops = [observe(lambda: STACKED.top)]
                    popped = [observe(STACKED.pop)]
                    tops.append(observe(lambda: STACKED.top))
                    popped.append(observe(STACKED.pop))
                    tops.append(observe(lambda: STACKED.top))
                finally:
                    gate.leave()
                return {"inherited": inherited, "tops": tops, "popped": popped}

            return run

        try:
            spawn = _spawner(workers, request.args["variant"])
            seen = [w.join(JOIN_TIMEOUT) for w in [spawn(work(i)) for i in range(count)]]
            parent_after = observe(lambda: STACKED.top)
        finally:
            release_local(STACKED)
        return {"seen": seen, "parent_after": parent_after, **gate.report()}


def _localproxy_views(app: Flask, workers: Workers) -> None:
    @app.get("/locals/localproxy-unbound")
    def locals_localproxy_unbound() -> Any:
        """A LocalProxy to a Local attribute, and a LocalStack's proxy, read where they are bound
        (this view) and in a native worker, where nothing is bound."""
        local_proxy = PROXIED("owner")
        stack_proxy = STACKED()
        PROXIED.owner = "bound"
        STACKED.push("bound")

        def work() -> Any:
            return {
                "local": observe(lambda: UPPER(local_proxy)),
                "stack": observe(lambda: UPPER(stack_proxy)),
                "local_repr": observe(lambda: repr(local_proxy)),
            }

        try:
            in_view = {
                "local": observe(lambda: UPPER(local_proxy)),
                "stack": observe(lambda: UPPER(stack_proxy)),
            }
            in_worker = workers.spawn(work).join(JOIN_TIMEOUT)
        finally:
            release_local(PROXIED)
            release_local(STACKED)
        return {"in_view": in_view, "in_worker": in_worker}


def _localmanager_views(app: Flask, workers: Workers, gates: GateRegistry) -> None:
    @app.get("/locals/localmanager-cleanup")
    def locals_localmanager_cleanup() -> Any:
        """Cleaners run a WSGI app wrapped by ``LocalManager.make_middleware`` (cleanup when the
        response iterable closes); bystanders only store values. All meet at a gate after the
        cleaners' cleanup; bystanders then read theirs (untouched) and call ``cleanup()``."""
        count, gate = int(request.args["workers"]), _wave_gate(gates)
        MANAGED.owner = "view"

        def inner_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            MANAGED.inner = environ["matrix.worker"]
            MANAGED_STACK.push(environ["matrix.worker"])
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        middleware = MANAGER.make_middleware(inner_app)

        def snapshot() -> dict[str, Any]:
            return {
                "owner": observe(lambda: MANAGED.owner),
                "inner": observe(lambda: MANAGED.inner),
                "top": observe(lambda: MANAGED_STACK.top),
            }

        def cleaner(i: int) -> Any:
            MANAGED.owner = f"c{i}"
            iterable = middleware({"matrix.worker": f"c{i}"}, _start_response)
            try:
                body = b"".join(iterable)
                before_close = snapshot()
            finally:
                iterable.close()  # type: ignore[attr-defined]
            gate.enter()
            gate.leave()
            return {"body": body.decode(), "before_close": before_close, "after_close": snapshot()}

        def bystander(i: int) -> Any:
            MANAGED.owner = f"b{i}"
            MANAGED_STACK.push(f"b{i}")
            gate.enter()
            gate.leave()
            yield_a_few(workers)
            after_others = snapshot()
            MANAGER.cleanup()
            return {"after_others": after_others, "after_cleanup": snapshot()}

        def work(i: int) -> Callable[[], Any]:
            return (lambda: cleaner(i)) if i % 2 == 0 else (lambda: bystander(i))

        try:
            seen = [w.join(JOIN_TIMEOUT) for w in [workers.spawn(work(i)) for i in range(count)]]
            parent_after = snapshot()
        finally:
            MANAGER.cleanup()
        return {"seen": seen, "parent_after": parent_after, **gate.report()}
