"""Resources: a real SQLAlchemy QueuePool handed out through ``g`` and returned in
teardown_appcontext, the pattern Flask's tutorial and extensions use for database connections.

The engine (a SQLite file in a temporary folder) is created lazily by the first request of a wave,
once per server process, and disposed with its folder by the wave's report. Every checkout and
return is recorded per wave: which DBAPI connections are in use (a connection held by two requests
at once is "shared"), how many are out at most, and any error the pool raised.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, g, request

from apps.gate import GateRegistry, server_capacity
from apps.observe import raised
from apps.shared import GATE_TIMEOUT, yield_a_few
from matrix.models.base import Workers

POOL_SIZE = 3
POOL_TIMEOUT = 10.0
"""Bound on waiting for a pooled connection; below the views' JOIN_TIMEOUT and the check's 30 s."""


@dataclass
class WaveStats:
    requests: int = 0
    shared: int = 0
    max_in_use: int = 0
    max_checked_out: int = 0
    connections: set[int] = field(default_factory=set)
    wrong_results: int = 0
    errors: set[str] = field(default_factory=set)


class PooledDatabase:
    """One lazily created engine per server process, and the bookkeeping of its checkouts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # cooperative under gevent/eventlet: created after patching
        self._engine: Any = None
        self._folder: Path | None = None
        self._in_use: Counter[int] = Counter()
        self.waves: dict[str, WaveStats] = {}

    def engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                # Imported here: the app set must still load where the extra is not installed.
                from sqlalchemy import create_engine
                from sqlalchemy.pool import QueuePool

                self._folder = Path(tempfile.mkdtemp(prefix="flask-matrix-pool-"))
                self._engine = create_engine(
                    f"sqlite:///{self._folder / 'pool.db'}",
                    poolclass=QueuePool,
                    pool_size=POOL_SIZE,
                    max_overflow=0,
                    pool_timeout=POOL_TIMEOUT,
                )
            return self._engine

    def count(self, wave: str, requests: int = 0, wrong_results: int = 0, error: str = "") -> None:
        with self._lock:
            stats = self.waves.setdefault(wave, WaveStats())
            stats.requests += requests
            stats.wrong_results += wrong_results
            if error:
                stats.errors.add(error)

    def checked_out(self, wave: str, dbapi_id: int) -> None:
        engine = self.engine()
        with self._lock:
            stats = self.waves.setdefault(wave, WaveStats())
            self._in_use[dbapi_id] += 1
            if self._in_use[dbapi_id] > 1:
                stats.shared += 1
            stats.connections.add(dbapi_id)
            stats.max_in_use = max(stats.max_in_use, sum(1 for n in self._in_use.values() if n))
            stats.max_checked_out = max(stats.max_checked_out, engine.pool.checkedout())

    def returning(self, dbapi_id: int) -> None:
        """Called just before the connection goes back to the pool, so a next checkout of the same
        DBAPI connection is not mistaken for sharing."""
        with self._lock:
            self._in_use[dbapi_id] -= 1
            if self._in_use[dbapi_id] <= 0:
                del self._in_use[dbapi_id]

    def report_and_dispose(self, wave: str) -> dict[str, Any]:
        with self._lock:
            stats = self.waves.pop(wave, WaveStats())
            engine, folder = self._engine, self._folder
            self._engine = self._folder = None
        checked_out_after = None
        pool_status = None
        if engine is not None:
            checked_out_after = engine.pool.checkedout()
            pool_status = engine.pool.status()
            engine.dispose()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        return {
            "requests": stats.requests,
            "shared": stats.shared,
            "max_in_use": stats.max_in_use,
            "max_checked_out": stats.max_checked_out,
            "distinct_connections": len(stats.connections),
            "wrong_results": stats.wrong_results,
            "errors": sorted(stats.errors),
            "checked_out_after": checked_out_after,
            "pool_size": POOL_SIZE,
            "pool_status": pool_status,
        }


def register(app: Flask, workers: Workers) -> None:
    db = PooledDatabase()
    gates = GateRegistry(workers, capacity=server_capacity(app))  # requests' gates

    def connection(wave: str) -> Any:
        """The request's connection: checked out on first use, kept in ``g``."""
        conn = g.get("area_pool_connection")
        if conn is None:
            conn = db.engine().connect()
            g.area_pool_connection = conn
            g.area_pool_dbapi_id = id(conn.connection.dbapi_connection)
            db.checked_out(wave, g.area_pool_dbapi_id)
        return conn

    @app.teardown_appcontext
    def area_return_pooled_connection(exc: BaseException | None) -> None:
        conn = g.pop("area_pool_connection", None)
        if conn is not None:
            db.returning(g.pop("area_pool_dbapi_id"))
            conn.close()

    @app.get("/resources/pooled")
    def pooled() -> Any:
        """Enter the wave's gate, then take a connection (``POOL_SIZE`` at a time get one, the
        rest wait in the pool), hold it across cooperative yields and run a query on it."""
        wave, marker = request.args["wave"], request.args["marker"]
        gate = gates.get(wave, int(request.args["size"]), GATE_TIMEOUT)
        gate.enter()
        try:
            db.count(wave, requests=1)
            conn = connection(wave)
            yield_a_few(workers)
            from sqlalchemy import text

            value = conn.execute(text("SELECT :marker"), {"marker": marker}).scalar()
            yield_a_few(workers)
            db.count(wave, wrong_results=int(value != marker))
        except Exception as exc:  # every failure is data for the check
            error = raised(exc)
            db.count(wave, error=f"{error['raises']}: {error['message']}")
            return {"error": error, **gate.report()}
        finally:
            gate.leave()
        return gate.report()

    @app.get("/resources/pooled/report")
    def pooled_report() -> Any:
        """The wave's figures and the pool's checked-out count now that every request has ended;
        then the engine and its folder are disposed of."""
        return db.report_and_dispose(request.args["wave"])
