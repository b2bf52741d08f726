"""The legacy context stacks (``_app_ctx_stack``, ``_request_ctx_stack``) while they exist."""

from __future__ import annotations

import pytest

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

STACKS = pytest.mark.applies(flask="<3.0", reason="Flask 3.0 removed _app_ctx_stack and _request_ctx_stack")
MARKER = "legacy-marker"


@STACKS
@pytest.mark.parametrize("variant", ["view", "worker"])
def test_legacy_stack_top(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """``_request_ctx_stack.top.request`` gives the request's own request, in the view and in a
    copy_current_request_context worker, and ``_app_ctx_stack.top.g`` the view's g, with no
    warning."""
    body = live.json(f"/legacy/{variant}-top", {"marker": MARKER})
    read = {"request": MARKER, "g": MARKER} if variant == "view" else {"request": MARKER}
    verdict.compare({"seen": {"value": read}, "warnings": []}, body)


@STACKS
def test_legacy_stack_push_pop(live: LiveClient, verdict: Verdict) -> None:
    """In a worker, ``_app_ctx_stack.push(app.app_context())`` makes it current, ``pop()`` returns
    it and leaves no app context, with no warning."""
    body = live.json("/legacy/push-pop")
    verdict.compare(
        {"seen": {"value": {"current_app": "apps", "popped_itself": True, "after": False}}, "warnings": []},
        body,
    )
