"""Where a view keeps its per-request marker: ``g`` (correct) or a module global (the bug).

The module-global store is the classic mistake the isolation check exists to catch; the project's
own tests serve ``apps.leaky`` to prove the check fails wherever requests really overlap.
"""

from __future__ import annotations

from typing import Protocol

from flask import Flask, g

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
