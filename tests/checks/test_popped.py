"""Contexts pushed in one place and popped in another: by another worker, or in another
``contextvars.Context`` (as async test runners run a fixture and its test)."""

from __future__ import annotations

import pytest

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

PATHS = {"worker": "/popped/worker", "copied_context": "/popped/copied-context"}


@pytest.mark.parametrize("variant", list(PATHS))
def test_context_popped_elsewhere(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """An app context pushed on one side and popped on the other: the pop raises nothing, runs
    teardown_appcontext once with the context's g in reach, and the pushing side no longer has
    the context."""
    body = live.json(PATHS[variant])
    verdict.compare(
        {
            "pop_elsewhere": {"value": None},
            "teardowns_at_pop_elsewhere": [{"g": True}],
            "pusher_still_sees_it": False,
        },
        {key: body[key] for key in ("pop_elsewhere", "teardowns_at_pop_elsewhere", "pusher_still_sees_it")},
        pusher_pop=body["pusher_pop"],
        teardowns_in_all=body["teardowns_in_all"],
    )
