"""The app object a program server serves: gunicorn, uvicorn and hypercorn import this module.

They import it in their worker, after their worker class patched the runtime where it does (gunicorn
-k gevent); only those servers import it. Which model (for the worker primitives) and which app
(spec, config, setup hook) come from ``FLASK_MATRIX_LAUNCH``, set by ``matrix.launch.child`` before
it exec'd the program. Built at import, because the servers look the attribute up in the module's
namespace: ``app`` (WSGI), ``app_asgiref`` (asgiref's WsgiToAsgi) and, where a2wsgi is installed,
``app_a2wsgi`` (a2wsgi's WSGIMiddleware).
"""

from __future__ import annotations

import json
import os
from typing import Any

from asgiref.wsgi import WsgiToAsgi

from matrix.launch.appspec import AppSpecError, build_app
from matrix.launch.child import LAUNCH_ENV
from matrix.models import load_model

try:
    _launch = json.loads(os.environ[LAUNCH_ENV])
except KeyError:
    raise RuntimeError(
        f"{__name__} is loaded by servers started by matrix.launch.child ({LAUNCH_ENV} unset)"
    ) from None

try:
    app: Any = build_app(
        _launch["app"],
        load_model(_launch["model"]).workers(),
        _launch.get("config"),
        _launch.get("setup"),
        bool(_launch.get("in_flight")),
    )
except AppSpecError as exc:  # one line in the log, as the in-process servers give it
    raise SystemExit(f"flask-matrix serve: {exc}") from None
app_asgiref: Any = WsgiToAsgi(app)  # type: ignore[no-untyped-call]
try:
    from a2wsgi import WSGIMiddleware
except ImportError:  # only the asgi environments install a2wsgi
    pass
else:
    app_a2wsgi: Any = WSGIMiddleware(app)
