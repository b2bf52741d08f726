"""The app as an importable WSGI/ASGI object, for servers that are real programs.

gunicorn, uvicorn and hypercorn import ``matrix.wsgi`` in their worker, after their worker class
patched the runtime where it does (gunicorn -k gevent); only those servers import this module.
The model (for the worker primitives) and the app factory come from the environment
``matrix.serve`` set before exec'ing the program. Built at import, because servers look the
attribute up in the module's namespace: ``app`` (WSGI), ``app_asgiref`` (asgiref WsgiToAsgi) and,
where a2wsgi is installed, ``app_a2wsgi`` (a2wsgi WSGIMiddleware).
"""

from __future__ import annotations

import os
from typing import Any

from asgiref.wsgi import WsgiToAsgi

from matrix.models import load_model
from matrix.serve import build_app, load_factory

try:
    _model, _factory = os.environ["FLASK_MATRIX_MODEL"], os.environ["FLASK_MATRIX_APP"]
except KeyError as missing:
    raise RuntimeError(
        f"matrix.wsgi is loaded by servers started by matrix.serve ({missing} unset)"
    ) from None

app: Any = build_app(load_factory(_factory), load_model(_model).workers())
app_asgiref: Any = WsgiToAsgi(app)  # type: ignore[no-untyped-call]
try:
    from a2wsgi import WSGIMiddleware
except ImportError:  # only the asgi environments install a2wsgi
    pass
else:
    app_a2wsgi: Any = WSGIMiddleware(app)
