"""``python -m matrix.launch.granian --fd N ARGS``: Granian's own CLI, serving on the launcher's socket.

Granian binds its listener itself, from ``--host``/``--port`` (on Linux each worker builds it again
from that address); it has no option to take a socket that is already listening. Every other server
here serves the socket the launcher bound on 127.0.0.1, port 0, so that no port is ever guessed or
raced for. This module gives Granian that socket the way Granian itself hands a socket to its
workers on the platforms where it shares one (its ``SocketHolder`` around an inherited fd), then
runs Granian's CLI, ``granian.cli.entrypoint``, with the remaining arguments unchanged: the
interface, the worker and thread options, the app, everything else is Granian's own.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from matrix.launch.hygiene import die_with_parent


def _serve_on(fd: int) -> None:
    from granian import _granian
    from granian.server.common import AbstractServer

    holder: Any = _granian.SocketHolder  # (fd, is_uds, backlog); its stub omits the constructor

    def init_shared_socket(server: Any) -> None:
        server._ssp = None
        server._shd = holder(fd, False, server.backlog)
        server._sfd = fd

    AbstractServer._init_shared_socket = init_shared_socket  # type: ignore[method-assign]


def _workers_die_with_this_process() -> None:
    """Granian forks its worker (multiprocessing) and the worker does not watch its parent: when
    the launcher SIGKILLs this process (its die-with-parent request, or the group's stop), a worker
    forked from it would be left serving, orphaned. Each forked child asks Linux to SIGKILL it
    when this process dies, as the launcher asks for this one."""
    main = os.getpid()
    os.register_at_fork(after_in_child=lambda: die_with_parent(main))


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "--fd" or not argv[1].isdigit():
        raise SystemExit("usage: python -m matrix.launch.granian --fd N GRANIAN-ARGS...")
    _serve_on(int(argv[1]))
    _workers_die_with_this_process()
    from granian.cli import entrypoint

    sys.argv = ["granian", *argv[2:]]
    entrypoint()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main(sys.argv[1:])
