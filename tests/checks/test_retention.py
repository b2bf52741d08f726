"""Retention: serving many requests leaves no context, g, request, Context, thread or greenlet
reachable per request served."""

from __future__ import annotations

import json

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

WARM_UP, SERVED = 20, 300
FLASK_MADE = ("request_contexts", "app_contexts", "g_objects", "request_objects")
"""Made by Flask for each request: none may outlive it."""
SERVER_HELD = ("threads", "greenlets", "contextvars_contexts")
"""Made by the server and its runtime, which keep some for their own work (an asyncio server's
connection tasks and timers each hold a Context for a while, a few more after a busy round): a
leak is growth that repeats with every round of requests, here a second round of 300 adding one
per 10 requests or more over the first round's level."""
PER_REQUEST = SERVED // 10


def test_retention(live: LiveClient, verdict: Verdict) -> None:
    """After two rounds of 300 requests (10 at a time) beyond a warm-up, a full garbage
    collection finds no more request contexts, app contexts, g objects or request objects than
    before them, and the second round adds no thread, greenlet or contextvars Context count of one
    per 10 requests over the first round's."""

    def serve(count: int, tag: str) -> None:
        live.concurrently(lambda i: live.json("/retention/touch", {"marker": f"{tag}{i}"}), range(count))

    def round_of(tag: str, baseline: dict[str, int]) -> dict[str, int]:
        for batch in range(SERVED // 10):
            serve(10, f"{tag}{batch}-")
        counts: dict[str, int] = live.json("/retention/count", {"baseline": json.dumps(baseline)})["counts"]
        return counts

    serve(WARM_UP, "w")
    before = live.json("/retention/count")["counts"]
    first = round_of("a", before)
    second = round_of("b", first)
    verdict.compare(
        {**dict.fromkeys(FLASK_MADE, 0), **{f"{kind}_grow_with_requests": False for kind in SERVER_HELD}},
        {
            **{kind: max(0, second[kind] - before[kind]) for kind in FLASK_MADE},
            **{
                f"{kind}_grow_with_requests": second[kind] - first[kind] >= PER_REQUEST
                for kind in SERVER_HELD
            },
        },
        served=2 * SERVED,
        counts={"before": before, "after_first_round": first, "after_second_round": second},
    )
