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

from matrix.records import read_record
from matrix.server import processes_of_driver

ROOT = Path(__file__).resolve().parents[2]
SETTLE = 10.0  # bound on everything a killed run leaves to exit


def start_run(records: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/checks",
            "-q",
            "-p",
            "no:cacheprovider",
            "--flask-model=gevent",
            "--flask-server=all",
            f"--flask-records={records}",
            f"--flask-logs={records / 'logs'}",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # A test runner may have inherited an ignored SIGINT; a user's terminal would not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - no threads yet
    )


def start_fan_out(records: Path, *extra: str) -> subprocess.Popen[bytes]:
    """``flask-matrix checks``: the asgi model's four columns in two pytest processes."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "matrix.cli",
            "checks",
            "--model=asgi",
            "--jobs=2",
            "--",
            "tests/checks",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--flask-records={records}",
            f"--flask-logs={records / 'logs'}",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - no threads yet
    )


def wait_until_gone(driver: int) -> list[int]:
    deadline = time.monotonic() + SETTLE
    while (left := processes_of_driver(driver)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["int", "term", "kill"]
)
@pytest.mark.parametrize("seed", [1, 2])
def test_interrupted_run_leaves_nothing_behind(signum: int, seed: int, tmp_path: Path) -> None:
    """Whatever the signal and moment: no server or worker survives, every record on disk parses
    and says incomplete, and the same command then runs to a complete record."""
    run = start_run(tmp_path)
    time.sleep(random.Random(seed * 100 + signum).uniform(0.3, 2.5))  # the random moment, seeded
    assert run.poll() is None, "the run ended before the moment chosen to interrupt it"
    run.send_signal(signum)
    run.wait(timeout=60)
    assert wait_until_gone(run.pid) == []
    for path in tmp_path.glob("*.json"):
        assert read_record(path).complete is False
    rerun = start_run(tmp_path, "-k", "isolation or teardown")
    assert rerun.wait(timeout=120) == 0
    records = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert records and all(r["complete"] for r in records)
    assert wait_until_gone(rerun.pid) == []


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["int", "term", "kill"]
)
def test_interrupted_fan_out_leaves_nothing_behind(signum: int, tmp_path: Path) -> None:
    """Interrupting flask-matrix checks (even SIGKILL, which it cannot handle) stops every pytest
    it started and every server those started; records on disk parse and say incomplete; the
    same command then completes."""
    run = start_fan_out(tmp_path)
    time.sleep(random.Random(signum).uniform(1.0, 3.0))  # the random moment, seeded
    assert run.poll() is None, "the run ended before the moment chosen to interrupt it"
    run.send_signal(signum)
    run.wait(timeout=60)
    assert wait_until_gone(run.pid) == []
    for path in tmp_path.glob("*.json"):
        assert read_record(path).complete is False
    rerun = start_fan_out(tmp_path, "-k", "isolation or teardown")
    assert rerun.wait(timeout=120) == 0
    records = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert len(records) == 4 and all(r["complete"] for r in records)
    assert wait_until_gone(rerun.pid) == []
