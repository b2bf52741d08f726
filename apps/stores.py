"""Where a view keeps its per-request marker: ``g`` (correct) or a module global (the bug).

The module-global store is the classic mistake the isolation check exists to catch; the project's
own tests serve ``apps.leaky`` to prove the check fails wherever requests really overlap.
"""

from __future__ import annotations

from typing import Protocol

from flask import g


class MarkerStore(Protocol):
    def put(self, marker: str) -> None: ...

    def get(self) -> str | None: ...


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
