"""Streaming: a generator's reads of ``request`` with and without ``stream_with_context``, when
teardown runs around a ``stream_with_context`` body, async views, disconnects.

Every streamed response is wrapped in ``logged_body``, which records what its body raised and
marks the token finished once the body (and everything ``stream_with_context`` does when it ends
or is closed) is over; ``/streaming/log`` waits for that mark, bounded, then reports the events.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, Response, g, has_app_context, has_request_context, request, stream_with_context

from apps.observe import observe, raised, without_addresses
from apps.shared import GATE_TIMEOUT, JOIN_TIMEOUT, yield_a_few
from matrix.models.base import Event, Workers

PADDING = 8192
"""Bytes per chunk in the disconnect view: above eventlet.wsgi's 4096-byte write buffering, so
chunk 1 reaches the client on its own."""
CHUNKS_AFTER_RELEASE = 200
"""Chunks the disconnect view tries to send after the client left; a server that notices the
closed socket stops long before."""


class StreamLog:
    """Events per token (chunks, generator end, teardown calls), and events to wait on."""

    def __init__(self, workers: Workers) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._events: dict[str, list[str]] = {}
        self._flags: dict[tuple[str, str], Event] = {}
        self._workers_of: dict[str, int] = {}

    def note_worker(self, token: str) -> None:
        """Note the calling worker (the server's thread or greenlet) as the token's."""
        with self._lock:
            self._workers_of[token] = threading.get_ident()

    def worker_of(self, token: str) -> int | None:
        with self._lock:
            return self._workers_of.pop(token, None)

    def add(self, token: str, event: str) -> None:
        with self._lock:
            self._events.setdefault(token, []).append(event)

    def flag(self, token: str, name: str) -> Event:
        with self._lock:
            key = (token, name)
            if key not in self._flags:
                self._flags[key] = self._workers.event()
            return self._flags[key]

    def logged_body(self, token: str, body: Iterator[str]) -> Iterator[str]:
        """Iterate ``body``; record what it raises; mark the token finished when all is over
        (closing this generator closes ``body`` first, through ``yield from``)."""
        try:
            yield from body
        except Exception as exc:
            self.add(token, "raised " + json.dumps(without_addresses(raised(exc))))
        finally:
            self.flag(token, "finished").set()

    def take(self, token: str, timeout: float) -> dict[str, Any]:
        """Wait (bounded) until the token's body is over, then hand out and forget its events."""
        finished = self.flag(token, "finished").wait(timeout)
        with self._lock:
            events = self._events.pop(token, [])
            for key in [k for k in self._flags if k[0] == token]:
                del self._flags[key]
        return {"events": events, "finished": finished}


class EscapeLog:
    """What escaped Flask's own ``wsgi_app`` for the async stream, and on which worker, per token.

    ``observe_escaping`` wraps ``wsgi_app``: for the async stream's path it notes the worker (the
    server's thread or greenlet: the async view itself runs in asgiref's loop thread) and any
    exception escaping ``wsgi_app``, then re-raises it, so the server handles the error and holds
    its traceback exactly as it would without the wrapper. Catching it here instead would drop
    the traceback at once and, with it, the failed request's leftover generator, whose cleanup
    then runs on this thread and tidies up what the server would have left behind: a cell would
    show the wrapper, not the server.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, Any]] = {}

    def observe_escaping(
        self, wsgi_app: Callable[..., Iterable[bytes]], path: str
    ) -> Callable[..., Iterable[bytes]]:
        def observed_wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") != path:
                return wsgi_app(environ, start_response)
            token = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("token", [""])[0]
            seen: dict[str, Any] = {
                "worker": threading.get_ident(),
                "escaped_wsgi_app": None,
                "left_pushed": None,
            }
            with self._lock:
                self._seen[token] = seen
            try:
                return wsgi_app(environ, start_response)
            except Exception as exc:
                seen["escaped_wsgi_app"] = without_addresses(raised(exc))
                # While the error is in flight its traceback keeps the failed request's objects
                # alive, so what is still pushed here is what Flask left, not what a garbage
                # collection has since undone.
                seen["left_pushed"] = _pushed()
                raise

        return observed_wsgi_app

    def take(self, token: str) -> dict[str, Any]:
        with self._lock:
            return self._seen.pop(token, {"worker": None, "escaped_wsgi_app": None, "left_pushed": None})


def _pushed() -> dict[str, bool]:
    """Which Flask contexts are pushed in the calling (server's) context."""
    return {"app_context": has_app_context(), "request_context": has_request_context()}


def register(app: Flask, workers: Workers) -> None:
    log = StreamLog(workers)
    escapes = EscapeLog()
    app.wsgi_app = escapes.observe_escaping(app.wsgi_app, "/streaming/async")  # type: ignore[method-assign]
    _teardown_hooks(app, log)
    _aftermath_views(app, log, escapes)
    _plain_views(app, workers)
    _order_views(app, workers, log)
    _disconnect_views(app, workers, log)


def _teardown_hooks(app: Flask, log: StreamLog) -> None:
    """teardown_request and teardown_appcontext calls, logged for requests that set a token."""

    def log_teardown(name: str) -> None:
        token = g.get("stream_token") if has_app_context() else None
        if token is not None:
            log.add(token, name)

    @app.teardown_request
    def stream_teardown_request(exc: BaseException | None) -> None:
        log_teardown("teardown_request")

    @app.teardown_appcontext
    def stream_teardown_appcontext(exc: BaseException | None) -> None:
        log_teardown("teardown_appcontext")


def _aftermath_views(app: Flask, log: StreamLog, escapes: EscapeLog) -> None:
    """What escaped the async stream's ``wsgi_app``, and the requests that come after it: each
    notes its worker, whether it found the failed request's ``g`` (an app context left pushed on
    its worker), and, through the teardown log, whether its own teardown_appcontext ran."""

    @app.get("/streaming/async/escaped")
    def streaming_async_escaped() -> Any:
        return escapes.take(request.args["token"])

    @app.get("/streaming/after")
    def streaming_after() -> Any:
        found = g.get("stream_token")
        g.stream_token = request.args["token"]
        return {"worker": threading.get_ident(), "found_g_of": found}

    @app.get("/streaming/after/report")
    def streaming_after_report() -> Any:
        return {token: log.take(token, 0)["events"] for token in request.args["tokens"].split(",")}


def _plain_views(app: Flask, workers: Workers) -> None:
    @app.get("/streaming/plain")
    def streaming_plain() -> Any:
        """Three NDJSON chunks, each what the generator saw of ``request.args`` at that point,
        through ``stream_with_context`` or (``with_context=0``) a bare generator."""

        def generate() -> Iterator[str]:
            for _ in range(3):
                yield_a_few(workers, 2)
                yield json.dumps(observe(lambda: request.args["marker"])) + "\n"

        chunks: Iterator[str] = generate()
        if request.args["with_context"] == "1":
            chunks = stream_with_context(chunks)
        return Response(chunks, mimetype="application/x-ndjson")


def _order_views(app: Flask, workers: Workers, log: StreamLog) -> None:
    """Three chunks through stream_with_context, from a sync and from an async view."""

    def three_chunks(token: str) -> Iterator[str]:
        try:
            for i in range(1, 4):
                yield_a_few(workers, 1)
                log.add(token, f"chunk {i}")
                yield json.dumps(without_addresses(observe(lambda: request.args["marker"]))) + "\n"
        finally:
            log.add(token, "generator finally")

    @app.get("/streaming/order")
    def streaming_order() -> Any:
        """Three chunks through stream_with_context; the log shows where teardown ran."""
        token = g.stream_token = request.args["token"]
        log.add(token, "view")
        body = stream_with_context(three_chunks(token))
        return Response(log.logged_body(token, body), mimetype="application/x-ndjson")

    @app.get("/streaming/async")
    async def streaming_async() -> Any:
        """The same stream, returned from an ``async def`` view."""
        token = g.stream_token = request.args["token"]
        log.add(token, "view")
        body = stream_with_context(three_chunks(token))
        return Response(log.logged_body(token, body), mimetype="application/x-ndjson")

    @app.get("/streaming/log")
    def streaming_log() -> Any:
        """The token's events once its body is over; ``wait=0`` for a body that never ran."""
        return log.take(request.args["token"], JOIN_TIMEOUT if request.args.get("wait") != "0" else 0)


def _disconnect_views(app: Flask, workers: Workers, log: StreamLog) -> None:
    """A stream whose client leaves after chunk 1."""

    @app.get("/streaming/disconnect")
    def streaming_disconnect() -> Any:
        """Chunk 1, then wait (bounded) until the client has gone and released us, then try to
        send many more chunks."""
        token = g.stream_token = request.args["token"]
        log.note_worker(token)
        release = log.flag(token, "release")

        def generate() -> Iterator[str]:
            try:
                yield json.dumps({"chunk": 1}).ljust(PADDING) + "\n"
                log.add(token, "released" if release.wait(GATE_TIMEOUT) else "release timed out")
                for _ in range(CHUNKS_AFTER_RELEASE):
                    yield_a_few(workers, 1)
                    yield "x" * PADDING + "\n"
                log.add(token, "generator exhausted")
            except GeneratorExit:
                log.add(token, "GeneratorExit")
                raise
            finally:
                log.add(token, "generator finally")

        return Response(log.logged_body(token, stream_with_context(generate())), mimetype="text/plain")

    @app.get("/streaming/disconnect/release")
    def streaming_disconnect_release() -> Any:
        token = request.args["token"]
        log.flag(token, "release").set()
        return {**log.take(token, JOIN_TIMEOUT), "worker": log.worker_of(token)}
