"""The parent side of a live server: bind the socket, start the server on it, wait, stop, reap.

The launcher binds 127.0.0.1 on an OS-picked port and hands the listening socket to the server
process (``matrix.serve``), so the port is known up front and readiness is one event: the first
``/ready`` request, queued in the socket's backlog until the server accepts it (no polling). The
launcher closes its own copy at once, so a server that dies makes that request fail fast. This
module never imports a model library: the process driving the checks stays unpatched.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from matrix.models import SERVERS, check_server_names, default_server

DRIVER_ENV = "FLASK_MATRIX_DRIVER"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


class ServerStartError(RuntimeError):
    """The server did not come up; the message is one line naming model, server and log."""


class LiveServer:
    """A running server process (group) for one model, server and app; ``stop()`` reaps it."""

    def __init__(  # noqa: PLR0917 - a plain record of the started process
        self,
        model: str,
        server: str,
        app: str,
        log_path: Path,
        process: subprocess.Popen[bytes],
        port: int,
    ) -> None:
        self.model = model
        self.server = server
        self.app = app
        self.log_path = log_path
        self.process = process
        self.port = port
        self.ready_answer = b""
        """The body of the app's answer to ``/ready`` (empty if it was not a 200)."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)  # the server and any workers it forked

    def stop(self) -> None:
        """Signal the process group (the server's stop signal, SIGTERM for most), SIGKILL it after
        ``STOP_TIMEOUT``; always reaps. Idempotent."""
        _RUNNING.discard(self)
        if self.process.poll() is None:
            self._signal_group(SERVERS[self.server].stop_signal)  # a registry name: see serve_in_subprocess
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
        self._signal_group(signal.SIGKILL)  # workers a program server left behind, if any
        # Those orphans are reaped by init, not by us: wait (bounded) until the group is empty,
        # so that "stopped" means no process of it is left.
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.01)

    def restart(self) -> LiveServer:
        """Stop this server and start a fresh one like it (same log file)."""
        self.stop()
        return serve_in_subprocess(self.model, self.app, self.log_path, server=self.server)


_RUNNING: set[LiveServer] = set()


@atexit.register
def _stop_all() -> None:
    """Backstop for an interpreter exit that skipped the fixtures' teardown."""
    for server in list(_RUNNING):
        server.stop()


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def _ready(url: str, process: subprocess.Popen[bytes], deadline: float) -> bytes | None:
    """One GET of ``url``, queued in the listening socket until the server accepts it; the body
    of a 200 answer (``b""`` for any other HTTP answer), or None if the server never answered.

    A refused or reset connection means nothing listens any more: the server died (then None at
    once) or a program server is still handing its socket to a worker (then ask again).
    """
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=max(0.1, deadline - time.monotonic())) as answer:
                return bytes(answer.read())
        except urllib.error.HTTPError:
            return b""  # any HTTP answer means the app is served (a user's app has no /ready)
        except (urllib.error.URLError, OSError):
            if process.poll() is not None:
                return None
            time.sleep(0.02)
    return None


def bind_loopback() -> socket.socket:
    """A TCP socket listening on 127.0.0.1, on a port the OS picks."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


def serve_in_subprocess(
    model: str, app: str, log_path: Path, timeout: float = START_TIMEOUT, server: str | None = None
) -> LiveServer:
    """Serve ``app`` under ``model`` with ``server`` (default: the model's first) on 127.0.0.1 in
    a new process group, and return once it answers ``/ready``.

    Raises ``UnknownModel``/``UnknownServer`` for names outside the registry, before any process,
    and ``ServerStartError`` (one line, with the log path) when the server dies or never answers.
    """
    server = server or default_server(model)
    check_server_names(model, server)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        listener = bind_loopback()
    except OSError as exc:
        raise ServerStartError(f"{model}/{server}: cannot bind 127.0.0.1: {exc.strerror}") from None
    with listener as sock, open(log_path, "ab") as log:
        port = sock.getsockname()[1]
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "matrix.serve",
                "--model",
                model,
                "--server",
                server,
                "--app",
                app,
                "--fd",
                str(sock.fileno()),
                "--parent-pid",
                str(os.getpid()),
            ],
            # Inherited by everything the server starts (exec'd programs, forked workers), so any
            # process a driver left behind can be found: see processes_of_driver().
            # A driver that is one of several a fan-out started keeps the fan-out's pid.
            env={**os.environ, DRIVER_ENV: os.environ.get(DRIVER_ENV) or str(os.getpid())},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
            # Own session and process group: a terminal's Ctrl-C reaches the driver, which then
            # stops the group in order; stop() signals the whole group (forked workers too).
            start_new_session=True,
        )
    live = LiveServer(model, server, app, log_path, process, port)
    _RUNNING.add(live)
    ready = _ready(f"{live.base_url}/ready", process, time.monotonic() + timeout)
    if ready is None:
        live.stop()
        why = _last_line(log_path) or f"no answer within {timeout:g} s"
        raise ServerStartError(
            f"{model}/{server}: server for {app} failed to start (exit {process.returncode}): "
            f"{why} — log: {log_path}"
        )
    live.ready_answer = ready
    return live


def processes_of_driver(driver_pid: int) -> list[int]:
    """PIDs of live processes started for the driver ``driver_pid`` (Linux /proc; zombies excluded)."""
    marker = f"{DRIVER_ENV}={driver_pid}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                if marker not in environ.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
        except OSError:
            continue
        found.append(int(entry))
    return found
