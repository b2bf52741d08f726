"""Signals: Flask's request and app-context signals under overlapping requests, and async receivers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

BLINKER = pytest.mark.applies(
    blinker=">=1.4",
    reason="signals need blinker, a required dependency only since Flask 2.3 (the axis installs "
    "it for older Flask); without it connect() raises 'Signalling support is unavailable'",
)
ASYNC_RECEIVERS = pytest.mark.applies(
    flask=">=2.3",
    reason="async signal receivers (signals sent with Flask's ensure_sync) arrived in Flask 2.3",
)


@contextmanager
def armed(live: LiveClient, receivers: str) -> Iterator[None]:
    """Connect one receiver set for this check only, and always disconnect it."""
    assert live.json("/signals/arm", {"set": receivers}) == {"armed": receivers}
    try:
        yield
    finally:
        live.json("/signals/disarm", {"set": receivers})


@BLINKER
def test_signals_request_lifecycle(live: LiveClient, verdict: Verdict) -> None:
    """Over 20 overlapping requests, a quarter failing, request_started, got_request_exception,
    request_finished and request_tearing_down each fire once per request, in order, with that
    request as `request` and its own response or exception."""
    size, wave = 20, uuid.uuid4().hex
    tokens = [f"sig{i}-{wave[:8]}" for i in range(size)]

    def one(token: str) -> tuple[int, Any]:
        params = {"sigtok": token, "wave": wave, "size": size, "raise": int(_raises(token, tokens))}
        status, body = live.request("/signals/lifecycle", params)
        return status, json.loads(body) if status == 200 else None

    with armed(live, "lifecycle"):
        answers = live.concurrently(one, tokens)
        files = live.json("/signals/lifecycle/report", {"tokens": ",".join(tokens)})
    wrong = {t: files.get(t) for t in tokens if files.get(t) != _lifecycle_ideal(t, _raises(t, tokens))}
    bodies = [body for _, body in answers if body is not None]
    verdict.compare(
        {"wrong": 0},
        {"wrong": len(wrong)},
        requests=size,
        statuses=sorted({status for status, _ in answers}),
        in_flight=max(b.get("in_flight", 0) for b in bodies),
        overlap=max(b.get("in_flight", 0) for b in bodies) > 1,
        overlap_gate_broken=any(b.get("gate_broken") for b in bodies),
        first_wrong=next(iter(wrong.items()), None),
    )


def _raises(token: str, tokens: list[str]) -> bool:
    return tokens.index(token) % 4 == 3


def _lifecycle_ideal(token: str, raises: bool) -> list[Any]:
    if not raises:
        return [
            ["request_started", True],
            ["request_finished", 200, token],
            ["request_tearing_down", None],
        ]
    error = {"raises": "SignalProbeReraisedError", "message": f"raised for {token}"}
    return [
        ["request_started", True],
        ["got_request_exception", error],
        ["request_finished", 500, None],
        ["request_tearing_down", error],
    ]


@BLINKER
def test_signals_appcontext(live: LiveClient, verdict: Verdict) -> None:
    """Over 20 overlapping requests, each request's g holds the value its own appcontext_pushed
    receiver set (distinct, set once), and appcontext_popped fires once in the request's own
    execution context."""
    size, wave = 20, uuid.uuid4().hex
    tokens = [f"ctx{i}-{wave[:8]}" for i in range(size)]
    with armed(live, "appcontext"):
        answers = live.concurrently(
            lambda t: live.json("/signals/appcontext", {"sigtok": t, "wave": wave, "size": size}), tokens
        )
    report = live.json("/signals/appcontext/report", {"tokens": ",".join(tokens)})
    seen = [report[t]["view_saw"] for t in tokens]
    wrong_pushed = [
        t for t in tokens if not isinstance(report[t]["view_saw"], int) or report[t]["pushed_calls"] != 1
    ]
    wrong_popped = [t for t in tokens if len(report[t]["popped"]) != 1]
    verdict.compare(
        {"wrong_pushed": 0, "shared_g_values": 0, "wrong_popped": 0},
        {
            "wrong_pushed": len(wrong_pushed),
            "shared_g_values": len(seen) - len({repr(s) for s in seen}),
            "wrong_popped": len(wrong_popped),
        },
        requests=size,
        in_flight=max(a.get("in_flight", 0) for a in answers),
        overlap=max(a.get("in_flight", 0) for a in answers) > 1,
        overlap_gate_broken=any(a.get("gate_broken") for a in answers),
        # What appcontext_popped receivers see of current_app (the context is already gone).
        popped_current_app=sorted({repr(p) for t in tokens for p in report[t]["popped"]}),
        first_wrong=next((report[t] for t in wrong_pushed + wrong_popped), None),
    )


@ASYNC_RECEIVERS
def test_signals_async_receiver(live: LiveClient, verdict: Verdict) -> None:
    """While one async request_finished receiver is suspended in its event loop, the async
    receivers of 5 overlapping requests each run and see their own request, and so does it."""
    size, wave = 5, uuid.uuid4().hex
    # Fixed markers (unique among the checks; the table shows them, a rerun must not change them).
    held = "held"
    tokens = [f"overlapping-{i}" for i in range(size)]

    def params(token: str, role: str) -> dict[str, Any]:
        return {"sigasync": token, "role": role, "wave": wave, "size": size}

    with armed(live, "async"):
        # The held request goes first, on the wire before the others connect: a server whose pool
        # is smaller than the wave starts it before the overlapping ones fill the pool and wait
        # for it, whatever order the client's threads happen to run in.
        held_answer = live.send("/signals/async", params(held, "held"))
        overlapping = live.concurrently(
            lambda t: live.request("/signals/async", params(t, "overlap"))[0], tokens
        )
        statuses = [held_answer(), *overlapping]
        report = live.json("/signals/async/report", {"wave": wave, "tokens": ",".join([held, *tokens])})
    ok = [t for t in tokens if report["seen"][t] == {"value": t} and report["errors"][t] is None]
    errors = {repr(report["errors"][t]): report["errors"][t] for t in tokens if report["errors"][t]}
    verdict.compare(
        {"held": {"value": held}, "overlapping_ok": size, "overlapping_errors": []},
        {
            "held": report["seen"][held],
            "overlapping_ok": len(ok),
            "overlapping_errors": [errors[k] for k in sorted(errors)],
        },
        statuses=statuses,
        # How many overlapping requests were torn down while the held receiver was suspended.
        overlapped_by=report["overlapped_by"],
        # A held receiver that never saw the others arrive (its bounded wait broke) proves the
        # server ran them one at a time, whatever the teardown count says about their order.
        overlap=(report["overlapped_by"] or 0) > 0 and not report["entered_broken"],
        # At least: the held request, and one torn down while it was held.
        in_flight=2 if (report["overlapped_by"] or 0) > 0 and not report["entered_broken"] else 1,
        entered_wait_broken=report["entered_broken"],
    )
