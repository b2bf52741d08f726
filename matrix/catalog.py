"""The check catalog: every row of the table, in table order, with the sentence it stands for.

A check in ``tests/checks`` is ``test_<id>`` for an id listed here; the plugin refuses a check
that is not in the catalog, and the expectations loader refuses a row naming an unknown id.
"""

from __future__ import annotations

CHECKS: dict[str, str] = {
    "isolation": "100 overlapping requests each keep their own query, g, session and ContextVar",
    "bare_worker": "a native worker spawned from a view, with no helper, sees current_app and request",
    "app_context_worker": "`with app.app_context()` inside a native worker gives current_app",
    "copy_context_joined": "copy_current_request_context worker, joined before the view returns, "
    "reads args, form and session",
    "copy_context_late": "copy_current_request_context worker still running after the response "
    "was sent reads args, form and session",
    "test_request_context": "20 overlapping workers each push their own test_request_context",
    "stream_with_context": "a stream_with_context generator reads request between chunks",
    "stream_without_context": "a plain generator (no stream_with_context) reads request between chunks",
    "async_view": "while one `async def` view is suspended in its event loop, 19 overlapping requests "
    "to it each see their own request",
    "teardown": "teardown_request then teardown_appcontext run once each per request, also when "
    "the view raises",
}
