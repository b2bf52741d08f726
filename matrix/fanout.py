"""A model's columns in several pytest processes at once: an environment's servers in parallel.

A column (one server under one Flask) is driven by one pytest process, one server process at a
time; processes share nothing but the records and logs folders, where each column writes its
own file. Most of a column's time is spent waiting on its server (bounded waits, a server that
runs one request at a time), so splitting the columns over processes finishes an environment
sooner than running them one after the other.

Each process's full output goes to a log file beside the servers' logs; the console gets a status
line while the columns run (on a terminal), each red cell as it appears, and one summary line per
column (``matrix.progress``), so outputs never interleave. Ctrl-C or SIGTERM stops the columns
still running (each pytest stops its own server, whose process also dies with its parent) and
reaps them before returning.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import IO, Any

from matrix.launch.hygiene import die_with_parent, driver_environment
from matrix.progress import ColumnProgress, column_summary, log_tail, record_path, status_line

STOP_TIMEOUT = 15.0
"""Bound on a column's pytest stopping (and stopping its server) after SIGTERM, then SIGKILL."""
INTERRUPTED = 2
"""pytest's own exit code for an interrupted run."""
TICK = 0.5
"""How often the status line is redrawn."""
DEFAULT_LOGS = Path(".matrix/logs")
"""The plugin's default ``--flask-logs``."""


@dataclass
class ColumnProcess:
    """One pytest process and the columns (servers) it runs, one after the other."""

    servers: list[str]
    command: list[str]
    log: Path
    progress: list[ColumnProgress] = field(default_factory=list)
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


def option(pytest_args: Sequence[str], name: str) -> str | None:
    """The value of pytest option ``name`` (``--name=value`` or ``--name value``), if given."""
    for index, arg in enumerate(pytest_args):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and index + 1 < len(pytest_args):
            return pytest_args[index + 1]
    return None


def run_columns(  # noqa: PLR0915 - one loop over the columns' life: start, watch, report, stop
    model: str, servers: Sequence[str], pytest_args: Sequence[str], jobs: int, out: IO[str] | None = None
) -> int:
    """Run the servers' columns dealt over ``jobs`` pytest processes, all at once; show their
    progress, and a summary of each when it ends (its full output in its log).

    Returns 0 if every process passed, else the first non-zero exit code in the order the
    processes were dealt (pytest's: 1 red cells, 3 a server that would not start, ...), or 2 when
    interrupted.
    """
    out = out or sys.stdout
    since = time.time()  # a record older than this is a previous run's
    logs = Path(option(pytest_args, "--flask-logs") or DEFAULT_LOGS)
    records = option(pytest_args, "--flask-records")
    environment = option(pytest_args, "--flask-environment") or model
    logs.mkdir(parents=True, exist_ok=True)
    columns = [
        ColumnProcess(
            group,
            column_command(model, group, pytest_args),
            logs / f"{environment}--{'+'.join(group)}.pytest.log",
            [
                ColumnProgress(s, record_path(Path(records) if records else None, environment, s), since)
                for s in group
            ],
        )
        for group in split_columns(servers, jobs)
    ]
    watched = [p for c in columns for p in c.progress]
    live = out.isatty()
    started = time.monotonic()
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
                with open(column.log, "wb") as log:
                    column.process = subprocess.Popen(
                        column.command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
                    )
        if column.process is not None:
            column.returncode = column.process.wait()
        finished.put(column)

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    threads = [threading.Thread(target=run, args=(column,), daemon=True) for column in columns]
    try:
        for thread in threads:
            thread.start()
        left = len(columns)
        while left:
            try:
                ended: ColumnProcess | None = finished.get(timeout=TICK)
            except Empty:
                ended = None
            lines = [f"RED {p.server}: {red}" for p in watched for red in p.refresh()]
            if ended is not None:
                left -= 1
                lines += _summaries(ended)
            if live:
                out.write("\r\x1b[K")  # the status line gives way to what is printed
            for line in lines:
                out.write(line + "\n")
            if live and left:
                out.write(status_line(environment, watched, time.monotonic() - started))
            out.flush()
    except KeyboardInterrupt:
        with launching:
            stop.set()
        _stop_all(columns)
        print(f"flask-matrix: interrupted; stopped {model}'s columns", file=sys.stderr, flush=True)
        return INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
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


def _summaries(column: ColumnProcess) -> list[str]:
    """The lines for a column that ended: one per server, and the log's tail where it failed
    with no record to tell why (a server that would not start, a usage error)."""
    elapsed = time.monotonic() - column.started if column.started else 0.0
    lines = []
    for progress in column.progress:
        progress.refresh()
        lines.append(column_summary(progress, column.returncode, elapsed, column.log))
    if column.returncode not in (0, 1, None) or not any(p.outcomes for p in column.progress):
        tail = log_tail(column.log)
        lines += [tail] if tail else []
    return lines


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
