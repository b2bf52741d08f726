"""Teardown and cleanup checks: each callback once per request, raising callbacks, the exc they
see, reading request in teardown, an outer app context during dispatch, and callbacks that run
after the response."""

from __future__ import annotations

import uuid
from typing import Any

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict


def _token(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}"


def test_teardown(live: LiveClient, verdict: Verdict) -> None:
    """20 requests held together at a gate, half raising, each run teardown_request then
    teardown_appcontext exactly once."""
    size, wave = 20, uuid.uuid4().hex
    tokens = [f"{'raise' if i % 2 else 'ok'}-{i}-{wave[:8]}" for i in range(size)]
    statuses = live.concurrently(
        lambda t: live.request(
            "/teardown/once", {"token": t, "raise": int(t.startswith("raise")), "wave": wave, "size": size}
        )[0],
        tokens,
    )
    report = live.json("/teardown/once/calls", {"tokens": ",".join(tokens), "wave": wave, "size": size})
    calls = report["calls"]
    ideal = ["teardown_request", "teardown_appcontext"]
    wrong = {t: calls.get(t) for t in tokens if calls.get(t) != ideal}
    verdict.compare(
        {"wrong": 0},
        {"wrong": len(wrong)},
        statuses=sorted(set(statuses)),
        in_flight=report["in_flight"],
        overlap=report["in_flight"] > 1,
        overlap_gate_broken=report["gate_broken"],
        first_wrong=next(iter(wrong.items()), None),
    )


def test_teardown_raising_callback(live: LiveClient, verdict: Verdict) -> None:
    """When one teardown_request and one teardown_appcontext callback raise, every other callback
    of both kinds still runs, in reverse registration order, and the response arrives whole."""
    token = _token("raising")
    status, response = live.to_the_end("/teardown/raising-callback", {"token": token})
    calls = live.json("/teardown/calls", {"token": token})["calls"]
    order = ["registered_third", "registered_second_raises", "registered_first"]
    verdict.compare(
        {"teardown_request": order, "teardown_appcontext": order, "response": "complete"},
        {
            **{
                kind: [name for called, name in calls if called == kind]
                for kind in ("teardown_request", "teardown_appcontext")
            },
            "response": response,
        },
        status=status,
    )


def _observed_teardown(live: LiveClient, fail: str | None) -> tuple[int, dict[str, Any]]:
    token = _token("observe")
    params = {"token": token} if fail is None else {"token": token, "fail": fail}
    status, _ = live.request("/teardown/observed", params)
    calls = live.json("/teardown/calls", {"token": token})["calls"]
    by_kind: dict[str, Any] = {}
    for call in calls:
        by_kind[call.pop("callback")] = call
    for call in by_kind.values():
        for field in ("g", "request"):
            if call[field] == {"value": token}:
                call[field] = {"value": "<token>"}
    return status, by_kind


def test_teardown_on_view_error(live: LiveClient, verdict: Verdict) -> None:
    """A view error the app's error handler turns into a 500 reaches neither teardown callback as
    ``exc`` (Flask's documented contract); an error raised after the handled part (an
    after_this_request callback) reaches both; either way both callbacks still read ``g``."""
    handled_status, handled = _observed_teardown(live, "view")
    unhandled_status, unhandled = _observed_teardown(live, "after_request")
    verdict.compare(
        {
            "handled": {"teardown_request": None, "teardown_appcontext": None},
            "unhandled": {
                "teardown_request": "TeardownAreaError",
                "teardown_appcontext": "TeardownAreaError",
            },
            "g": {"value": "<token>"},
        },
        {
            "handled": {kind: call["exc"] for kind, call in handled.items()},
            "unhandled": {kind: call["exc"] for kind, call in unhandled.items()},
            "g": _single([call["g"] for call in [*handled.values(), *unhandled.values()]]),
        },
        statuses=[handled_status, unhandled_status],
    )


def _single(values: list[Any]) -> Any:
    """The one value all entries share, or all of them when they differ."""
    return values[0] if values and all(v == values[0] for v in values) else values


def test_request_after_teardown(live: LiveClient, verdict: Verdict) -> None:
    """Both teardown callbacks of a request, teardown_request and then teardown_appcontext, can
    still read that request's ``request.args``."""
    status, calls = _observed_teardown(live, None)
    verdict.compare(
        {"teardown_request": {"value": "<token>"}, "teardown_appcontext": {"value": "<token>"}},
        {kind: call["request"] for kind, call in calls.items()},
        status=status,
    )


def test_outer_app_context_reused(live: LiveClient, verdict: Verdict) -> None:
    """A request dispatched (``app.test_client()``) inside a worker's ``with app.app_context()``
    gets its own app context: it does not share the outer ``g``, and its teardown_appcontext runs
    when it ends, before the outer context's own."""
    body = live.json("/teardown/outer-context", {"token": _token("outer")})
    verdict.compare(
        {
            "inner_sees_outer_g": None,
            "outer_sees_inner_g": None,
            "teardowns_after_inner": 1,
            "teardowns_after_outer": 2,
        },
        body["observed"],
    )


def _closing(live: LiveClient, kind: str) -> list[Any]:
    """Send the request with ``Connection: close`` and read to the close, so the server has
    finished its per-request cleanup; one more round trip, then collect the logged calls."""
    token = _token(kind)
    answer = live.json_until_closed("/teardown/closing", {"token": token, "kind": kind}, {"k": "v"})
    assert answer == {"ok": True}
    assert live.json("/ready")["ok"] is True
    calls = live.json("/teardown/closing/calls", {"token": token})["calls"]
    return [{"request": {"value": "<token>"}} if c == {"request": {"value": token}} else c for c in calls]


def test_after_this_request(live: LiveClient, verdict: Verdict) -> None:
    """An after_this_request callback runs exactly once, with the request still readable."""
    calls = _closing(live, "after_this_request")
    verdict.compare({"calls": [{"request": {"value": "<token>"}}]}, {"calls": calls})


def test_call_on_close(live: LiveClient, verdict: Verdict) -> None:
    """A ``response.call_on_close`` callback runs exactly once after the response is sent."""
    calls = _closing(live, "call_on_close")
    verdict.compare({"calls": 1}, {"calls": len(calls)}, seen=calls)


def test_wsgi_close(live: LiveClient, verdict: Verdict) -> None:
    """The server calls ``close()`` on a raw response iterable exactly once (PEP 3333)."""
    calls = _closing(live, "wsgi_close")
    verdict.compare({"calls": 1}, {"calls": len(calls)}, seen=calls)
