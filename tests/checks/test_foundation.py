"""The foundation checks: isolation, workers, copied contexts, streaming, async views, teardown."""

from __future__ import annotations

import json
import uuid
from typing import Any

from matrix.client import LiveClient
from matrix.verdict import Verdict

APP_NAME = "apps"
ECHOED = ("query", "g", "session", "contextvar")


def test_isolation(live: LiveClient, verdict: Verdict) -> None:
    """100 overlapping requests each get back their own marker from query, g, session, ContextVar."""
    size, wave = 100, uuid.uuid4().hex

    def one(i: int) -> tuple[str, Any]:
        marker = f"m{i}-{wave[:8]}"
        return marker, live.json("/isolation", {"marker": marker, "wave": wave, "size": size})

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


def test_bare_worker(live: LiveClient, verdict: Verdict) -> None:
    """A worker spawned natively from a view, with no helper, reads current_app and request."""
    body = live.json("/bare-worker", {"marker": "bare"})
    verdict.compare(
        {"current_app": {"value": APP_NAME}, "request": {"value": "bare"}},
        body["observed"],
        worker=body["worker"],
    )


def test_app_context_worker(live: LiveClient, verdict: Verdict) -> None:
    """A native worker that pushes ``app.app_context()`` itself reads current_app."""
    body = live.json("/app-context-worker")
    verdict.compare({"current_app": {"value": APP_NAME}}, body["observed"], worker=body["worker"])


COPIED_IDEAL = {"args": {"value": "copied"}, "form": {"value": "posted"}, "session": {"value": "copied"}}


def test_copy_context_joined(live: LiveClient, verdict: Verdict) -> None:
    """A copy_current_request_context worker joined inside the view reads args, form and session."""
    body = live.json("/copy-context", {"timing": "joined", "marker": "copied"}, form={"field": "posted"})
    verdict.compare(COPIED_IDEAL, body["observed"])


def test_copy_context_late(live: LiveClient, verdict: Verdict) -> None:
    """A copied-context worker that runs only after the server has finished with the request
    (response read to the closed connection, one more round trip served) reads the same."""
    token = uuid.uuid4().hex
    parked = live.json_until_closed(
        "/copy-context", {"timing": "late", "marker": "copied", "token": token}, {"field": "posted"}
    )
    assert parked == {"parked": True}
    # One full round trip after the close: a server that finishes a request's cleanup off the
    # request's own thread (WsgiToAsgi closes the buffered body on the event loop) is done by now.
    assert live.json("/ready")["ok"] is True
    body = live.json("/copy-context/result", {"token": token})
    verdict.compare(COPIED_IDEAL, body["observed"])


def test_test_request_context(live: LiveClient, verdict: Verdict) -> None:
    """20 overlapping workers each push ``test_request_context('/?i=N')`` and read their own N."""
    body = live.json("/test-request-context", {"workers": 20, "wave": uuid.uuid4().hex})
    verdict.compare(
        {"wrong": {}},
        {"wrong": body["wrong"]},
        workers=20,
        in_flight=body["in_flight"],
        overlap=body["in_flight"] > 1,
    )


def _stream(live: LiveClient, verdict: Verdict, with_context: bool) -> None:
    chunks = live.json_lines("/stream", {"marker": "streamed", "with_context": int(with_context)})
    verdict.compare(
        {"chunks": [{"value": "streamed"}] * 3},
        {"chunks": chunks},
    )


def test_stream_with_context(live: LiveClient, verdict: Verdict) -> None:
    """A ``stream_with_context`` generator reads request.args in every chunk, yielding between."""
    _stream(live, verdict, with_context=True)


def test_stream_without_context(live: LiveClient, verdict: Verdict) -> None:
    """A plain generator returned from a view reads request.args in every chunk."""
    _stream(live, verdict, with_context=False)


def test_async_view(live: LiveClient, verdict: Verdict) -> None:
    """While one ``async def`` view is suspended in its event loop, 19 overlapping requests to
    the view each still get their own request.args, and so does the suspended one."""
    hold = uuid.uuid4().hex
    markers = [f"async-{i}" for i in range(19)]

    def held_request(_: None) -> Any:
        return live.json("/async-view", {"marker": "held", "hold": hold})

    def overlapping(_: None) -> list[Any]:
        live.json("/async-view/entered", {"hold": hold})
        answers = live.concurrently(lambda m: live.json("/async-view", {"marker": m}), markers)
        live.json("/async-view/release", {"hold": hold})
        return answers

    held, answers = live.concurrently(lambda step: step(None), [held_request, overlapping])
    ok = [m for m, a in zip(markers, answers, strict=True) if a.get("marker") == {"value": m}]
    wrong = {
        json.dumps(a.get("marker", a), sort_keys=True)
        for m, a in zip(markers, answers, strict=True)
        if m not in ok
    }
    verdict.compare(
        {"held": {"value": "held"}, "overlapping_ok": len(markers), "overlapping_wrong": []},
        {
            "held": held.get("marker"),
            "overlapping_ok": len(ok),
            "overlapping_wrong": [json.loads(w) for w in sorted(wrong)],
        },
        # How many of the 19 reached Flask while the held view was suspended in its loop.
        overlapped_by=held.get("overlapped_by"),
        overlap=(held.get("overlapped_by") or 0) > 0,
    )


def test_teardown(live: LiveClient, verdict: Verdict) -> None:
    """Over 20 overlapping requests, half raising, each runs teardown_request then
    teardown_appcontext exactly once."""
    tokens = [f"{'raise' if i % 2 else 'ok'}-{i}-{uuid.uuid4().hex[:8]}" for i in range(20)]
    statuses = live.concurrently(
        lambda t: live.request("/teardown", {"token": t, "raise": int(t.startswith("raise"))})[0],
        tokens,
    )
    calls = live.json("/teardown/log", {"tokens": ",".join(tokens)})
    ideal = ["teardown_request", "teardown_appcontext"]
    wrong = {t: calls.get(t) for t in tokens if calls.get(t) != ideal}
    verdict.compare(
        {"wrong": 0},
        {"wrong": len(wrong)},
        statuses=sorted(set(statuses)),
        first_wrong=next(iter(wrong.items()), None),
    )
