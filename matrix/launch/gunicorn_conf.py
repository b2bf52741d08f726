"""gunicorn's config module for the gunicorn columns (``--config python:matrix.launch.gunicorn_conf``).

One setting, for the harness and no cell: a worker asks Linux to SIGKILL it when its master dies.
gunicorn's workers notice a dead master on their own, but only in their loop: the sync worker
sleeps in select() for half of --timeout (15 s by default) between looks, and an orphaned worker
keeps serving on the socket until then. The launcher asks the same of the master (see
``matrix.launch.hygiene.die_with_parent``), so a killed driver leaves no gunicorn process behind.
"""

from __future__ import annotations

from typing import Any

from matrix.launch.hygiene import die_with_parent


def post_fork(server: Any, worker: Any) -> None:
    die_with_parent(server.pid)
