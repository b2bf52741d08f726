"""Per-request mechanisms under measured overlap: each of a wave's requests stores its marker
through one Flask mechanism, is held at a gate with the others, and reads it back through it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

SIZE = 16
READ_BACK = {
    "hooks": ("view", "after_this_request", "after_request"),
    "url_defaults": ("url_for",),
    "errorhandler": ("errorhandler", "request"),
    "session": ("view", "after_request", "next_request"),
    "flash": ("view", "after_request", "next_request"),
}
ROUND_TRIP = {"session", "flash"}
"""Mechanisms whose state rides the session cookie: the response's cookie goes with a next request."""


def _wanted(variant: str, marker: str, key: str) -> Any:
    if variant == "url_defaults":
        return f"/mechanisms/url/{marker}"
    if variant == "flash":  # flashed once: gone from the session once the view got it
        return [] if key == "next_request" else [marker]
    return marker


def _ask(live: LiveClient, variant: str, marker: str, wave: str) -> Any:
    params = {"marker": marker, "wave": wave, "size": SIZE}
    if variant == "url_defaults":
        return live.json(f"/mechanisms/url/{marker}", params)
    if variant in ROUND_TRIP:
        return _with_next_request(live, f"/mechanisms/{variant}", params)
    return live.json(f"/mechanisms/{variant}", params)


def _with_next_request(live: LiveClient, path: str, params: dict[str, Any]) -> Any:
    """The answer to ``path``, with what a next request sent with its session cookie sees."""
    with live.bounded(path), live.open(path, params) as response:
        body = json.loads(response.read())
        cookies = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or []]
    _, following = live.request(f"{path}/next", headers={"Cookie": "; ".join(cookies)})
    body["seen"]["next_request"] = json.loads(following)["seen"]
    return body


@pytest.mark.parametrize("variant", ["hooks", "teardown", "url_defaults", "errorhandler", "session", "flash"])
def test_request_mechanism(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """16 requests, held together at a gate between storing their marker through the mechanism
    and reading it back through it, each read back their own marker (none another's, none lost)."""
    wave = uuid.uuid4().hex
    markers = [f"r{i}-{wave[:8]}" for i in range(SIZE)]
    answers = live.concurrently(lambda marker: (marker, _ask(live, variant, marker, wave)), markers)
    if variant == "teardown":
        filed = live.json("/mechanisms/teardown/report", {"markers": ",".join(markers)})["filed"]
        seen = {marker: filed.get(marker, {}) for marker in markers}
        wanted = {
            marker: dict.fromkeys(("teardown_request", "teardown_appcontext"), marker) for marker in markers
        }
    else:
        seen = {marker: body.get("seen") for marker, body in answers}
        wanted = {
            marker: {key: _wanted(variant, marker, key) for key in READ_BACK[variant]} for marker in markers
        }
    wrong = [marker for marker in markers if seen[marker] != wanted[marker]]
    in_flight = max(body.get("in_flight", 0) for _, body in answers)
    verdict.compare(
        {"wrong": 0},
        {"wrong": len(wrong)},
        requests=SIZE,
        in_flight=in_flight,
        overlap=in_flight > 1,
        overlap_gate_broken=any(body.get("gate_broken") for _, body in answers),
        first_wrong={"marker": wrong[0], "seen": seen[wrong[0]]} if wrong else None,
    )
