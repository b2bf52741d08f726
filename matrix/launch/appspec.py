"""Which app a server serves, the way ``flask --app`` finds it; runs in the server process.

An app spec is ``module:app`` (an app object), ``module:create_app`` (a factory) or
``module:create_app(key="literal", ...)`` (a factory called with literal arguments). A factory gets
the model's worker primitives only when it asks for them: a parameter named ``workers`` (the
matrix's own app set, ``create_app(workers)``). Then the server's config (``app.config.update``)
and an optional setup hook (``module:function``, called inside an app context, with the app if it
takes an argument: ``flaskr.db:init_db``) before it serves. Anything that is not a Flask app, or
fails to build, is one line (``AppSpecError``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Mapping
from typing import Any

WORKERS_PARAMETER = "workers"
"""The factory parameter that receives the model's worker primitives."""


class AppSpecError(ValueError):
    """The app spec, its factory, its config or its setup hook is unusable; one line."""


def _parse(spec: str) -> tuple[str, str, list[Any], dict[str, Any]]:
    module, _, rest = spec.partition(":")
    if not module or not rest:
        raise AppSpecError(f"--flask-app must look like package.module:create_app, not {spec!r}")
    try:
        call = ast.parse(rest, mode="eval").body
    except SyntaxError:
        raise AppSpecError(f"--flask-app {spec!r}: {rest!r} is neither a name nor a call") from None
    if isinstance(call, ast.Name):
        return module, call.id, [], {}
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        except ValueError:
            raise AppSpecError(f"--flask-app {spec!r}: a factory's arguments must be literals") from None
        return module, call.func.id, args, kwargs
    raise AppSpecError(f"--flask-app {spec!r}: {rest!r} is neither a name nor a call")


def load_object(spec: str) -> Any:
    """Import ``module:attribute`` and return the attribute."""
    module, _, attribute = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except AttributeError:
        raise AppSpecError(f"{module} has no attribute {attribute!r} ({spec})") from None


def build_app(
    spec: str,
    workers: object,
    config: Mapping[str, Any] | None = None,
    setup: str | None = None,
    in_flight: bool = False,
) -> Any:
    """The app ``spec`` names, built, configured and set up (see the module's rules); with
    ``in_flight``, its requests in flight counted (``matrix.launch.in_flight``)."""
    module, name, args, kwargs = _parse(spec)
    found = load_object(f"{module}:{name}")
    if hasattr(found, "wsgi_app"):
        if args or kwargs:
            raise AppSpecError(f"--flask-app {spec!r}: {name} is an app, not a factory to call")
        app = found
    elif callable(found):
        try:
            parameters = inspect.signature(found).parameters
        except (TypeError, ValueError):
            parameters = {}  # type: ignore[assignment]
        if WORKERS_PARAMETER in parameters:
            kwargs = {WORKERS_PARAMETER: workers, **kwargs}
        app = found(*args, **kwargs)
    else:
        raise AppSpecError(f"--flask-app {spec!r}: {name} is neither a Flask app nor a factory")
    if not (hasattr(app, "wsgi_app") and hasattr(app, "config") and hasattr(app, "app_context")):
        raise AppSpecError(f"--flask-app {spec!r} gave {type(app).__name__}, not a Flask app")
    app.config.update(config or {})
    if setup:
        _run_setup(app, setup)
    if in_flight:
        from matrix.launch.in_flight import InFlight

        app.wsgi_app = InFlight(app.wsgi_app)
    return app


def _run_setup(app: Any, setup: str) -> None:
    if ":" not in setup:
        raise AppSpecError(f"--flask-app-setup must look like package.module:function, not {setup!r}")
    hook = load_object(setup)
    try:
        takes_app = bool(inspect.signature(hook).parameters)
    except (TypeError, ValueError):
        takes_app = False
    with app.app_context():
        hook(app) if takes_app else hook()
