"""flask_greeter's own live tests, run under every model by the flask-context-matrix plugin."""

from __future__ import annotations

import json
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

# Servers that run requests one at a time cannot show the bug: asgiref's WsgiToAsgi and gunicorn's
# sync worker (one request per process at a time).
OVERLAPPING = [
    "werkzeug",
    "waitress",
    "gunicorn-gthread",
    "uwsgi-threads",
    "granian-wsgi",
    "pywsgi",
    "gunicorn-gevent",
    "uwsgi-gevent",
    "eventlet-wsgi",
    "hypercorn-wsgi",
    "hypercorn-a2wsgi",
    "uvicorn-a2wsgi",
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


def test_a_logged_in_visitor_is_greeted_by_name(flask_live_client: Any) -> None:
    """After logging in, the visitor's name comes from the session cookie, until logging out."""
    answer = flask_live_client.post("/login", data={"name": "Ada"}, follow_redirects=True)
    assert answer.status_code == 200 and answer.json == {"greeting": "Hello, Ada!"}
    assert flask_live_client.get("/hello").json == {"greeting": "Hello, Ada!"}
    assert flask_live_client.post("/logout", follow_redirects=True).json == {"greeting": "Hello, stranger!"}


def test_two_visitors_keep_their_own_sessions(flask_live_clients: Any) -> None:
    """Each visitor's login is in their own cookie: one logging in does not name the other."""
    ada, bob = flask_live_clients(), flask_live_clients()
    ada.post("/login", data={"name": "Ada"})
    bob.post("/login", data={"name": "Bob"})
    assert [ada.get("/hello").json, bob.get("/hello").json] == [
        {"greeting": "Hello, Ada!"},
        {"greeting": "Hello, Bob!"},
    ]


def test_visitors_arriving_together_get_their_own_names(flask_at_once: Any) -> None:
    """Three visitors held together in the view each get their own name back (the name lives in g).

    Under a server that runs one request at a time the three never overlap: the test still passes,
    and the table marks that pass as obtained without overlap."""
    group = uuid.uuid4().hex
    names = ["Ada", "Bob", "Cy"]
    answers = flask_at_once([f"/together?name={n}&group={group}&peers={len(names)}" for n in names])
    assert [a.json["greeting"] for a in answers] == [f"Hello, {n}!" for n in names]


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
def test_last_visitor_is_this_request(flask_at_once: Any) -> None:
    """Two visitors arriving together each see themselves as the last visitor of their request."""
    pair = uuid.uuid4().hex
    a, b = flask_at_once([f"/visit?name={n}&pair={pair}" for n in ["A", "B"]])
    assert (a.json["last_visitor"], b.json["last_visitor"]) == ("A", "B")
