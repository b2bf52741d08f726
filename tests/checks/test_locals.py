"""Werkzeug locals: Local, LocalStack, LocalProxy and LocalManager across concurrent workers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from matrix.client import LiveClient
from matrix.plugin.verdict import Verdict

WORKERS = 10
VARIANTS = ["native", "threading"]
"""The model's own workers (workers.spawn), and threading.Thread as the app imports it."""

UNBOUND = {"raises": "RuntimeError", "message": "object is not bound"}
"""Werkzeug's message for an unbound LocalProxy (the default ``unbound_message`` since 2.2)."""


def _wave(live: LiveClient, path: str, **params: Any) -> Any:
    return live.json(path, {"workers": WORKERS, "wave": uuid.uuid4().hex, **params})


def _overlap(body: Any) -> dict[str, Any]:
    return {
        "in_flight": body["in_flight"],
        "overlap": body["in_flight"] > 1,
        "gate_broken": body["gate_broken"],
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_local_isolation(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """10 overlapping workers each start with an empty werkzeug Local, keep their own value in
    it, and leave the spawning view's value alone."""
    body = _wave(live, "/locals/local-isolation", variant=variant)
    wrong = [i for i, s in enumerate(body["seen"]) if s.get("own") != {"value": f"w{i}"}]
    inherited = {repr(s.get("inherited")): s.get("inherited", s) for s in body["seen"]}
    verdict.compare(
        {
            "wrong": 0,
            "inherited": [{"raises": "AttributeError", "message": "owner"}],
            "parent_after": {"value": "view"},
        },
        {
            "wrong": len(wrong),
            "inherited": [inherited[k] for k in sorted(inherited)],
            "parent_after": body["parent_after"],
        },
        workers=WORKERS,
        first_wrong=body["seen"][wrong[0]] if wrong else None,
        **_overlap(body),
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_localstack_isolation(live: LiveClient, verdict: Verdict, variant: str) -> None:
    """10 overlapping workers each start with an empty werkzeug LocalStack, push and pop their
    own items, and leave the spawning view's top alone."""
    body = _wave(live, "/locals/localstack-isolation", variant=variant)

    def ideal(i: int) -> dict[str, Any]:
        a, b = f"w{i}-a", f"w{i}-b"
        return {
            "tops": [{"value": b}, {"value": a}, {"value": None}],
            "popped": [{"value": b}, {"value": a}],
        }

    wrong = [i for i, s in enumerate(body["seen"]) if {k: s.get(k) for k in ("tops", "popped")} != ideal(i)]
    inherited = {repr(s.get("inherited")): s.get("inherited", s) for s in body["seen"]}
    verdict.compare(
        {"wrong": 0, "inherited": [{"value": None}], "parent_after": {"value": "view"}},
        {
            "wrong": len(wrong),
            "inherited": [inherited[k] for k in sorted(inherited)],
            "parent_after": body["parent_after"],
        },
        workers=WORKERS,
        first_wrong=body["seen"][wrong[0]] if wrong else None,
        **_overlap(body),
    )


def test_localproxy_unbound(live: LiveClient, verdict: Verdict) -> None:
    """A LocalProxy (to a Local attribute, and a LocalStack's) resolves in the view that bound it
    and raises Werkzeug's RuntimeError 'object is not bound' in a native worker."""
    body = live.json("/locals/localproxy-unbound")
    verdict.compare(
        {
            "in_view": {"local": {"value": "BOUND"}, "stack": {"value": "BOUND"}},
            "local_in_worker": UNBOUND,
            "stack_in_worker": UNBOUND,
        },
        {
            "in_view": body["in_view"],
            "local_in_worker": body["in_worker"]["local"],
            "stack_in_worker": body["in_worker"]["stack"],
        },
        repr_in_worker=body["in_worker"]["local_repr"],
    )


def test_localmanager_cleanup(live: LiveClient, verdict: Verdict) -> None:
    """Among 10 overlapping workers, those running a LocalManager.make_middleware-wrapped app
    have their Local and LocalStack emptied when the response closes, and only theirs:
    bystanders keep their values until their own cleanup(), the view keeps its own."""
    body = _wave(live, "/locals/localmanager-cleanup")
    gone = {
        "owner": {"raises": "AttributeError", "message": "owner"},
        "inner": {"raises": "AttributeError", "message": "inner"},
        "top": {"value": None},
    }

    def ideal(i: int) -> dict[str, Any]:
        if i % 2 == 0:
            own = {"value": f"c{i}"}
            return {
                "body": "ok",
                "before_close": {"owner": own, "inner": own, "top": own},
                "after_close": gone,
            }
        own = {"value": f"b{i}"}
        return {"after_others": {"owner": own, "inner": gone["inner"], "top": own}, "after_cleanup": gone}

    wrong_cleaners = [i for i, s in enumerate(body["seen"]) if i % 2 == 0 and s != ideal(i)]
    wrong_bystanders = [i for i, s in enumerate(body["seen"]) if i % 2 == 1 and s != ideal(i)]
    verdict.compare(
        {"wrong_cleaners": 0, "wrong_bystanders": 0, "parent_after": {**gone, "owner": {"value": "view"}}},
        {
            "wrong_cleaners": len(wrong_cleaners),
            "wrong_bystanders": len(wrong_bystanders),
            "parent_after": body["parent_after"],
        },
        workers=WORKERS,
        first_wrong=next((body["seen"][i] for i in wrong_cleaners + wrong_bystanders), None),
        **_overlap(body),
    )
