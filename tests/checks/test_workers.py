"""Workers: what a callable handed to a thread, greenlet, task or executor sees of Flask's contexts.

The families run one scenario through every worker kind of the catalog (``matrix/areas/
workers.toml``); a kind whose runtime exists only under some models is n/a elsewhere.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from matrix.catalog import load_worker_kinds
from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

APP_NAME = "apps"
TOKEN = "the view's token"
"""What a check reports for a value equal to its (unique per call) token: runs compare equal."""

KINDS = [
    pytest.param(
        kind.name,
        marks=[pytest.mark.applies(models=list(kind.models), reason=kind.reason)] if kind.models else [],
    )
    for kind in load_worker_kinds()
]
"""Every worker kind, n/a outside the models it exists under."""
VISIBLE = {
    "current_app": {"value": APP_NAME},
    "request": {"value": TOKEN},
    "g": {"value": TOKEN},
    "contextvar": {"value": TOKEN},
}


def test_bare_worker(live: LiveClient, verdict: Verdict) -> None:
    """A worker spawned natively from a view, with no helper, reads current_app and request."""
    body = live.json("/workers/bare-worker", {"marker": "bare"})
    verdict.compare(
        {"current_app": {"value": APP_NAME}, "request": {"value": "bare"}},
        body["observed"],
        worker=body["worker"],
    )


def test_app_context_worker(live: LiveClient, verdict: Verdict) -> None:
    """A native worker that pushes ``app.app_context()`` itself reads current_app."""
    body = live.json("/workers/app-context-worker")
    verdict.compare({"current_app": {"value": APP_NAME}}, body["observed"], worker=body["worker"])


def test_test_request_context(live: LiveClient, verdict: Verdict) -> None:
    """20 overlapping workers each push ``test_request_context('/?i=N')`` and read their own N."""
    body = live.json("/workers/test-request-context", {"workers": 20, "wave": uuid.uuid4().hex})
    verdict.compare(
        {"wrong": {}},
        {"wrong": body["wrong"]},
        workers=20,
        in_flight=body["in_flight"],
        overlap=body["in_flight"] > 1,
    )


def _tokenized(value: Any, token: str) -> Any:
    """``value`` with every occurrence of ``token`` replaced by the constant ``TOKEN``."""
    if isinstance(value, dict):
        return {k: _tokenized(v, token) for k, v in value.items()}
    if isinstance(value, list):
        return [_tokenized(v, token) for v in value]
    return TOKEN if value == token else value


def _get(live: LiveClient, path: str, **params: Any) -> tuple[str, Any]:
    token = uuid.uuid4().hex
    return token, live.json(path, {"token": token, **params})


@pytest.mark.parametrize("variant", KINDS)
def test_worker_context(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """A worker of this kind, started from a view with no helper, sees the view's current_app,
    request, g and a user ContextVar."""
    token, body = _get(live, f"/workers/context/{variant}")
    worker = body["worker"]
    # A kind that failed to run at all: every read shows that failure.
    observed = dict.fromkeys(VISIBLE, worker) if "raises" in worker else worker
    verdict.compare(VISIBLE, _tokenized(observed, token))


@pytest.mark.parametrize("variant", KINDS)
def test_app_context_in(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """A worker of this kind that pushes ``app.app_context()`` gets current_app and a fresh g of
    its own, and the view's request and g are unchanged afterwards."""
    token, body = _get(live, f"/workers/app-context/{variant}")
    verdict.compare(
        {
            "worker": {
                "current_app": {"value": APP_NAME},
                "g": {"value": "set in worker"},
                "g_fresh": {"value": None},
            },
            "view_after": {"request": {"value": TOKEN}, "g": {"value": TOKEN}},
        },
        _tokenized(body, token),
    )


