"""Retention: what stays reachable in the server process after requests are served.

A view counts, after a full garbage collection, the live objects of the kinds that make up a
request's context machinery (request and app contexts, ``g`` objects, request objects,
``contextvars.Context`` objects) and the workers that served them (threads, greenlets). Counted by
type name, so no model library is imported here. The count waits (bounded, yielding) until no
kind is above a given baseline: a worker still finishing its last response is not a leak.
"""

from __future__ import annotations

import gc
import json
import time
from collections import Counter
from typing import Any

from flask import Blueprint, Flask, g, request, session

from matrix.models.base import Workers

KINDS = {
    "RequestContext": "request_contexts",
    "AppContext": "app_contexts",
    "_AppCtxGlobals": "g_objects",
    "Request": "request_objects",
    "Context": "contextvars_contexts",
    "Thread": "threads",
    "greenlet": "greenlets",
}
"""Type name -> the name the check reports it under."""
SETTLE = 2.0
"""Bound on waiting for the counts to fall back to the baseline."""


def counts() -> dict[str, int]:
    gc.collect()
    found = Counter(type(o).__name__ for o in gc.get_objects())
    # A greenlet subclass (gevent's Greenlet, eventlet's GreenThread) counts as a greenlet.
    found["greenlet"] += found.get("Greenlet", 0) + found.get("GreenThread", 0)
    return {name: found.get(kind, 0) for kind, name in KINDS.items()}


def register(app: Flask, workers: Workers) -> None:
    area = Blueprint("retention", __name__, url_prefix="/retention")

    @area.get("/touch")
    def touch() -> Any:
        g.retention_marker = request.args["marker"]
        session["retention"] = request.args["marker"]
        return {"marker": g.retention_marker}

    @area.get("/count")
    def count() -> Any:
        baseline: dict[str, int] = json.loads(request.args.get("baseline", "{}"))
        deadline = time.monotonic() + (SETTLE if baseline else 0)
        now = counts()
        while any(now[k] > v for k, v in baseline.items()) and time.monotonic() < deadline:
            workers.sleep(0.05)
            now = counts()
        return {"counts": now}

    app.register_blueprint(area)
