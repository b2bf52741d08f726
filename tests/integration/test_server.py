"""The launcher starts each model's server for real, on 127.0.0.1 only, and always reaps it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from matrix.launch.hygiene import processes_of_driver
from matrix.launch.parent import ServerStartError, serve_in_subprocess
from matrix.launch.servers import SERVERS
from matrix.models import UnknownModel
from tests.integration.sockets import listening_addresses

LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


@pytest.mark.parametrize(("model", "name"), [(info.model, name) for name, info in SERVERS.items()])
def test_server_answers_on_loopback_only_and_is_reaped(model: str, name: str, tmp_path: Path) -> None:
    """Every server answers /ready, listens on 127.0.0.1 alone, and stop() reaps its whole group."""
    server = serve_in_subprocess(model, "apps:create_app", tmp_path / f"{model}.log", server=name)
    try:
        with urllib.request.urlopen(f"{server.base_url}/ready", timeout=10) as response:
            assert response.status == 200
        assert listening_addresses(server.process.pid) == {(LOOPBACK_HEX, server.port)}
    finally:
        server.stop()
    assert server.process.returncode is not None
    assert f"under {model} with {SERVERS[name].label}" in (tmp_path / f"{model}.log").read_text()
    with pytest.raises(ProcessLookupError):
        os.killpg(server.process.pid, 0)  # nothing of the group survives (forked workers included)


def test_app_that_fails_to_import_is_one_line_with_the_log(tmp_path: Path) -> None:
    """A factory that raises is a ServerStartError naming the model, the cause and the log."""
    log = tmp_path / "broken.log"
    with pytest.raises(ServerStartError) as info:
        serve_in_subprocess("threads", "apps.faulty:create_broken_app", log)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("threads/werkzeug: server for apps.faulty:create_broken_app failed to start")
    assert "missing_blueprint" in message and str(log) in message


def test_unknown_model_is_refused_before_any_process(tmp_path: Path) -> None:
    """An unknown model name never starts a process."""
    with pytest.raises(UnknownModel, match="choose one of threads, gevent, eventlet, asgi"):
        serve_in_subprocess("trio", "apps:create_app", tmp_path / "x.log")
    assert not (tmp_path / "x.log").exists()


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("model", "name"),
    [("gevent", "pywsgi")] + [(info.model, name) for name, info in SERVERS.items() if info.program],
)
def test_server_dies_with_a_killed_driver(model: str, name: str, tmp_path: Path) -> None:
    """SIGKILL of the driving process (no cleanup runs) still takes the server down, with every
    process it started: a program server's workers too (Granian's worker does not watch its
    parent, gunicorn's does)."""
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from matrix.launch.parent import serve_in_subprocess
            server = serve_in_subprocess(
                {model!r}, "apps:create_app", Path({str(tmp_path)!r}) / "s.log", {name!r},
                calibration_timeout=None,
            )
            print(server.process.pid, flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as driver:
        assert driver.stdout is not None
        server_pid = int(driver.stdout.readline())
        started = processes_of_driver(driver.pid)
        assert server_pid in started
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    assert _gone(server_pid, within=10)
    deadline = time.monotonic() + 10
    while (left := processes_of_driver(driver.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []
