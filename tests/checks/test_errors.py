"""Common errors: context mistakes give Flask's clear RuntimeError, never silently wrong data.

The ideal here is the documented one: code that reaches for a context where there is none gets
a RuntimeError with Flask's "Working outside of ..." message. A cell deviates where the error is
different, or where the code silently sees data (or never runs).
"""

from __future__ import annotations

import uuid

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

APP_NAME = "apps"
NO_APP = {"raises": "RuntimeError", "message": "Working outside of application context."}
NO_REQUEST = {"raises": "RuntimeError", "message": "Working outside of request context."}


def test_error_current_app_at_import(live: LiveClient, verdict: Verdict) -> None:
    """A module that reads current_app at import time, imported outside any context (a fresh
    native worker), raises 'Working outside of application context.'; inside a view it works."""
    body = live.json("/errors/current-app-at-import", {"token": uuid.uuid4().hex})
    verdict.compare({"in_worker": NO_APP, "in_view": {"value": APP_NAME}}, body)


def test_error_request_in_worker(live: LiveClient, verdict: Verdict) -> None:
    """A native worker reading request with no context of its own raises 'Working outside of
    request context.', before pushing its own and after popping it, never another request's data."""
    body = live.json("/errors/request-in-worker", {"who": "view"})
    verdict.compare(
        {"before": NO_REQUEST, "inside": {"value": "worker"}, "after": NO_REQUEST, "view": {"value": "view"}},
        body,
    )


def test_error_request_after_teardown(live: LiveClient, verdict: Verdict) -> None:
    """A response's call_on_close callback runs after teardown and the context pop, and its
    reads of request, g and current_app raise Flask's 'Working outside of ...' errors."""
    token = uuid.uuid4().hex
    assert live.json("/errors/after-teardown", {"token": token}) == {"registered": token}
    result = live.json("/errors/after-teardown/result", {"token": token})
    verdict.compare(
        {"callback": {"request": NO_REQUEST, "g": NO_APP, "current_app": NO_APP}},
        result,
    )
