"""ASGI: hypercorn's asyncio worker serving ``asgiref.wsgi.WsgiToAsgi(app)``.

Nothing is patched. ``WsgiToAsgi`` runs the WSGI app through ``sync_to_async`` (thread-sensitive
by default), so a sync view runs in a worker thread and an ``async def`` view is handed back to
hypercorn's event loop by Flask's ``async_to_sync``. Sync code's native worker is therefore a
thread, the same primitive as the threads model.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.wsgi import WsgiToAsgi
from hypercorn.asyncio import serve
from hypercorn.config import Config

from matrix.models.base import WSGIApp
from matrix.models.threads import ThreadWorkers


class AsgiModel:
    name = "asgi"

    def patch(self) -> None:
        """asyncio needs no patching."""

    def workers(self) -> ThreadWorkers:
        return ThreadWorkers()

    def serve(self, app: WSGIApp, fd: int) -> None:
        serve_hypercorn(WsgiToAsgi(app), fd)  # type: ignore[no-untyped-call]


def serve_hypercorn(asgi_app: Any, fd: int) -> None:
    """hypercorn's asyncio worker on the listening socket ``fd`` (adopted through fd://)."""
    config = Config()
    config.bind = [f"fd://{fd}"]
    config.accesslog = None
    asyncio.run(serve(asgi_app, config))


MODEL = AsgiModel()
