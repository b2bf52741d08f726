"""Isolation and concurrency checks: real overlap, nested contexts under interleaving, and
ContextVar state a view leaves behind for a later request."""

from __future__ import annotations

import email.message
import http.client
import json
import socket
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from matrix.client import CheckTimeout, LiveClient
from matrix.verdict import Verdict

APP_NAME = "apps"
OTHER_APP_NAME = "isolation_other"


class Answer:
    """One response: the JSON body, the headers (case-insensitive: ASGI lower-cases them) and the
    client's local port, which names the connection."""

    def __init__(self, body: Any, headers: email.message.Message, local_port: int) -> None:
        self.body = body
        self.headers = headers
        self.local_port = local_port


def _connection(live: LiveClient) -> http.client.HTTPConnection:
    host, port = live.base_url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=_remaining(live))


def _remaining(live: LiveClient) -> float:
    remaining = live.deadline - time.monotonic()
    if remaining <= 0:
        raise CheckTimeout(f"check exceeded its {live.timeout:g} s bound")
    return remaining


def quick_ack(sock: socket.socket) -> None:
    """Acknowledge the response's segments at once (Linux). A server that writes a streamed
    response's head and chunks separately, with Nagle on, holds each small write until the
    previous one is acknowledged, which the client's delayed ACK defers by up to 40 ms: 33
    keep-alive requests then take 1.4 s of waiting for nothing the check observes. The setting
    lapses as the kernel sees fit, so it is renewed before every response."""
    option = getattr(socket, "TCP_QUICKACK", None)
    if option is not None:
        sock.setsockopt(socket.IPPROTO_TCP, option, 1)


def _get(
    live: LiveClient,
    conn: http.client.HTTPConnection,
    path: str,
    params: Mapping[str, Any],
    close: bool = False,
) -> Answer:
    """GET on ``conn`` (kept open unless ``close``), bounded by the check's deadline."""
    conn.timeout = _remaining(live)
    if conn.sock is not None:
        conn.sock.settimeout(conn.timeout)
    headers = {"Connection": "close"} if close else {}
    try:
        conn.request("GET", f"{path}?{urllib.parse.urlencode(params)}", headers=headers)
        assert conn.sock is not None
        local_port = conn.sock.getsockname()[1]
        quick_ack(conn.sock)
        response = conn.getresponse()
        raw = response.read()
    except TimeoutError as exc:
        raise CheckTimeout(f"{path}: no answer within the check's {live.timeout:g} s bound") from exc
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        raise AssertionError(f"{path} answered {response.status} with non-JSON {raw[:200]!r}") from None
    return Answer(body, response.headers, local_port)


def _get_once(live: LiveClient, path: str, params: Mapping[str, Any]) -> Answer:
    """GET on a fresh connection that the client closes after the response."""
    conn = _connection(live)
    try:
        return _get(live, conn, path, params, close=True)
    finally:
        conn.close()


def test_overlap(live: LiveClient, verdict: Verdict) -> None:
    """8 requests that each wait (bounded) at a gate for the others are inside the server at
    once, run by more than one worker (thread or greenlet)."""
    size, wave = 8, uuid.uuid4().hex
    answers = live.concurrently(
        lambda _: live.json("/isolation/overlap", {"wave": wave, "size": size}), range(size)
    )
    in_flight = max(a["in_flight"] for a in answers)
    idents = {a["ident"] for a in answers}
    verdict.compare(
        {"overlapping": True, "single_worker": False},
        {"overlapping": in_flight > 1, "single_worker": len(idents) == 1},
        requests=size,
        in_flight=in_flight,
        distinct_workers=len(idents),
        gate_broken=any(a["gate_broken"] for a in answers),
    )