@pytest.mark.parametrize("variant", KINDS)
def test_test_client_in(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """5 workers of this kind each push ``test_request_context('/?i=N')``, set g to N and GET a
    view echoing ``i`` through ``app.test_client()`` (overlapping at a gate where the kind runs
    them at once): each reads its own N when pushed, from the echo and afterwards, reads back its
    own g, and the view's g is untouched."""
    count = 5
    body = live.json(f"/workers/test-client/{variant}", {"workers": count, "wave": uuid.uuid4().hex})
    seen = body["seen"]
    query_wrong = {
        str(i): s.get("query", s)
        for i, s in enumerate(seen)
        if s.get("query") != {key: {"value": str(i)} for key in ("pushed", "client", "after_client")}
    }
    g_own = sum(s.get("g") == {"value": str(i)} for i, s in enumerate(seen))
    verdict.compare(
        {"query_wrong": {}, "g_own": count, "view_g_untouched": True},
        {"query_wrong": query_wrong, "g_own": g_own, "view_g_untouched": body["view_g"] == {"value": None}},
        workers=count,
        in_flight=body["in_flight"],
        overlap=body["in_flight"] > 1,
        gate_size=body["gate_size"],
        g_seen=[s.get("g") for s in seen],
        view_g=body["view_g"],
    )


def test_request_in_app_context(live: LiveClient, verdict: Verdict) -> None:
    """In a native worker that pushed only ``app.app_context()``, current_app works and reading
    ``request`` raises RuntimeError 'Working outside of request context.'."""
    token, body = _get(live, "/workers/request-in-app-context")
    verdict.compare(
        {
            "current_app": {"value": APP_NAME},
            "has_request_context": False,
            "request": {"raises": "RuntimeError", "message": "Working outside of request context."},
        },
        _tokenized(body["worker"], token),
    )


def test_nested_test_request_context(live: LiveClient, verdict: Verdict) -> None:
    """Nested test_request_context push/pop, in a view and in a native worker: the inner push
    shows the inner args, after its pop the outer is current again, after the outer's pop the
    view's own request (in the worker: no request)."""
    body = live.json("/workers/nested-test-request-context", {"which": "live"})
    no_request = {"raises": "RuntimeError", "message": "Working outside of request context."}
    nested = {
        "outer": {"value": "outer"},
        "inner": {"value": "inner"},
        "after_inner_pop": {"value": "outer"},
    }
    verdict.compare(
        {
            "view": {**nested, "after_outer_pop": {"value": "live"}},
            "worker": {**nested, "after_outer_pop": no_request},
        },
        body,
    )


@pytest.mark.applies(
    python=">=3.14",
    reason="threading.Thread(context=...) and sys.flags.thread_inherit_context are new in Python 3.14",
)
def test_thread_context_argument(live: LiveClient, verdict: Verdict) -> None:
    """``threading.Thread(context=contextvars.copy_context())`` started in a view sees its
    current_app, request, g and ContextVar; a plain Thread inherits the view's ContextVar exactly
    when ``sys.flags.thread_inherit_context`` is set."""
    token, body = _get(live, "/workers/thread-context-argument")
    verdict.compare(
        {"context_argument": VISIBLE, "plain_thread_follows_flag": True},
        {
            "context_argument": _tokenized(body["context_argument"], token),
            "plain_thread_follows_flag": body["plain_thread_inherits"] == body["thread_inherit_context"],
        },
        thread_inherit_context=body["thread_inherit_context"],
    )


def test_url_for_in_app_context(live: LiveClient, verdict: Verdict) -> None:
    """A native worker that pushed only ``app.app_context()`` builds a URL with url_for, as the view
    does (no SERVER_NAME configured, the common case)."""
    body = live.json("/workers/url-for-in-app-context")
    verdict.compare({"url_for": {"value": "/workers/echo"}}, body["worker"], view=body["view"])


def test_copy_context_outside_request(live: LiveClient, verdict: Verdict) -> None:
    """In a native worker with only ``app.app_context()``, copy_current_request_context raises
    RuntimeError (there is no request to copy), and the worker's app context is still current
    and runs its teardown_appcontext once as it exits."""
    worker = live.json("/workers/copy-context-outside-request")["worker"]
    verdict.compare(
        {"decorator": "RuntimeError", "current_app_after": {"value": APP_NAME}, "teardown_appcontext": 1},
        {k: v for k, v in worker.items() if k != "message"},
        message=worker["message"],
    )


RESOURCES = pytest.mark.applies(
    sqlalchemy=">=2",
    reason="needs SQLAlchemy 2, which the resources extra installs: pip install "
    "'flask-context-matrix[resources]'",
)


def _returned(live: LiveClient, path: str) -> dict[str, Any]:
    """Ask the view at ``path``, then (after its response, so after its own teardown) when the
    connection its worker took came back."""
    token, body = _get(live, path)
    returned = live.json("/workers/resource/returned", {"token": token})
    return {"query": body["query"], "returned": returned["returned"]}


@RESOURCES
@pytest.mark.parametrize("variant", KINDS)
def test_worker_resource(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """A worker of this kind that pushes ``app.app_context()`` and queries through the tutorial's
    ``get_db()`` (a QueuePool connection kept in g, returned in teardown_appcontext) has its
    connection back in the pool as that context exits."""
    verdict.compare(
        {"query": {"value": 1}, "returned": "as the worker ended"},
        _returned(live, f"/workers/resource/{variant}"),
    )


@RESOURCES
@pytest.mark.parametrize("variant", KINDS)
def test_bare_worker_resource(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """A worker of this kind with no app context of its own queries through ``get_db()``: the
    ideal is that its connection is back in the pool as the worker ends."""
    verdict.compare(
        {"query": {"value": 1}, "returned": "as the worker ended"},
        _returned(live, f"/workers/bare-resource/{variant}"),
    )
