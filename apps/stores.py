"""Where a view keeps its per-request marker: ``g`` (correct) or a module global (the bug).

The module-global store is the classic mistake the isolation check exists to catch, and a session
kept in a module global its session twin; the project's own tests serve ``apps.leaky`` to prove
the checks fail wherever requests really overlap.
"""

from __future__ import annotations

from typing import Any, Protocol

from flask import Flask, g
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

MARKER_STORE = "matrix_marker_store"
"""Where ``create_app`` leaves the app's store, in ``app.extensions``."""


class MarkerStore(Protocol):
    def put(self, marker: str) -> None: ...

    def get(self) -> str | None: ...


def marker_store(app: Flask) -> MarkerStore:
    store: MarkerStore = app.extensions[MARKER_STORE]
    return store


class GStore:
    def put(self, marker: str) -> None:
        g.marker = marker

    def get(self) -> str | None:
        marker: str | None = g.get("marker")
        return marker


_MODULE_MARKER: str | None = None


class ModuleGlobalStore:
    def put(self, marker: str) -> None:
        global _MODULE_MARKER  # noqa: PLW0603 - the shared global is the bug this app plants
        _MODULE_MARKER = marker

    def get(self) -> str | None:
        return _MODULE_MARKER


_MODULE_SESSION: SecureCookieSession | None = None


class ModuleGlobalSessionInterface(SecureCookieSessionInterface):
    """The session bug: the first request's session object, kept in a module global and handed
    to every later request (a "cached" session), so requests read and write one another's."""

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        global _MODULE_SESSION  # noqa: PLW0603 - the shared global is the bug this app plants
        if _MODULE_SESSION is None:
            _MODULE_SESSION = super().open_session(app, request)
        return _MODULE_SESSION
