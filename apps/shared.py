"""What every area of the app set shares: its time bounds, the cooperative yield, bounded state
per token, the log a later request reads, and the mailbox that parks a worker past the response.

Locks are created when a store is (after the model patched ``threading``), so under gevent and
eventlet they are cooperative; events come from the model's ``workers.event()``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from matrix.models.base import Event, Worker, Workers

JOIN_TIMEOUT = 20.0
"""Bound on waiting for a worker; below the checks' own timeout so a hang is reported here."""
GATE_TIMEOUT = 2.0
"""Bound on a rendezvous; a server that cannot overlap participants pays it once per wave."""
KEEP = 64
"""Tokens a store keeps at most: the oldest go first (a check that failed midway leaves some)."""

T = TypeVar("T")


def yield_a_few(workers: Workers, times: int = 5) -> None:
    """Cooperative yields: the points where another request or worker may run."""
    for _ in range(times):
        workers.sleep(0.001)


class Keyed(Generic[T]):
    """State per token, shared by requests, bounded: the oldest entries go first."""

    def __init__(self, factory: Callable[[], T] | None = None, keep: int = KEEP) -> None:
        self._factory = factory
        self._keep = keep
        self._lock = threading.Lock()
        self._items: OrderedDict[str, T] = OrderedDict()

    def get(self, key: str, make: Callable[[], T] | None = None) -> T:
        """The key's item, made (by ``make``, else the store's factory) if it has none yet."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                make = make or self._factory
                assert make is not None, "a store without a factory is given one per get()"
                item = self._items[key] = make()
                while len(self._items) > self._keep:
                    self._items.popitem(last=False)
            return item

    def pop(self, key: str) -> T | None:
        with self._lock:
            return self._items.pop(key, None)


class TokenLog:
    """Entries filed per token by one request (or callback), taken by a later request, which may
    wait (bounded) for the first to arrive."""

    def __init__(self, workers: Workers) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, list[Any]] = {}
        self._arrived: Keyed[Event] = Keyed(workers.event)

    def add(self, token: str, entry: Any) -> None:
        with self._lock:
            self._entries.setdefault(token, []).append(entry)
        self._arrived.get(token).set()

    def peek(self, token: str) -> list[Any]:
        with self._lock:
            return list(self._entries.get(token, []))

    def take(self, token: str, wait: float = 0.0) -> list[Any]:
        """Remove and return the token's entries, first waiting up to ``wait`` s for one to arrive."""
        if wait > 0:
            self._arrived.get(token).wait(wait)
        self._arrived.pop(token)
        with self._lock:
            return self._entries.pop(token, [])


class Mailbox:
    """Workers parked by token until the client says it has the response, then joined."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parked: dict[str, tuple[Worker, Event]] = {}

    def park(self, token: str, worker: Worker, response_received: Event) -> None:
        with self._lock:
            self._parked[token] = (worker, response_received)

    def collect(self, token: str) -> Any:
        """Tell the parked worker the response is in, and return what it returns."""
        with self._lock:
            worker, response_received = self._parked.pop(token)
        response_received.set()
        return worker.join(JOIN_TIMEOUT)
