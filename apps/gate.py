"""Rendezvous points that make overlap deterministic instead of hoped-for.

A ``Gate`` opens when ``size`` participants have arrived or, bounded, when ``timeout`` passes.
A timed-out gate stays open (broken), so a server that serialises requests pays the timeout once,
not once per request. Every gate also counts how many participants were inside at once: that is
the "in flight" figure in a check's detail, which shows a pass obtained without overlap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from matrix.models.base import Workers


class Gate:
    def __init__(self, workers: Workers, size: int, timeout: float) -> None:
        self._lock = threading.Lock()  # cooperative under gevent/eventlet: created after patching
        self._opened = workers.event()
        self.size = size
        self.timeout = timeout
        self.arrived = 0
        self.inside = 0
        self.max_inside = 0
        self.broken = False

    def enter(self) -> None:
        """Count one participant in and wait (yielding) until the gate opens."""
        with self._lock:
            self.arrived += 1
            self.inside += 1
            self.max_inside = max(self.max_inside, self.inside)
            if self.arrived >= self.size:
                self._opened.set()
        if not self._opened.wait(self.timeout):
            with self._lock:
                self.broken = True
            self._opened.set()

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1


class GateRegistry:
    """Gates shared by concurrent requests of one wave, keyed by the client's wave id."""

    def __init__(self, workers: Workers, keep: int = 64) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._gates: OrderedDict[str, Gate] = OrderedDict()
        self._keep = keep

    def get(self, wave: str, size: int, timeout: float) -> Gate:
        with self._lock:
            gate = self._gates.get(wave)
            if gate is None:
                gate = self._gates[wave] = Gate(self._workers, size, timeout)
                while len(self._gates) > self._keep:
                    self._gates.popitem(last=False)
            return gate
