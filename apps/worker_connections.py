"""Pooled database connections taken in workers: the scenario of the workers area's
``worker_resource`` and ``bare_worker_resource`` families.

A worker takes a connection from a real SQLAlchemy ``QueuePool`` the way Flask's tutorial does,
through ``g`` (``get_db``), and the app returns it in ``teardown_appcontext``. Whether and when it
comes back is Flask's behaviour: a worker that pushes ``app.app_context()`` has its own teardown
when that context exits; a bare worker has none, so its connection lives in whatever ``g`` the
worker's context holds (none at all, or the view's when the kind copies the view's context) and
comes back, if ever, with that. The worker notes whether the connection is already back as it
ends; the view notes it after the worker joined; the follow-up ``/workers/resource/returned``
(sent after the response, so after the request's own teardown) concludes, and closes a connection
still out, so that a leak stays one cell and never drains the pool for the next.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, g, request

from apps.observe import observe
from apps.worker_kinds import Thunk
from matrix.catalog import WorkerKind

POOL_SIZE = 2
MAX_OVERFLOW = 4
POOL_TIMEOUT = 5.0
"""Bound on waiting for a connection: below the views' JOIN_TIMEOUT, so a drained pool is an
observation, not a hang."""

RETURNED_AS_WORKER_ENDED = "as the worker ended"
RETURNED_AT_REQUEST_END = "at the request's end"
NEVER_RETURNED = "not after the request"
NOTHING_TAKEN = "nothing was taken"

Prepared = tuple[list[Thunk], Callable[[list[Any]], Any]]


class WorkerConnections:
    """One lazily created engine per server process, the connections taken per check token, and
    the app's ``teardown_appcontext`` that returns the one its ``g`` holds."""

    def __init__(self, app: Flask) -> None:
        self._lock = threading.Lock()  # cooperative under gevent/eventlet: created after patching
        self._engine: Any = None
        self._taken: dict[str, tuple[Any, dict[str, bool]]] = {}
        app.teardown_appcontext(self._return)
        app.add_url_rule("/workers/resource/returned", "workers_resource_returned", self._returned)

    def _pool(self) -> Any:
        with self._lock:
            if self._engine is None:
                # Imported here: the app set must still load where the extra is not installed.
                from sqlalchemy import create_engine
                from sqlalchemy.pool import QueuePool

                folder = Path(tempfile.mkdtemp(prefix="flask-matrix-workers-"))
                self._engine = create_engine(
                    f"sqlite:///{folder / 'workers.db'}",
                    poolclass=QueuePool,
                    pool_size=POOL_SIZE,
                    max_overflow=MAX_OVERFLOW,
                    pool_timeout=POOL_TIMEOUT,
                )
                # The file goes with the process: nothing else in the process uses the folder.
                atexit.register(shutil.rmtree, folder, True)
            return self._engine

    def get_db(self, token: str) -> Any:
        """The tutorial's ``get_db``: the connection in ``g``, taken from the pool on first use."""
        if "worker_db" not in g:
            g.worker_db = self._pool().connect()
            with self._lock:
                self._taken[token] = (g.worker_db, {})
        return g.worker_db

    def _return(self, exc: BaseException | None) -> None:
        connection = g.pop("worker_db", None)
        if connection is not None:
            connection.close()

    def _note(self, token: str, when: str) -> None:
        with self._lock:
            taken = self._taken.get(token)
        if taken is not None:
            taken[1][when] = bool(taken[0].closed)

    def _returned(self) -> Any:
        with self._lock:
            taken = self._taken.pop(request.args["token"], None)
        if taken is None:
            return {"returned": NOTHING_TAKEN}
        connection, notes = taken
        if notes.get("worker_end"):
            when = RETURNED_AS_WORKER_ENDED
        elif connection.closed:
            when = RETURNED_AT_REQUEST_END
        else:
            when = NEVER_RETURNED
            connection.close()
        return {"returned": when, "returned_when_view_joined": notes.get("view_joined")}

    def scenario(self, pushing_app_context: bool) -> Callable[[Flask, WorkerKind], Prepared]:
        """The view hands one worker the job "run a query on ``get_db()``", with or without
        pushing ``app.app_context()`` around it; the view notes the pool after the worker joined."""

        def prepare(app: Flask, kind: WorkerKind) -> Prepared:
            token = request.args["token"]

            def query() -> Any:
                return self.get_db(token).exec_driver_sql("select 1").scalar()

            def work() -> Any:
                if pushing_app_context:
                    with app.app_context():
                        seen = observe(query)
                else:
                    seen = observe(query)
                self._note(token, "worker_end")
                return seen

            def respond(results: list[Any]) -> Any:
                self._note(token, "view_joined")
                return {"query": results[0]}

            return [work], respond

        return prepare
