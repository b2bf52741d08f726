"""The parent side of a live server: start it in its own process, wait until ready, stop, reap.

The server process is patched and served by ``matrix.serve``; this module never imports a model
library, so the process driving the checks stays unpatched. Readiness is two events, each bounded:
the child writes its bound port to a pipe (EOF first means it died), then ``/ready`` answers.
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from matrix.models import check_model_name

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


class ServerStartError(RuntimeError):
    """The server did not come up; the message is one line naming the model and the log."""


class LiveServer:
    """A running server process for one model and one app; ``stop()`` kills and reaps it."""

    def __init__(
        self, model: str, app: str, log_path: Path, process: subprocess.Popen[bytes], port: int
    ) -> None:
        self.model = model
        self.app = app
        self.log_path = log_path
        self.process = process
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``STOP_TIMEOUT``; always reaps. Safe to call twice."""
        _RUNNING.discard(self)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> LiveServer:
        """Stop this server and start a fresh one for the same model and app (same log file)."""
        self.stop()
        return serve_in_subprocess(self.model, self.app, self.log_path)


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


def _read_port(fd: int, process: subprocess.Popen[bytes], deadline: float) -> int | None:
    """Wait for the child's port line on ``fd``; None on EOF (the child died) or at the deadline."""
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 64)
        if not chunk:
            return None
        data += chunk
    return int(data)


def _probe(url: str, deadline: float) -> bool:
    """GET ``url`` until it answers 200 or the deadline passes."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=max(0.1, deadline - time.monotonic())) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)  # the socket listens already; this only covers a slow first request
    return False


def serve_in_subprocess(model: str, app: str, log_path: Path, timeout: float = START_TIMEOUT) -> LiveServer:
    """Start ``app`` under ``model`` on 127.0.0.1 in a new process and return once it answers.

    Raises ``UnknownModel`` for a name outside the registry and ``ServerStartError`` (one line,
    with the log path) when the process dies, never announces its port, or never answers.
    """
    check_model_name(model)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "matrix.serve",
                "--model",
                model,
                "--app",
                app,
                "--announce-fd",
                str(write_fd),
                "--parent-pid",
                str(os.getpid()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            # Own session: a terminal's Ctrl-C reaches the driver, which then stops us in order.
            start_new_session=True,
        )
    os.close(write_fd)
    deadline = time.monotonic() + timeout
    try:
        port = _read_port(read_fd, process, deadline)
    finally:
        os.close(read_fd)
    server = LiveServer(model, app, log_path, process, port or 0)
    _RUNNING.add(server)
    if port is None or not _probe(f"{server.base_url}/ready", deadline):
        server.stop()
        why = _last_line(log_path) or f"no answer within {timeout:g} s"
        code = process.returncode
        raise ServerStartError(
            f"{model}: server for {app} failed to start (exit {code}): {why} — log: {log_path}"
        )
    return server
