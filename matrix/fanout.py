"""A model's columns in several pytest processes at once: an environment's servers in parallel.

A column (one server under one Flask) is driven by one pytest process, one server process at a
time; processes share nothing but the records and logs folders, where each column writes its
own file. Most of a column's time is spent waiting on its server (bounded waits, a server that
runs one request at a time), so splitting the columns over processes finishes an environment
sooner than running them one after the other.

Each process's output is kept in a file and printed as one block when it ends, so outputs
never interleave. Ctrl-C or SIGTERM stops the columns still running (each pytest stops its own
server, whose process also dies with its parent) and reaps them before returning.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from queue import Queue
from typing import IO, Any

from matrix.launch.hygiene import die_with_parent, driver_environment

STOP_TIMEOUT = 15.0
"""Bound on a column's pytest stopping (and stopping its server) after SIGTERM, then SIGKILL."""
INTERRUPTED = 2
"""pytest's own exit code for an interrupted run."""


@dataclass
class ColumnProcess:
    """One pytest process and the columns (servers) it runs, one after the other."""

    servers: list[str]
    command: list[str]
    output: IO[bytes] = field(default_factory=tempfile.TemporaryFile)  # closed by run_columns
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    returncode: int | None = None


def column_command(model: str, servers: Sequence[str], pytest_args: Sequence[str]) -> list[str]:
    """The pytest command line for some of a model's columns, one after the other, run through
    this module's entry point so that it dies with this process (see ``main``)."""
    selection = [f"--flask-model={model}", f"--flask-server={','.join(servers)}"]
    return [sys.executable, "-m", "matrix.fanout", str(os.getpid()), *pytest_args, *selection]


def split_columns(servers: Sequence[str], processes: int) -> list[list[str]]:
    """Deal the servers round-robin into at most ``processes`` groups, registry order kept."""
    count = max(1, min(processes, len(servers)))
    return [list(servers[i::count]) for i in range(count)]


def run_columns(
    model: str, servers: Sequence[str], pytest_args: Sequence[str], jobs: int, out: IO[str] | None = None
) -> int:
    """Run the servers' columns dealt over ``jobs`` pytest processes, all at once; print each
    process's output when it ends.

    Returns 0 if every process passed, else the first non-zero exit code in the order the
    processes were dealt (pytest's: 1 red cells, 3 a server that would not start, ...), or 2 when
    interrupted.
    """
    out = out or sys.stdout
    groups = split_columns(servers, jobs)
    columns = [ColumnProcess(group, column_command(model, group, pytest_args)) for group in groups]
    finished: Queue[ColumnProcess] = Queue()
    env = driver_environment()  # everything started for this run carries this process's pid
    launching = threading.Lock()  # an interrupt and a launch never cross: no column starts late
    stop = threading.Event()

    def run(column: ColumnProcess) -> None:
        with launching:
            if not stop.is_set():
                column.started = time.monotonic()
                # Own session: a terminal's Ctrl-C reaches this process only, which then stops
                # each pytest once (a second interrupt could cut its cleanup short).
                column.process = subprocess.Popen(
                    column.command,
                    stdout=column.output,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
        if column.process is not None:
            column.returncode = column.process.wait()
        finished.put(column)

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    threads = [threading.Thread(target=run, args=(column,), daemon=True) for column in columns]
    try:
        for thread in threads:
            thread.start()
        for _ in columns:
            _print_column(finished.get(), out)
    except KeyboardInterrupt:
        with launching:
            stop.set()
        _stop_all(columns)
        print(f"flask-matrix: interrupted; stopped {model}'s columns", file=sys.stderr, flush=True)
        return INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        for column in columns:
            column.output.close()
    return next((c.returncode for c in columns if c.returncode), 0) or 0


def _raise_interrupt(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: a repeat must not cut the stopping short
    raise KeyboardInterrupt


def _stop_all(columns: list[ColumnProcess]) -> None:
    """SIGTERM every running column, SIGKILL the ones still running after the bound; reap all."""
    running = [c.process for c in columns if c.process is not None and c.process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _print_column(column: ColumnProcess, out: IO[str]) -> None:
    elapsed = time.monotonic() - column.started if column.started else 0.0
    column.output.seek(0)
    text = column.output.read().decode(errors="replace")
    status = "not started" if column.returncode is None else f"exit {column.returncode}"
    out.write(f"\n==== {', '.join(column.servers)}: {status} in {elapsed:.1f} s ====\n{text}")
    out.flush()


def default_jobs(servers: Sequence[str]) -> int:
    """Half as many processes as columns (rounded up): a column mostly waits on its server, but
    each pytest process costs a start-up's CPU, and on a small machine running the whole matrix
    CPU is what runs out first; two columns per process overlap the waiting at half the cost."""
    return max(1, (len(servers) + 1) // 2)


def main(argv: list[str]) -> None:
    """``python -m matrix.fanout PARENT_PID PYTEST_ARGS...``: become that pytest, set to get
    SIGTERM when the fan-out dies (even SIGKILLed), so that it stops its server and exits."""
    die_with_parent(int(argv[0]), signal.SIGTERM)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *argv[1:]])


if __name__ == "__main__":
    main(sys.argv[1:])
