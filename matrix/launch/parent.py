"""The parent side of a live server: start it, wait for it, calibrate it, stop and reap it.

Start-up is a fixed sequence of steps, each bounded, each failure one line naming model, server and
log (``ServerStartError``):

1. bind 127.0.0.1 on a port the OS picks (so the port is known before the server starts and
   nothing else can take it);
2. spawn ``matrix.launch.child`` in a new process group, handing it the listening socket; the
   parent closes its own copy at once, so a server that dies makes the next step fail fast;
3. wait for the answer to ``/ready``, queued in the socket's backlog until the server accepts it
   (no polling, but for a program server still handing its socket to a worker);
4. run the calibration that answer announces (the matrix's app set measures how many requests
   the server runs at once; a project's own app announces none).

This module never imports a model library: the process driving the checks stays unpatched.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matrix.client import CheckTimeout, LiveClient
from matrix.launch.hygiene import driver_environment, stop_group
from matrix.launch.servers import SERVERS, check_server_names, default_server

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
BACKLOG = 1024
"""Above the largest wave a check sends (100), so no connection is refused while a server is busy."""
READY_RETRY = 0.02
"""How soon to ask again while a program server is still handing its socket to a worker."""


class ServerStartError(RuntimeError):
    """The server did not come up; the message is one line naming model, server and log."""


class LiveServer:
    """A running server process (group) for one model, server and app; ``stop()`` reaps it."""

    def __init__(  # noqa: PLR0917 - a plain record of the started process
        self, model: str, server: str, app: str, log_path: Path, process: subprocess.Popen[bytes], port: int
    ) -> None:
        self.model = model
        self.server = server
        self.app = app
        self.log_path = log_path
        self.process = process
        self.port = port
        self.calibration: dict[str, Any] | None = None
        """What the app measured of the server at start (None for an app that announces nothing)."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the whole process group (the server's stop signal, then SIGKILL); idempotent."""
        _RUNNING.discard(self)
        stop_group(self.process, SERVERS[self.server].stop_signal, STOP_TIMEOUT)


_RUNNING: set[LiveServer] = set()


@atexit.register
def _stop_all() -> None:
    """Backstop for an interpreter exit that skipped the fixtures' teardown."""
    for server in list(_RUNNING):
        server.stop()


def bind_loopback() -> socket.socket:
    """A TCP socket listening on 127.0.0.1, on a port the OS picks."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(BACKLOG)
    return sock


def _spawn(  # noqa: PLR0917 - the child's orders
    model: str,
    server: str,
    app: str,
    log_path: Path,
    config: Mapping[str, Any],
    setup: str | None,
    in_flight: bool,
) -> LiveServer:
    """Steps 1 and 2: bind, then start the child on the socket in its own session."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        listener = bind_loopback()
    except OSError as exc:
        raise ServerStartError(f"{model}/{server}: cannot bind 127.0.0.1: {exc.strerror}") from None
    with listener as sock, open(log_path, "ab") as log:
        command = [sys.executable, "-m", "matrix.launch.child", "--model", model, "--server", server]
        command += ["--app", app, "--fd", str(sock.fileno()), "--parent-pid", str(os.getpid())]
        command += ["--config", json.dumps(dict(config))] + (["--setup", setup] if setup else [])
        command += ["--in-flight"] if in_flight else []
        process = subprocess.Popen(
            command,
            env=driver_environment(),  # inherited by everything the server starts
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
            # Own session and process group: a terminal's Ctrl-C reaches the driver, which then
            # stops the group in order; stop() signals the whole group (forked workers too).
            start_new_session=True,
        )
        port = sock.getsockname()[1]
    live = LiveServer(model, server, app, log_path, process, port)
    _RUNNING.add(live)
    return live


def _ready(url: str, process: subprocess.Popen[bytes], deadline: float) -> bytes | None:
    """Step 3: one GET of ``url``; the body of a 200 answer (``b""`` for any other HTTP answer),
    or None if the server never answered.

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
            time.sleep(READY_RETRY)
    return None


def calibrate(base_url: str, ready_answer: bytes, timeout: float) -> dict[str, Any] | None:
    """Step 4: run the calibration the app announced in its ``/ready`` answer.

    The matrix's app set answers ``{"calibrate": {"path": ..., "requests": N}}``: N concurrent
    requests to that path measure how many requests the server runs inside the app at once,
    which the app's gates then use (see ``apps.gate.ServerCapacity``). Every answer reports the
    one figure the wave measured; returns it, or None for an app that announces nothing.
    """
    try:
        ready = json.loads(ready_answer) if ready_answer else None
    except json.JSONDecodeError:
        return None
    plan = ready.get("calibrate") if isinstance(ready, dict) else None
    if not isinstance(plan, dict):
        return None
    client = LiveClient(base_url, timeout)
    path, count = str(plan["path"]), int(plan["requests"])
    wave = f"calibrate-{time.monotonic_ns()}"
    answers = client.concurrently(lambda _: client.json(path, {"wave": wave, "size": count}), range(count))
    measured: dict[str, Any] = answers[0]
    if not (isinstance(measured, dict) and measured.get("measured")) or any(a != measured for a in answers):
        raise AssertionError(f"calibration at {path} failed: {measured!r}")
    return measured


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def serve_in_subprocess(  # noqa: PLR0917 - the steps' parameters
    model: str,
    app: str,
    log_path: Path,
    server: str | None = None,
    timeout: float = START_TIMEOUT,
    calibration_timeout: float | None = START_TIMEOUT,
    config: Mapping[str, Any] | None = None,
    setup: str | None = None,
    in_flight: bool = False,
) -> LiveServer:
    """Serve ``app`` under ``model`` with ``server`` (default: the model's first) on 127.0.0.1, and
    return once it answered ``/ready`` and (unless ``calibration_timeout`` is None) was calibrated.

    Raises ``UnknownModel``/``UnknownServer`` for names outside the registry, before any process,
    and ``ServerStartError`` (one line, with the log path) when a step fails.
    """
    server = server or default_server(model)
    check_server_names(model, server)
    live = _spawn(model, server, app, log_path, config or {}, setup, in_flight)
    ready = _ready(f"{live.base_url}/ready", live.process, time.monotonic() + timeout)
    if ready is None:
        live.stop()
        why = _last_line(log_path) or f"no answer within {timeout:g} s"
        raise ServerStartError(
            f"{model}/{server}: server for {app} failed to start (exit {live.process.returncode}): "
            f"{why} — log: {log_path}"
        )
    if calibration_timeout is not None:
        try:
            live.calibration = calibrate(live.base_url, ready, calibration_timeout)
        except (AssertionError, CheckTimeout, OSError) as exc:
            live.stop()
            raise ServerStartError(
                f"{model}/{server}: the app's calibration failed: {exc} — log: {log_path}"
            ) from exc
    return live
