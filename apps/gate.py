"""Rendezvous points that make overlap deterministic instead of hoped-for.

A ``Gate`` opens when ``size`` participants have arrived, when as many are inside as the server
lets into the app at once (its measured ``ServerCapacity``), or, bounded, when ``timeout`` passes.
A timed-out gate stays open (broken), so a server that serialises requests pays the timeout once,
not once per request. Every gate also counts how many participants were inside at once: that is
the "in flight" figure in a check's detail, which shows a pass obtained without overlap.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from apps.shared import Keyed, yield_a_few
from matrix.models.base import Workers

CAPACITY_PROBE = 100
"""Requests in the wave that measures the server's capacity: the largest wave a check sends."""
CAPACITY_QUIET = 0.25
"""No new request for this long, with two or more inside: the server admits no more."""
CAPACITY_POLL = 0.05
"""How often a request inside the capacity probe looks whether it should open."""


class ServerCapacity:
    """How many requests the server runs inside the app at once, as ``/capacity`` measured it.

    ``limit`` is None until measured, and None when the measuring wave filled its gate (the server
    admitted every request it was sent: no limit that a check's wave would meet). A request gate
    whose ``inside`` reaches the limit opens at once: the participants still missing are queued in
    the server behind the ones holding the gate, so waiting for them only waits out the timeout.
    Measured with the same bound a gate uses, so it is as reliable as the gate it shortens: a
    participant that does not reach the app within the bound is treated as queued by both.
    """

    def __init__(self) -> None:
        self.limit: int | None = None
        self.measured = False

    def record(self, limit: int | None) -> None:
        self.limit, self.measured = limit, True

    def saturated(self, inside: int) -> bool:
        """True when ``inside`` requests fill the server: no other request can be let in now."""
        return self.limit is not None and inside >= self.limit

    def wait_for_another_request(self, event: Any, timeout: float) -> bool:
        """Wait (bounded) for ``event``, which another request sets. Where this request alone
        fills the server no other request runs until it returns, so only the present counts."""
        if self.saturated(1):
            return bool(event.is_set())
        return bool(event.wait(timeout))

    def to_json(self) -> dict[str, Any]:
        return {"measured": self.measured, "limit": self.limit}


class CapacityProbe:
    """The wave that measures a ``ServerCapacity``: ``size`` concurrent requests meet here.

    It opens when all have arrived (no limit a wave would meet), when at least two are inside and
    none has arrived for ``quiet`` seconds (the server overlaps requests but admits no more: its
    limit is the number inside), or, bounded, after ``timeout`` (the limit is how many were inside;
    1 for a server that runs one request at a time). Only the overlapping case is cut short: a
    limit of 1 would stop every gate from waiting for a second request, so it is concluded only
    after the same bound a gate waits for one.
    """

    def __init__(self, workers: Workers, size: int, timeout: float, quiet: float) -> None:
        self._lock = threading.Lock()
        self._opened = workers.event()
        self.size, self.timeout, self.quiet = size, timeout, quiet
        self.arrived = self.inside = self.max_inside = 0
        self._limit: int | None = None
        self._last_arrival = 0.0

    def enter(self) -> None:
        with self._lock:
            self.arrived += 1
            self.inside += 1
            self.max_inside = max(self.max_inside, self.inside)
            self._last_arrival = time.monotonic()
            if self.arrived >= self.size and not self._opened.is_set():
                self._opened.set()  # all arrived: no limit (``_limit`` stays None)
        deadline = time.monotonic() + self.timeout
        while not self._opened.wait(min(self.quiet, CAPACITY_POLL)):
            now = time.monotonic()
            with self._lock:
                overlapping_and_quiet = self.inside >= 2 and now - self._last_arrival >= self.quiet
                if not self._opened.is_set() and (now >= deadline or overlapping_and_quiet):
                    self._limit = self.max_inside
                    self._opened.set()

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1

    def limit(self) -> int | None:
        """The most inside at once when the probe opened short of ``size``; None if all came."""
        return self._limit


def server_capacity(app: Any) -> ServerCapacity:
    """The app's one ``ServerCapacity`` (one app per server process), shared by its request gates."""
    capacity: ServerCapacity = app.extensions.setdefault("matrix_server_capacity", ServerCapacity())
    return capacity


class Gate:
    """``capacity`` is given for gates whose participants are requests; gates between workers a
    view spawns itself are bounded by nothing the server does, and get None."""

    def __init__(
        self, workers: Workers, size: int, timeout: float, capacity: ServerCapacity | None = None
    ) -> None:
        self._lock = threading.Lock()  # cooperative under gevent/eventlet: created after patching
        self._opened = workers.event()
        self.size = size
        self.timeout = timeout
        self.capacity = capacity
        self.arrived = 0
        self.inside = 0
        self.max_inside = 0
        self.broken = False
        self.at_capacity = False

    def arrive(self) -> None:
        """Count one participant in; open the gate if it is full or fills the server."""
        with self._lock:
            self.arrived += 1
            self.inside += 1
            self.max_inside = max(self.max_inside, self.inside)
            if self.arrived >= self.size:
                self._opened.set()
            elif self.capacity is not None and self.capacity.saturated(self.inside):
                self.at_capacity = True
                self._opened.set()

    def enter(self) -> None:
        """Count one participant in and wait (yielding) until the gate opens."""
        self.arrive()
        if not self._opened.wait(self.timeout):
            with self._lock:
                self.broken = True
            self._opened.set()

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1

    def report(self) -> dict[str, Any]:
        """What a view returns about its gate: the overlap reached and how the gate opened."""
        return {
            "in_flight": self.max_inside,
            "gate_broken": self.broken,
            "gate_at_capacity": self.at_capacity,
        }


class GateRegistry:
    """Gates shared by concurrent requests of one wave, keyed by the client's wave id."""

    def __init__(self, workers: Workers, capacity: ServerCapacity | None = None) -> None:
        self._workers = workers
        self._capacity = capacity
        self._gates: Keyed[Gate] = Keyed()

    def get(self, wave: str, size: int, timeout: float) -> Gate:
        return self._gates.get(wave, lambda: Gate(self._workers, size, timeout, self._capacity))

    def hold(self, wave: str, size: int, timeout: float) -> Gate:
        """Join the wave's gate, wait there with the others, yield a few times inside (where
        another request may run), leave; the gate, whose ``report()`` the caller answers with."""
        gate = self.get(wave, size, timeout)
        gate.enter()
        try:
            yield_a_few(self._workers)
        finally:
            gate.leave()
        return gate
