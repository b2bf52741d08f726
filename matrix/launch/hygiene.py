"""Process hygiene: nothing a run starts outlives it, and anything left over can be found.

Every process started for a driver (a pytest session, or the ``flask-matrix checks`` fan-out above
it) carries the driver's pid in ``FLASK_MATRIX_DRIVER``; children ask Linux to signal them when
their parent dies, even SIGKILLed; servers run in their own process group, which is stopped as a
whole and waited for until it is empty.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the child imports this module before patching: no subprocess (threading) then
    import subprocess

DRIVER_ENV = "FLASK_MATRIX_DRIVER"
"""Set in every process started for a driver: the driver's pid (see ``processes_of_driver``)."""
PR_SET_PDEATHSIG = 1
GROUP_EMPTY_POLL = 0.01
"""How often ``stop_group`` looks whether the group's last orphans are gone."""


def driver_environment() -> dict[str, str]:
    """This process's environment for a child: the driver pid kept if set, else this process's."""
    return {**os.environ, DRIVER_ENV: os.environ.get(DRIVER_ENV) or str(os.getpid())}


def die_with_parent(parent_pid: int, signum: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies, even SIGKILLed.

    The request survives exec, so it also covers a program server's master process. Exits at once
    if the parent died before the request took effect."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signum)
    if os.getppid() != parent_pid:
        os._exit(1)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def stop_group(process: subprocess.Popen[bytes], stop_signal: int, timeout: float) -> None:
    """Stop the process group ``process`` leads: ``stop_signal``, SIGKILL after ``timeout``;
    always reaps ``process``, then waits (bounded) until no process of the group is left."""
    import subprocess

    if process.poll() is None:
        _signal_group(process.pid, stop_signal)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
    _signal_group(process.pid, signal.SIGKILL)  # workers a program server left behind, if any
    # Those orphans are reaped by init, not by us: "stopped" means no process of the group is left.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(GROUP_EMPTY_POLL)


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
