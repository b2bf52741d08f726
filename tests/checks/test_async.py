"""Async: ``async def`` views while another is suspended, overlapping ones, async hooks while
another async view is suspended, a task that outlives its view, and Flask's gevent
``async_to_sync`` recipe."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

T = TypeVar("T")
APP_NAME = "apps"
WAVE_SIZE = 10  # apps.areas.async_.WAVE_SIZE


def echo_of(marker: str, app: str = APP_NAME) -> dict[str, Any]:
    """What a request's contexts should say about its own marker."""
    return {
        "request": {"value": marker},
        "current_app": {"value": app},
        "g": {"value": marker},
        "contextvar": {"value": marker},
    }


def distinct(answers: list[Any]) -> list[Any]:
    return [json.loads(a) for a in sorted({json.dumps(a, sort_keys=True) for a in answers})]


def while_async_view_held(live: LiveClient, probe: Callable[[str], T]) -> tuple[T, dict[str, Any]]:
    """Run ``probe(wave)`` while a lead ``async def`` view of that wave is suspended in its
    event loop (bounded), then release the lead. Returns the probe's result and the lead's
    answer, with whether the lead was still held when the probe was sent: a server that runs
    one request at a time gets to the probe only once the lead's bounded hold has run out."""
    wave = uuid.uuid4().hex

    def lead() -> Any:
        return live.json("/async/overlap/", {"wave": wave, "marker": "lead", "lead": 1})

    def then_probe() -> Any:
        entered = live.json("/async/overlap/lead-entered", {"wave": wave})
        try:
            return probe(wave), entered
        finally:
            live.json("/async/overlap/release", {"wave": wave})

    led, (result, entered) = live.concurrently(lambda step: step(), [lead, then_probe])
    return result, {**led, "lead_still_held": entered.get("lead_still_held")}


def test_async_view(live: LiveClient, verdict: Verdict) -> None:
    """While one ``async def`` view is suspended in its event loop, 19 overlapping requests to
    another async view each still get their own request.args, and so does the suspended one."""
    markers = [f"async-{i}" for i in range(19)]

    def overlapping(_: str) -> list[Any]:
        return live.concurrently(lambda m: live.json("/async/overlap/view", {"marker": m}), markers)

    answers, led = while_async_view_held(live, overlapping)
    ok = [m for m, a in zip(markers, answers, strict=True) if a.get("marker") == {"value": m}]
    wrong = [a.get("marker", a) for m, a in zip(markers, answers, strict=True) if m not in ok]
    verdict.compare(
        {"held": {"value": "lead"}, "overlapping_ok": len(markers), "overlapping_wrong": []},
        {
            "held": led.get("echo", {}).get("request", led),
            "overlapping_ok": len(ok),
            "overlapping_wrong": distinct(wrong),
        },
        # The 19 were sent while the lead was suspended in its loop (and it was released only
        # after they answered); a server that runs one request at a time never lets it hold.
        lead_still_held=led["lead_still_held"],
        overlap=bool(led["lead_still_held"]),
        in_flight=2 if led["lead_still_held"] else 1,  # at least: the held lead and a probe
    )


def test_async_overlap(live: LiveClient, verdict: Verdict) -> None:
    """10 ``async def`` views suspended in their event loops at the same time each read back
    their own request, g and ContextVar afterwards."""
    markers = [f"overlap-{i}-{uuid.uuid4().hex[:8]}" for i in range(1, WAVE_SIZE)]

    def others(wave: str) -> list[Any]:
        return live.concurrently(lambda m: live.json("/async/overlap/", {"wave": wave, "marker": m}), markers)

    answers, led = while_async_view_held(live, others)
    wrong = [a.get("echo", a) for m, a in zip(markers, answers, strict=True) if a.get("echo") != echo_of(m)]
    in_flight = max(a.get("in_flight", 0) for a in [led, *answers])
    verdict.compare(
        {"lead": echo_of("lead"), "others_ok": len(markers), "others_wrong": []},
        {
            "lead": led.get("echo", led),
            "others_ok": len(markers) - len(wrong),
            "others_wrong": distinct(wrong),
        },
        in_flight=in_flight,
        overlap=in_flight > 1,
        gate_broken=bool(led.get("gate_broken")),
    )


