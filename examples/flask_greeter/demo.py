"""The demo app the example suite serves: ``create_app()`` takes no worker primitives."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, request

from flask_greeter import Greeter

PAIR_TIMEOUT = 2.0


def create_app() -> Flask:
    app = Flask(__name__)
    greeter = Greeter(app)
    # Created after the server patched the runtime, so these cooperate under gevent/eventlet.
    lock = threading.Lock()
    pairs: dict[str, tuple[list[int], threading.Event]] = {}

    def meet(pair: str) -> bool:
        """Wait (bounded) until the other request of the pair arrives: True if it did."""
        with lock:
            count, met = pairs.setdefault(pair, ([0], threading.Event()))
            count[0] += 1
            if count[0] == 2:
                met.set()
        return met.wait(PAIR_TIMEOUT)

    @app.get("/hello")
    def hello() -> Any:
        return {"greeting": greeter.greeting()}

    @app.get("/visit")
    def visit() -> Any:
        greeter.note_visitor()
        overlapped = meet(request.args["pair"])  # the other visitor writes the global meanwhile
        return {"last_visitor": greeter.last_visitor(), "overlapped": overlapped}

    return app
