"""Isolation and concurrency checks: every request's own data under heavy overlap, real overlap,
nested contexts under interleaving, and ContextVar state a view leaves behind for a later request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from matrix.client import Answer, LiveClient
from matrix.plugin.verdict import Verdict

APP_NAME = "apps"
OTHER_APP_NAME = "isolation_other"


ECHOED = ("query", "g", "session", "contextvar")


def test_isolation(live: LiveClient, verdict: Verdict) -> None:
    """100 overlapping requests each get back their own marker from query, g, session, ContextVar."""
    size, wave = 100, uuid.uuid4().hex

    def one(i: int) -> tuple[str, Any]:
        marker = f"m{i}-{wave[:8]}"
        return marker, live.json("/isolation/markers", {"marker": marker, "wave": wave, "size": size})

    answers = live.concurrently(one, range(size))
    mismatched = [body for marker, body in answers if body.get("echo") != dict.fromkeys(ECHOED, marker)]
    in_flight = max(body.get("in_flight", 0) for _, body in answers)
    verdict.compare(
        {"mismatches": 0},
        {"mismatches": len(mismatched)},
        requests=size,
        in_flight=in_flight,
        overlap=in_flight > 1,
        overlap_gate_broken=any(body.get("gate_broken") for _, body in answers),
        first_mismatch=mismatched[0] if mismatched else None,
    )


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
        overlap=in_flight > 1,
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
        return i, marker, live.get_once("/isolation/nested", params)

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


def test_nested_app_context(live: LiveClient, verdict: Verdict) -> None:
    """A ``with app.app_context()`` nested in a view gets a fresh g (not the view's) while the
    request stays readable, runs teardown_appcontext once when it exits, and leaves the view's g
    as it was (the inner g's writes gone with it)."""
    marker = "nested-app-context"
    body = live.json("/isolation/nested-app-context", {"token": uuid.uuid4().hex, "marker": marker})
    verdict.compare(
        {
            "inner": {
                "view_g": {"value": None},
                "request": {"value": marker},
                "current_app": {"value": APP_NAME},
            },
            "teardowns_at_inner_exit": 1,
            "after": {"view_g": marker, "inner_g": None},
        },
        body,
    )


LEAK_REQUESTS = 33
"""Sequential requests per contextvar_leak check: more than any worker pool of the servers we run
(waitress and gunicorn gthread: 4 threads; a2wsgi: 10; asyncio's default executor, which
hypercorn's own WSGI support uses: min(32, CPUs + 4)), so on a server that runs requests on a
pool of reused workers at least two of them share a worker, whatever the scheduling."""


@pytest.mark.parametrize(
    "variant", ["keepalive", "new_connection", "async_keepalive", "async_new_connection"]
)
def test_contextvar_leak(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """A ContextVar a view (sync, or ``async def``) sets and never resets is not seen by any later
    request, whether those come on the same HTTP/1.1 keep-alive connection or each on a new one."""
    run = uuid.uuid4().hex[:8]
    tokens = [f"leak-{run}-{i}" for i in range(LEAK_REQUESTS)]
    path = "/isolation/contextvar-async" if variant.startswith("async_") else "/isolation/contextvar"
    answers: list[Answer]
    if variant.endswith("keepalive"):
        with live.keep_alive() as get:
            answers = [get(path, {"token": t}) for t in tokens]
    else:
        answers = [live.get_once(path, {"token": t}) for t in tokens]
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
