"""ASGI: hypercorn's asyncio worker serving ``asgiref.wsgi.WsgiToAsgi(app)``.

Nothing is patched. ``WsgiToAsgi`` runs the WSGI app through ``sync_to_async`` (thread-sensitive
by default), so a sync view runs in a worker thread and an ``async def`` view is handed back to
hypercorn's event loop by Flask's ``async_to_sync``. Sync code's native worker is therefore a
thread, the same primitive as the threads model.
"""

from __future__ import annotations

import asyncio
import socket

from asgiref.wsgi import WsgiToAsgi
from hypercorn.asyncio import serve
from hypercorn.config import Config

from matrix.models.base import Announce, WSGIApp
from matrix.models.threads import ThreadWorkers


class AsgiModel:
    name = "asgi"
    server = "hypercorn + WsgiToAsgi"

    def patch(self) -> None:
        """asyncio needs no patching."""

    def workers(self) -> ThreadWorkers:
        return ThreadWorkers()

    def serve(self, app: WSGIApp, host: str, announce: Announce) -> None:
        # Bind the socket ourselves so the OS-picked port is known before hypercorn starts;
        # hypercorn adopts it through an fd:// bind.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        sock.listen(1024)
        config = Config()
        config.bind = [f"fd://{sock.fileno()}"]
        config.backlog = 1024
        config.accesslog = None
        announce(sock.getsockname()[1])
        asyncio.run(serve(WsgiToAsgi(app), config))  # type: ignore[no-untyped-call]


MODEL = AsgiModel()
