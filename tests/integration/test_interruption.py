"""Interrupting a run at a random moment leaves no process behind, no torn record, a record
marked incomplete, and a next run that starts cleanly."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from matrix.launch.hygiene import processes_of_driver
from matrix.launch.servers import servers_of
from matrix.records import read_record

ROOT = Path(__file__).resolve().parents[2]
SETTLE = 10.0  # bound on everything a killed run leaves to exit


def spawn(*module_and_args: str) -> subprocess.Popen[bytes]:
    """``python -m MODULE ARGS`` in the project root, output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", *module_and_args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # A test runner may have inherited an ignored SIGINT; a user's terminal would not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - no threads yet
    )


def checks_args(records: Path) -> list[str]:
    return [
        "tests/checks",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--flask-records={records}",
        f"--flask-logs={records / 'logs'}",
    ]


def start_run(records: Path, *extra: str) -> subprocess.Popen[bytes]:
    """One pytest: the gevent model's columns, one after the other."""
    return spawn("pytest", *checks_args(records), "--flask-model=gevent", "--flask-server=all", *extra)


def start_fan_out(records: Path, *extra: str) -> subprocess.Popen[bytes]:
    """``flask-matrix checks``: the asgi model's columns in two pytest processes."""
    return spawn("matrix.cli", "checks", "--model=asgi", "--jobs=2", "--", *checks_args(records), *extra)


def wait_until_gone(driver: int) -> list[int]:
    deadline = time.monotonic() + SETTLE
    while (left := processes_of_driver(driver)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


COMMANDS = {
    # name: (start, when to interrupt (s, bounds of a seeded random moment), records it writes)
    "pytest": (start_run, (0.3, 2.5), len(servers_of("gevent"))),
    "fan-out": (start_fan_out, (1.0, 3.0), len(servers_of("asgi"))),
}


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["int", "term", "kill"]
)
@pytest.mark.parametrize(("command", "seed"), [("pytest", 1), ("pytest", 2), ("fan-out", 1)])
def test_interrupted_run_leaves_nothing_behind(command: str, seed: int, signum: int, tmp_path: Path) -> None:
    """Whatever the signal and moment, for one pytest or for flask-matrix checks (even SIGKILL,
    which neither can handle): no pytest, server or worker survives, every record on disk parses
    and says incomplete, and the same command then runs to complete records."""
    start, (earliest, latest), count = COMMANDS[command]
    run = start(tmp_path)
    time.sleep(random.Random(seed * 100 + signum).uniform(earliest, latest))  # seeded moment
    assert run.poll() is None, "the run ended before the moment chosen to interrupt it"
    run.send_signal(signum)
    run.wait(timeout=60)
    assert wait_until_gone(run.pid) == []
    for path in tmp_path.glob("*.json"):
        assert read_record(path).complete is False
    rerun = start(tmp_path, "-k", "isolation or teardown")
    assert rerun.wait(timeout=120) == 0
    records = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert len(records) == count and all(r["complete"] for r in records)
    assert wait_until_gone(rerun.pid) == []
