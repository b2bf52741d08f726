"""Streaming: a generator's reads of request with and without stream_with_context, teardown
around a stream_with_context body, async views, a client that leaves."""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any

import pytest

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

MARKER = "streamed"
ORDER_IDEAL = [
    "view",
    "chunk 1",
    "chunk 2",
    "chunk 3",
    "generator finally",
    "teardown_request",
    "teardown_appcontext",
]


def _plain(live: LiveClient, verdict: Verdict, with_context: bool) -> None:
    chunks = live.json_lines("/streaming/plain", {"marker": MARKER, "with_context": int(with_context)})
    verdict.compare({"chunks": [{"value": MARKER}] * 3}, {"chunks": chunks})


def test_stream_with_context(live: LiveClient, verdict: Verdict) -> None:
    """A ``stream_with_context`` generator reads request.args in every chunk, yielding between."""
    _plain(live, verdict, with_context=True)


def test_stream_without_context(live: LiveClient, verdict: Verdict) -> None:
    """A plain generator returned from a view reads request.args in every chunk."""
    _plain(live, verdict, with_context=False)


def stream(live: LiveClient, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a three-chunk stream, then its server-side log (teardowns, errors). A 500 is the
    JSON observation of what escaped Flask's wsgi_app; the body then never ran."""
    token = uuid.uuid4().hex
    status, body = live.request(path, {"token": token, "marker": MARKER})
    if status != 200:
        log = live.json("/streaming/log", {"token": token, "wait": 0})
        return {"status": status, "chunks": [], **json.loads(body)}, log
    chunks = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
    # A 200 whose body is the wrapper's error (a server that had already sent the headers): the
    # error escaped wsgi_app, so Flask's body never ran and will never finish; don't wait for it.
    escaped = any(isinstance(chunk, dict) and "escaped_wsgi_app" in chunk for chunk in chunks)
    log = live.json("/streaming/log", {"token": token, **({"wait": 0} if escaped else {})})
    return {"status": status, "chunks": chunks, "escaped_wsgi_app": None}, log


def test_stream_teardown_order(live: LiveClient, verdict: Verdict) -> None:
    """With stream_with_context, teardown_request then teardown_appcontext run once each, after
    the generator's last chunk and its ``finally``."""
    response, log = stream(live, "/streaming/order")
    verdict.compare(
        {"chunks": [{"value": MARKER}] * 3, "events": ORDER_IDEAL},
        {"chunks": response["chunks"], "events": log["events"]},
        status=response["status"],
        finished=log["finished"],
    )


def stream_async(live: LiveClient) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The three-chunk stream from the async view, as the server answers it (a failure is its own
    error response); what escaped Flask's wsgi_app, on which worker, and what Flask left pushed
    there; then the body's log."""
    token = uuid.uuid4().hex
    status: int | str
    try:
        status, body = live.request("/streaming/async", {"token": token, "marker": MARKER})
    except (http.client.HTTPException, ConnectionError) as exc:  # a server that cut the response short
        status, body = type(exc).__name__, b""
    escaped = live.json("/streaming/async/escaped", {"token": token})
    lines = [line for line in body.decode(errors="replace").splitlines() if line.strip()]
    chunks = [json.loads(line) for line in lines] if status == 200 else []
    # Flask's body never runs when the error escaped wsgi_app: don't wait for it to finish.
    log = live.json(
        "/streaming/log", {"token": token, **({"wait": 0} if escaped["escaped_wsgi_app"] else {})}
    )
    return (
        {"status": status, "chunks": chunks, "escaped_wsgi_app": escaped["escaped_wsgi_app"]},
        escaped,
        log,
    )


@pytest.mark.restarts_server(reason="a failed async stream may leave its contexts on a server worker")
def test_stream_async_view(live: LiveClient, verdict: Verdict) -> None:
    """A stream_with_context generator returned from an ``async def`` view reads request.args in
    every chunk, and the body ends without an error."""
    response, _, log = stream_async(live)
    errors = [e for e in log["events"] if e.startswith("raised ")]
    verdict.compare(
        {"status": 200, "chunks": [{"value": MARKER}] * 3, "escaped_wsgi_app": None, "errors": []},
        {**response, "errors": [json.loads(e.removeprefix("raised ")) for e in errors]},
        events=log["events"],
        finished=log["finished"],
    )


ON_THE_FAILED_WORKER = 3
"""Later requests wanted on the worker that ran the async stream: requests are sent, each on a new
connection, until this many ran there (or ``LATER_BOUND`` were sent), so a pool server's
scheduling cannot decide whether the check looks at that worker at all."""
LATER_BOUND = 40
"""At most this many later requests: a server whose workers do not outlive a request (a thread or
greenlet per connection) never runs one on the failed request's worker."""


@pytest.mark.restarts_server(reason="a failed async stream may leave its contexts on a server worker")
def test_stream_async_view_aftermath(live: LiveClient, verdict: Verdict) -> None:
    """When the async view's stream fails in Flask's wsgi_app, Flask has popped every context it
    pushed in the server's worker before the error reaches the server. What later requests on that
    worker then meet (sent, each on a new connection, until 3 ran there where workers are reused)
    is recorded: it depends on where the failed request's leftovers are finally collected, so it
    is detail, not verdict."""
    response, escaped, _ = stream_async(live)
    later = requests_after(live, escaped["worker"])
    left = escaped["left_pushed"] or {}
    verdict.compare(
        {"contexts_left_pushed_by_the_error": False},
        {"contexts_left_pushed_by_the_error": any(left.values())},
        left_pushed=escaped["left_pushed"],
        stream_status=response["status"],
        escaped_wsgi_app=response["escaped_wsgi_app"],
        **later,
    )


def requests_after(live: LiveClient, worker: int | None) -> dict[str, int]:
    """Requests sent, each on a new connection, until ``ON_THE_FAILED_WORKER`` of them ran on
    ``worker`` (or ``LATER_BOUND`` were sent): how many went, how many ran there, how many found
    an earlier request's ``g`` and how many had no teardown_appcontext of their own."""
    run = uuid.uuid4().hex[:8]
    tokens: list[str] = []
    answers: list[Any] = []
    while len(tokens) < LATER_BOUND and sum(a["worker"] == worker for a in answers) < ON_THE_FAILED_WORKER:
        tokens.append(f"after-{run}-{len(tokens)}")
        answers.append(live.get_once("/streaming/after", {"token": tokens[-1]}).body)
    teardowns = live.json("/streaming/after/report", {"tokens": ",".join(tokens)})
    return {
        "later_requests": len(tokens),
        "on_the_failed_worker": sum(1 for a in answers if a["worker"] == worker),
        "found_an_earlier_g": sum(1 for a in answers if a["found_g_of"] is not None),
        "without_teardown_appcontext": sum(1 for t in tokens if "teardown_appcontext" not in teardowns[t]),
    }


def test_stream_client_disconnect(live: LiveClient, verdict: Verdict) -> None:
    """When the client leaves after chunk 1, the server stops the stream: the generator is closed
    (GeneratorExit) instead of run to its end, and teardown_request runs after its ``finally``."""
    token = uuid.uuid4().hex
    received = live.first_chunk_then_leave("/streaming/disconnect", {"token": token}, b'{"chunk": 1}')
    log = live.json("/streaming/disconnect/release", {"token": token})
    events: list[str] = log["events"]
    after_finally = events[events.index("generator finally") :] if "generator finally" in events else []
    verdict.compare(
        {"generator_closed": True, "teardown_request_after_finally": True},
        {
            "generator_closed": "GeneratorExit" in events and "generator exhausted" not in events,
            "teardown_request_after_finally": "teardown_request" in after_finally,
        },
        events=events,
        finished=log["finished"],
        first_chunk_received=b'{"chunk": 1}' in received,
    )


def test_stream_disconnect_aftermath(live: LiveClient, verdict: Verdict) -> None:
    """After a client left a stream_with_context response mid-stream and the server is done with
    its body, later requests (sent, each on a new connection, until 3 ran on the stream's worker
    where workers are reused) each get their own app context, not the stream's ``g``, and their
    own teardown_appcontext (Flask #6123: a generator the server abandons leaves its context
    current on a pool thread)."""
    token = uuid.uuid4().hex
    live.first_chunk_then_leave("/streaming/disconnect", {"token": token}, b'{"chunk": 1}')
    log = live.json("/streaming/disconnect/release", {"token": token})
    later = requests_after(live, log["worker"])
    verdict.compare(
        {"found_an_earlier_g": 0, "without_teardown_appcontext": 0},
        {key: later[key] for key in ("found_an_earlier_g", "without_teardown_appcontext")},
        stream_events=log["events"],
        stream_finished=log["finished"],
        later_requests=later["later_requests"],
        on_the_streams_worker=later["on_the_failed_worker"],
    )
