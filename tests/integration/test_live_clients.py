"""The clients a user's suite gets, through real pytest runs against real servers: Werkzeug's
client over the socket (cookies, redirects, JSON and forms, a virtual user each), requests at once
with the server's count of requests in flight, and an existing test-client suite run live."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

SHOP = """
import threading
from flask import Flask, abort, redirect, request, session, url_for

def create_app(test_config=None):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="dev", PEERS=2)
    app.config.update(test_config or {})
    lock = threading.Lock()
    arrived = {}

    @app.post("/login")
    def login():
        if request.form.get("password") != "secret":
            abort(403)
        session["user"] = request.form["user"]
        return redirect(url_for("me"))

    @app.get("/me")
    def me():
        if "user" not in session:
            abort(401)
        return {"user": session["user"], "agent": request.headers.get("X-Agent")}

    @app.post("/echo")
    def echo():
        return {"got": request.get_json(), "config": app.config.get("NAME")}

    @app.get("/meet")
    def meet():
        # Wait (bounded) until the other peers arrived: only a server that overlaps requests lets them.
        with lock:
            count, met = arrived.setdefault(request.args["wave"], ([0], threading.Event()))
            count[0] += 1
            if count[0] == app.config["PEERS"]:
                met.set()
        return {"met": met.wait(2.0)}

    return app
"""

LIVE_USERS = """
import uuid

def test_login_keeps_the_session_cookie(flask_live_client):
    form = {"user": "ada", "password": "secret"}
    answer = flask_live_client.post("/login", data=form, follow_redirects=True)
    assert answer.status_code == 200 and answer.json["user"] == "ada"
    me = flask_live_client.get("/me", headers={"X-Agent": "pytest"})
    assert me.json == {"user": "ada", "agent": "pytest"}

def test_every_virtual_user_has_its_own_cookies(flask_live_clients):
    ada, bob = flask_live_clients(), flask_live_clients()
    ada.post("/login", data={"user": "ada", "password": "secret"})
    assert ada.get("/me").json["user"] == "ada"
    assert bob.get("/me").status_code == 401

def test_json_posts_and_a_wrong_password(flask_live_client):
    echoed = flask_live_client.post("/echo", json={"a": [1, 2]})
    assert echoed.json == {"got": {"a": [1, 2]}, "config": "shop"}
    assert flask_live_client.post("/login", data={"user": "ada", "password": "no"}).status_code == 403

def test_peers_meet(flask_at_once):
    wave = uuid.uuid4().hex
    answers = flask_at_once([f"/meet?wave={wave}", {"path": "/meet", "query_string": {"wave": wave}}])
    assert [a.status_code for a in answers] == [200, 200]
"""


def run_shop(pytester: pytest.Pytester, tmp_path: Path, model: str, servers: str, *more: str) -> Any:
    """The suite in pytester's folder against ``shop:create_app``; records in ``tmp_path/records``."""
    return pytester.runpytest_subprocess(
        f"--flask-model={model}",
        f"--flask-server={servers}",
        "--flask-app=shop:create_app",
        f"--flask-records={tmp_path / 'records'}",
        f"--flask-logs={tmp_path}",
        *more,
    )


def cells(records: Path) -> dict[str, dict[str, Any]]:
    """Every record's cells, by ``server:check``."""
    found = {}
    for path in records.glob("*.json"):
        record = json.loads(path.read_text())
        for check in record["checks"]:
            found[f"{record['server']}:{check['check']}"] = check
    return found