def test_async_before_request(live: LiveClient, verdict: Verdict) -> None:
    """An ``async def`` before_request, run while another async view is suspended in its
    loop, sees its own request, and its g and ContextVar writes reach the view."""
    marker = "before-request-marker"  # fixed: the table shows it, and a rerun must not change it
    body, led = while_async_view_held(live, lambda _: live.json("/async/before-request/", {"marker": marker}))
    ideal_response = {
        "hook_saw": {
            "request": {"value": marker},
            "endpoint": {"value": "async_before.probe"},
            "current_app": {"value": APP_NAME},
        },
        "view_sees": {"g": {"value": marker}, "contextvar": {"value": marker}},
    }
    verdict.compare(
        {"response": ideal_response},
        {"response": body},
        lead_still_held=led["lead_still_held"],
    )


def test_async_errorhandler(live: LiveClient, verdict: Verdict) -> None:
    """An ``async def`` error handler, run while another async view is suspended in its loop,
    gets the exception and the failing request's contexts, and its 409 response is sent."""
    marker = "errorhandler-marker"
    (status, raw), led = while_async_view_held(
        live, lambda _: live.request("/async/errorhandler/", {"marker": marker})
    )
    verdict.compare(
        {"status": 409, "body": {"error": f"raised for {marker}", **echo_of(marker)}},
        {"status": status, "body": json.loads(raw)},
        lead_still_held=led["lead_still_held"],
    )


def test_async_teardown(live: LiveClient, verdict: Verdict) -> None:
    """An ``async def`` teardown_request, run while another async view is suspended in its
    loop, runs inside its own request's contexts, with no exception."""
    token, marker = uuid.uuid4().hex, "teardown-marker"
    (status, response), led = while_async_view_held(
        live, lambda _: live.to_the_end("/async/teardown/", {"token": token, "marker": marker})
    )
    body = live.json("/async/teardown-seen", {"token": token})
    verdict.compare(
        {"ran": True, "seen": {**echo_of(marker), "exc": None}},
        {"ran": body["ran"], "seen": body["seen"]},
        status=status,
        response=response,
        lead_still_held=led["lead_still_held"],
    )


def test_async_task_outlives_view(live: LiveClient, verdict: Verdict) -> None:
    """An ``asyncio.create_task`` started by an async view and still pending when the response
    is sent finishes afterwards, seeing the request, app, g and ContextVar it was created with."""
    token, marker = uuid.uuid4().hex, "task-marker"
    started = live.json("/async/task", {"token": token, "marker": marker})
    body = live.json("/async/task/result", {"token": token})
    verdict.compare(
        {"fate": "finished", "after_response": echo_of(marker)},
        {"fate": body.get("fate"), "after_response": body.get("after_response", {})},
        started=started,
        done=body.get("done"),
        at_start=body.get("at_start"),
        at_cancel=body.get("at_cancel"),
    )


@pytest.mark.applies(models=["gevent"], reason="Flask's async_to_sync recipe is for gevent")
def test_async_gevent_recipe(live: LiveClient, verdict: Verdict) -> None:
    """With docs/gevent.rst's ``async_to_sync`` override (one asyncio loop in a greenlet), 10
    async views suspended at once each read back their own request, g and ContextVar."""
    wave = uuid.uuid4().hex
    markers = [f"recipe-{i}-{wave[:8]}" for i in range(WAVE_SIZE)]
    answers = live.concurrently(
        lambda m: live.json("/async/gevent-recipe", {"wave": wave, "marker": m}), markers
    )
    wrong = [
        a
        for m, a in zip(markers, answers, strict=True)
        if (a.get("body") or {}).get("echo") != echo_of(m, "async_recipe")
    ]
    in_flight = max((a.get("body") or {}).get("in_flight", 0) for a in answers)
    verdict.compare(
        {"ok": len(markers), "wrong": []},
        {"ok": len(markers) - len(wrong), "wrong": distinct(wrong)},
        in_flight=in_flight,
        overlap=in_flight > 1,
    )
