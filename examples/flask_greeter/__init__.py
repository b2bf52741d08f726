"""flask_greeter: greets each caller by name — the plugin's example of a Flask extension.

It keeps per-request state correctly in ``g`` (the name from the query string, else the one the
visitor logged in with, kept in the session cookie) — and, on purpose, one thing wrongly: the "last
visitor" lives in a module global, the bug that passes every single-request test and breaks in
production as soon as the server overlaps requests.
"""

from __future__ import annotations

from flask import Flask, g, request, session

_last_visitor: str | None = None


class Greeter:
    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        app.before_request(self._remember_name)
        app.extensions["greeter"] = self

    def _remember_name(self) -> None:
        g.greeter_name = request.args.get("name") or session.get("name", "stranger")

    def greeting(self) -> str:
        return f"Hello, {g.greeter_name}!"

    def note_visitor(self) -> None:
        global _last_visitor  # noqa: PLW0603 - the bug this example exists to show
        _last_visitor = g.greeter_name

    def last_visitor(self) -> str | None:
        return _last_visitor