def test_live_clients_keep_cookies_per_virtual_user_and_count_overlap(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Logins hold across requests (cookies, redirects), a second virtual user has none of the
    first's cookies, JSON and forms travel; requests sent at once overlap on a threaded server and
    do not under asgiref's WsgiToAsgi (one thread), whose pass is marked as passed without overlap."""
    pytester.makepyfile(shop=SHOP, test_users=LIVE_USERS)
    records = tmp_path / "records"
    result = run_shop(
        pytester, tmp_path, "asgi", "hypercorn-wsgi,hypercorn-asgiref", "--flask-app-config=NAME=shop"
    )
    result.assert_outcomes(passed=8)
    seen = cells(records)
    assert (
        seen["hypercorn-wsgi:login_keeps_the_session_cookie"]["detail"]["live_requests"] == 3
    )  # login, redirect, me
    assert seen["hypercorn-wsgi:peers_meet"]["detail"].items() >= {"in_flight": 2, "overlap": True}.items()
    assert (
        seen["hypercorn-asgiref:peers_meet"]["detail"].items() >= {"in_flight": 1, "overlap": False}.items()
    )
    table = pytester.run(sys.executable, "-m", "matrix.cli", "report", str(records), "--markdown", "-")
    assert "passed without overlap" in table.stdout.str()


TEST_CLIENT_SUITE = """
import pytest
from flask import session
from shop import create_app

@pytest.fixture(params=["one", "two"])
def app(request):
    return create_app({"NAME": request.param})

@pytest.fixture
def client(app):
    return app.test_client()

def test_login_then_me(client):
    answer = client.post("/login", data={"user": "ada", "password": "secret"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/me")
    assert client.get("/me").json["user"] == "ada"
    assert client.get_cookie("session") is not None

def test_echo_names_the_config(client, app):
    assert client.post("/echo", json=[1]).get_json() == {"got": [1], "config": app.config["NAME"]}

def test_peeks_at_the_session(client):
    with client:
        client.post("/login", data={"user": "ada", "password": "secret"})
        assert session["user"] == "ada"

def test_seeds_a_session(client):
    with client.session_transaction() as seeded:
        seeded["user"] = "bob"
    assert client.get("/me").json["user"] == "bob"

def test_in_process_only(app):
    assert app.config["SECRET_KEY"] == "dev"

def test_wrong_on_any_server(client):
    assert client.get("/me").status_code == 200
"""


def test_an_existing_test_client_suite_runs_live_unchanged(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """``app.test_client()`` sends over the socket to the app served with the test app's config (a
    server per distinct config); what needs the in-process context after a request is n/a with its
    reason, a test that sent nothing live is n/a, a wrong assertion is still a fail."""
    pytester.makepyfile(shop=SHOP, test_suite=TEST_CLIENT_SUITE)
    records = tmp_path / "records"
    result = run_shop(pytester, tmp_path, "threads", "werkzeug", "--flask-live-test-client")
    result.assert_outcomes(passed=6, skipped=4, failed=2)
    seen = {name.partition(":")[2]: cell for name, cell in cells(records).items()}
    outcomes = {name: cell["outcome"] for name, cell in seen.items()}
    assert outcomes == {
        "login_then_me[one]": "pass",
        "login_then_me[two]": "pass",
        "echo_names_the_config[one]": "pass",
        "echo_names_the_config[two]": "pass",
        "peeks_at_the_session[one]": "n/a",
        "peeks_at_the_session[two]": "n/a",
        "seeds_a_session[one]": "n/a",
        "seeds_a_session[two]": "n/a",
        "in_process_only[one]": "n/a",
        "in_process_only[two]": "n/a",
        "wrong_on_any_server[one]": "fail",
        "wrong_on_any_server[two]": "fail",
    }
    assert seen["peeks_at_the_session[one]"]["detail"]["message"].startswith("`with client:` keeps")
    assert seen["seeds_a_session[one]"]["detail"]["message"].startswith("session_transaction()")
    assert seen["in_process_only[one]"]["detail"]["message"].startswith("it ran in this process only")
    assert seen["login_then_me[one]"]["detail"]["live_requests"] == 2
    # One server per distinct config: the params alternate, so each test's app needs its own.
    log = (tmp_path / "threads--werkzeug.log").read_text()
    assert log.count("serving shop:create_app") >= 2
