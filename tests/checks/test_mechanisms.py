"""Per-request mechanisms under measured overlap: each of a wave's requests stores its marker
through one Flask mechanism, is held at a gate with the others, and reads it back through it."""

from __future__ import annotations

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
}


def _ask(live: LiveClient, variant: str, marker: str, wave: str) -> Any:
    params = {"marker": marker, "wave": wave, "size": SIZE}
    if variant == "url_defaults":
        return live.json(f"/mechanisms/url/{marker}", params)
    return live.json(f"/mechanisms/{variant}", params)


@pytest.mark.parametrize("variant", ["hooks", "teardown", "url_defaults", "errorhandler"])
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
            marker: {
                key: f"/mechanisms/url/{marker}" if key == "url_for" else marker for key in READ_BACK[variant]
            }
            for marker in markers
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
