"""Contexts pushed in one place and popped in another, as async test runners and hand-rolled worker
code do it: an app context pushed by one worker (or inside one ``contextvars.Context``) and popped
by another. Neither the view's own thread nor its request context takes part: the push and the pop
happen in workers of their own, so a failed pop cannot leave the serving thread poisoned.

What the view reports: what the pop elsewhere raised, the teardown_appcontext calls it ran (and
whether each could reach the context's ``g``: the callbacks run where the pop runs), whether the
pushing side still saw the context afterwards, and what its own clean-up pop did.
"""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

from flask import Blueprint, Flask, current_app, g

from apps.observe import observe_stable
from apps.shared import JOIN_TIMEOUT, TokenLog
from matrix.models.base import Workers

ISOLATED_APP = "popped_isolated"
"""The app whose context is pushed and popped: an app of its own, so that only this area's
teardown callback runs at the pop (the app set's other areas register callbacks of their own)."""


class Pops:
    """The isolated app, its teardown log, and the token of a pop elsewhere under way."""

    def __init__(self, workers: Workers) -> None:
        self.app = Flask(ISOLATED_APP)
        self.teardowns = TokenLog(workers)
        self.popping: list[str] = []
        self.app.teardown_appcontext(self.count_teardown)

    def count_teardown(self, exc: BaseException | None) -> None:
        """Filed per token: whether the callback could reach the context's g (it runs where the
        pop runs, which may be where the context is not)."""
        try:
            token, reached_g = g.get("popped_token"), True
        except RuntimeError:
            token, reached_g = (self.popping[-1] if self.popping else None), False
        if token is not None:
            self.teardowns.add(token, {"g": reached_g})

    def pushed(self, token: str) -> Any:
        ctx = self.app.app_context()
        ctx.push()
        g.popped_token = token
        return ctx

    def pop_elsewhere(self, token: str, ctx: Any, held: dict[str, Any]) -> None:
        self.popping.append(token)
        try:
            held["pop_elsewhere"] = observe_stable(ctx.pop)
        finally:
            self.popping.remove(token)
        held["teardowns_at_pop_elsewhere"] = self.teardowns.peek(token)

    def sees(self) -> bool:
        """Whether the calling side still has the isolated app's context (the one it pushed)."""
        try:
            return current_app._get_current_object() is self.app  # type: ignore[attr-defined]
        except RuntimeError:
            return False


def register(app: Flask, workers: Workers) -> None:
    pops = Pops(workers)
    area = Blueprint("popped", __name__, url_prefix="/popped")

    @area.get("/worker")
    def popped_in_another_worker() -> Any:
        """Worker A pushes and waits; worker B pops; then A looks and cleans up."""
        token = _token()
        held: dict[str, Any] = {}
        ready, done = workers.event(), workers.event()

        def pusher() -> None:
            try:
                held["ctx"] = pops.pushed(token)
            finally:
                ready.set()
            done.wait(JOIN_TIMEOUT)
            held["pusher_still_sees_it"] = pops.sees()
            held["pusher_pop"] = observe_stable(held["ctx"].pop)

        def popper() -> None:
            ready.wait(JOIN_TIMEOUT)
            try:
                pops.pop_elsewhere(token, held["ctx"], held)
            finally:
                done.set()

        a, b = workers.spawn(pusher), workers.spawn(popper)
        b.join(JOIN_TIMEOUT)
        a.join(JOIN_TIMEOUT)
        return _report(held, pops.teardowns.take(token))

    @area.get("/copied-context")
    def popped_in_another_context() -> Any:
        """In one worker: push inside one contextvars.Context, pop inside a fresh one, then look
        and clean up inside the first, as a test runner's fixture and test may run."""
        token = _token()
        held: dict[str, Any] = {}

        def run() -> None:
            pushing = contextvars.Context()
            held["ctx"] = pushing.run(pops.pushed, token)
            contextvars.Context().run(pops.pop_elsewhere, token, held["ctx"], held)
            held["pusher_still_sees_it"] = pushing.run(pops.sees)
            held["pusher_pop"] = pushing.run(observe_stable, held["ctx"].pop)

        workers.spawn(run).join(JOIN_TIMEOUT)
        return _report(held, pops.teardowns.take(token))

    app.register_blueprint(area)


def _token() -> str:
    return uuid.uuid4().hex


def _report(held: dict[str, Any], teardowns: list[Any]) -> dict[str, Any]:
    return {
        "pop_elsewhere": held.get("pop_elsewhere"),
        "teardowns_at_pop_elsewhere": held.get("teardowns_at_pop_elsewhere"),
        "pusher_still_sees_it": held.get("pusher_still_sees_it"),
        "pusher_pop": held.get("pusher_pop"),
        "teardowns_in_all": len(teardowns),
    }
