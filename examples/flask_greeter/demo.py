"""The demo app the example suite serves: ``create_app()`` takes no worker primitives."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, redirect, request, session, url_for

from flask_greeter import Greeter

PAIR_TIMEOUT = 2.0


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "demo only"
    greeter = Greeter(app)
    # Created after the server patched the runtime, so these cooperate under gevent/eventlet.
    lock = threading.Lock()
    pairs: dict[str, tuple[list[int], threading.Event]] = {}

    def meet(pair: str, peers: int = 2) -> bool:
        """Wait (bounded) until the other requests of the group arrive: True if they did."""
        with lock:
            count, met = pairs.setdefault(pair, ([0], threading.Event()))
            count[0] += 1
            if count[0] == peers:
                met.set()
        return met.wait(PAIR_TIMEOUT)

    @app.get("/hello")
    def hello() -> Any:
        return {"greeting": greeter.greeting()}

    @app.post("/login")
    def login() -> Any:
        session["name"] = request.form["name"]
        return redirect(url_for("hello"))

    @app.post("/logout")
    def logout() -> Any:
        session.pop("name", None)
        return redirect(url_for("hello"))

    @app.get("/together")
    def together() -> Any:
        overlapped = meet(request.args["group"], int(request.args["peers"]))
        return {"greeting": greeter.greeting(), "overlapped": overlapped}

    @app.get("/visit")
    def visit() -> Any:
        greeter.note_visitor()
        overlapped = meet(request.args["pair"])  # the other visitor writes the global meanwhile
        return {"last_visitor": greeter.last_visitor(), "overlapped": overlapped}

    return app
