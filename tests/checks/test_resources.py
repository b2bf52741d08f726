"""Resource checks: a pooled database connection per request through g + teardown_appcontext."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict


@pytest.mark.applies(
    sqlalchemy=">=2",
    reason="needs SQLAlchemy 2, which the resources extra installs: pip install "
    "'flask-context-matrix[resources]'",
)
def test_pooled_connection(live: LiveClient, verdict: Verdict) -> None:
    """20 overlapping requests, each taking a connection from a QueuePool of 3 (no overflow) in
    ``g`` and returning it in teardown_appcontext: no connection is held by two requests at once,
    never more than 3 are out, every query answers its own request, and all 3 are back after."""
    size, wave = 20, uuid.uuid4().hex

    def one(i: int) -> Any:
        return live.json("/resources/pooled", {"wave": wave, "size": size, "marker": f"m{i}"})

    answers = live.concurrently(one, range(size))
    report = live.json("/resources/pooled/report", {"wave": wave})
    in_flight = max(answer.get("in_flight", 0) for answer in answers)
    verdict.compare(
        {
            "requests": size,
            "errors": [],
            "shared": 0,
            "wrong_results": 0,
            "within_pool_size": True,
            "checked_out_after": 0,
        },
        {
            "requests": report["requests"],
            "errors": report["errors"],
            "shared": report["shared"],
            "wrong_results": report["wrong_results"],
            "within_pool_size": report["max_checked_out"] <= report["pool_size"],
            "checked_out_after": report["checked_out_after"],
        },
        in_flight=in_flight,
        overlap=in_flight > 1,
        overlap_gate_broken=any(answer.get("gate_broken") for answer in answers),
        max_in_use=report["max_in_use"],
        max_checked_out=report["max_checked_out"],
        distinct_connections=report["distinct_connections"],
        pool_status=report["pool_status"],
    )