def _nested_ideal(i: int, marker: str) -> dict[str, Any]:
    """What request ``i`` should read in each phase, at every level of its recursion."""
    outer = {
        "current_app": APP_NAME,
        "request": marker,
        "g_before": marker,
        "g_view": marker,
        "g_inner": None,
        "session": marker,
    }
    if i % 2:  # another app's app context: its own current_app and g; the request is unchanged
        inside = {**outer, "current_app": OTHER_APP_NAME, "g_before": None, "g_view": None, "g_inner": marker}
    else:  # a test_request_context of the same app: its own request and session, the same g
        inside = {**outer, "request": f"{marker}-inner", "session": None}
    return {"before": outer, "inside": inside, "after": outer}


def test_isolation_nested(live: LiveClient, verdict: Verdict) -> None:
    """16 requests, entering each phase together and yielding at every level of a recursion,
    each read their own current_app, request, g and session before, inside and after a nested
    context (another app's app context, or a test_request_context), and after_request reads the
    g values set in before_request and in the view."""
    size, wave = 16, uuid.uuid4().hex

    def one(i: int) -> tuple[int, str, Answer]:
        marker = f"n{i}-{wave[:8]}"
        params = {"marker": marker, "wave": wave, "size": size, "i": i}
        return i, marker, _get_once(live, "/isolation/nested", params)

    answers = live.concurrently(one, range(size))
    mismatches = []
    for i, marker, answer in answers:
        ideal = _nested_ideal(i, marker)
        wrong = {
            phase: readings
            for phase, readings in answer.body.get("readings", {}).items()
            if any(r != {"value": ideal[phase]} for r in readings)
        }
        header = answer.headers.get("X-Isolation-G")
        if wrong or header != f"{marker}|{marker}" or set(answer.body.get("readings", {})) != set(ideal):
            mismatches.append({"i": i, "marker": marker, "wrong": wrong, "after_request_g": header})
    in_flight = max(answer.body.get("in_flight", 0) for _, _, answer in answers)
    verdict.compare(
        {"mismatches": 0},
        {"mismatches": len(mismatches)},
        requests=size,
        in_flight=in_flight,
        overlap=in_flight > 1,
        overlap_gate_broken=any(answer.body.get("gate_broken") for _, _, answer in answers),
        first_mismatch=mismatches[0] if mismatches else None,
    )


LEAK_REQUESTS = 33
"""Sequential requests per contextvar_leak check: more than any worker pool of the servers we run
(waitress and gunicorn gthread: 4 threads; a2wsgi: 10; asyncio's default executor, which
hypercorn's own WSGI support uses: min(32, CPUs + 4)), so on a server that runs requests on a
pool of reused workers at least two of them share a worker, whatever the scheduling."""


@pytest.mark.parametrize("variant", ["keepalive", "new_connection"])
def test_contextvar_leak(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """A ContextVar a view sets and never resets is not seen by any later request, whether those
    come on the same HTTP/1.1 keep-alive connection or each on a new one."""
    run = uuid.uuid4().hex[:8]
    tokens = [f"leak-{run}-{i}" for i in range(LEAK_REQUESTS)]
    if variant == "keepalive":
        conn = _connection(live)
        try:
            answers = [_get(live, conn, "/isolation/contextvar", {"token": t}) for t in tokens]
        finally:
            conn.close()
    else:
        answers = [_get_once(live, "/isolation/contextvar", {"token": t}) for t in tokens]
    # Only this view sets the variable: anything a request finds there an earlier request left,
    # in this check or (on a reused worker) in an earlier one.
    seen = [a.body["seen"] for a in answers]
    verdict.compare(
        {"any_request_saw_an_earlier_value": False},
        {"any_request_saw_an_earlier_value": any(s is not None for s in seen)},
        requests=LEAK_REQUESTS,
        saw_this_checks_values=sum(1 for s in seen if s is not None and s.startswith(f"leak-{run}-")),
        saw_earlier_checks_values=sum(1 for s in seen if s is not None and not s.startswith(f"leak-{run}-")),
        connections=len({a.local_port for a in answers}),
        # Equal idents name the same live worker, or one that reused a finished worker's ident.
        distinct_worker_idents=len({a.body["ident"] for a in answers}),
    )
