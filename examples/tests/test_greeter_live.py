"""flask_greeter's own live tests, run under every model by the flask-context-matrix plugin."""

from __future__ import annotations

import json
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

# Servers that run requests one at a time cannot show the bug: asgiref's WsgiToAsgi.
OVERLAPPING = [
    "werkzeug",
    "waitress",
    "gunicorn-gthread",
    "pywsgi",
    "gunicorn-gevent",
    "eventlet-wsgi",
    "hypercorn-wsgi",
    "hypercorn-a2wsgi",
]


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_greets_by_name(flask_live_url: str) -> None:
    """The greeting uses the name from the query string."""
    assert get(f"{flask_live_url}/hello?name=Ada") == {"greeting": "Hello, Ada!"}


def test_greets_a_stranger(flask_live_url: str) -> None:
    """Without a name, the caller is a stranger."""
    assert get(f"{flask_live_url}/hello") == {"greeting": "Hello, stranger!"}


def test_concurrent_greetings_stay_apart(flask_live_url: str) -> None:
    """Twenty simultaneous callers each get their own name back (the name lives in g)."""
    names = [f"n{i}" for i in range(20)]
    with ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(lambda n: get(f"{flask_live_url}/hello?name={n}"), names))
    assert answers == [{"greeting": f"Hello, {n}!"} for n in names]


@pytest.mark.flask_expect_fail(
    servers=OVERLAPPING,
    raises=AssertionError,
    reason="the last visitor is a module global: an overlapping request overwrites it",
)
def test_last_visitor_is_this_request(flask_live_url: str) -> None:
    """Two visitors arriving together each see themselves as the last visitor of their request."""
    pair = uuid.uuid4().hex
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda n: get(f"{flask_live_url}/visit?name={n}&pair={pair}"), ["A", "B"])
    assert (a["last_visitor"], b["last_visitor"]) == ("A", "B")
