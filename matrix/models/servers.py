"""In-process servers beyond each model's default (program servers need no code: a registry row)."""

from __future__ import annotations

from matrix.models.base import WSGIApp


def serve_waitress(app: WSGIApp, fd: int) -> None:
    """waitress with its default 4 threads, on the launcher's listening socket."""
    import socket

    import waitress

    waitress.serve(app, sockets=[socket.socket(fileno=fd)], _quiet=True)
