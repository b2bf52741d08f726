"""tox plugin: each environment's Flask comes from matrix/axis.toml, never from tox.ini, and every
locked environment installs the exact versions of matrix/lock.toml.

``flask31-gevent`` installs the axis's 3.1 release plus the pins its version needs;
``custom-gevent`` installs ``$FLASK_SPEC`` (a version, a wheel, a source folder or a VCS
requirement) the same way. The model factor (threads, gevent, ...) stays in tox.ini.

An environment named in the lock installs exactly the versions the committed table was made with,
so ``tox p`` on another day gives the same table. ``tox p --latest`` (or ``FLASK_MATRIX_LATEST=1``)
resolves to the newest releases instead; ``flask-matrix lock`` refreshes the lock from such a run.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from tox.config.loader.memory import MemoryLoader
from tox.plugin import impl
from tox.report import HandledError

sys.path.insert(0, str(Path(__file__).parent))
from matrix.axis import FlaskSpecError, load_axis, parse_flask_spec, parse_with
from matrix.lock import LockError, latest_asked, load_lock

WITH_ENV = "FLASK_MATRIX_WITH"
"""Set by flask-matrix run / upgrade-check: requirements beside Flask, one per line."""
FLASK_FACTOR = re.compile(r"^flask(?P<major>\d)(?P<minor>\d+)$")


def flask_spec_for(env_name: str) -> str | None:
    """The Flask spec an environment name asks for, or None if it names no Flask."""
    for factor in env_name.split("-"):
        found = FLASK_FACTOR.match(factor)
        if found:
            minor = f"{found['major']}.{found['minor']}."
            matches = [v for v in load_axis().default if v.startswith(minor)]
            if not matches:
                raise HandledError(f"{env_name}: no Flask {minor}x in matrix/axis.toml's default axis")
            return matches[0]
        if factor == "custom":
            # tox loads every environment's configuration, selected or not: an unset FLASK_SPEC
            # is reported when a custom environment runs (its commands_pre), not here.
            return os.environ.get("FLASK_SPEC", "").strip() or None
    return None


@impl
def tox_add_option(parser: Any) -> None:
    parser.add_argument(
        "--latest",
        action="store_true",
        dest="matrix_latest",
        help="flask-context-matrix: resolve every environment to the newest releases, not matrix/lock.toml",
    )


def _requirements(env_name: str, latest: bool) -> list[str] | None:
    """What the environment installs beside the project: its lock, else its Flask spec's."""
    if not latest:
        try:
            locked = load_lock().get(env_name)
        except LockError as exc:
            raise HandledError(str(exc)) from None
        if locked is not None:
            return list(locked)
    spec = flask_spec_for(env_name)
    if spec is None:
        return None
    try:
        # custom environments (flask-matrix run / upgrade-check) also take --with requirements
        extra = env_name.startswith("custom-") and os.environ.get(WITH_ENV, "").split("\n")
        return parse_flask_spec(spec).requirements(
            load_axis(), parse_with([r for r in extra or [] if r.strip()])
        )
    except FlaskSpecError as exc:
        raise HandledError(f"{env_name}: {exc}") from None


PYTHON_FACTOR = re.compile(r"^py(?P<major>3)(?P<minor>\d+)$")


def interpreter_for(env_name: str) -> str | None:
    """The interpreter a ``py3XY`` factor asks for: one on PATH that runs, else pyenv's (whose
    shims refuse versions that are installed but not selected), else None (tox then skips it)."""
    for factor in env_name.split("-"):
        found = PYTHON_FACTOR.match(factor)
        if not found:
            continue
        version = f"{found['major']}.{found['minor']}"
        on_path = shutil.which(f"python{version}")
        if on_path and "/shims/" not in on_path:
            return on_path
        root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
        candidates = sorted(root.glob(f"{version}.*/bin/python{version}"))
        return str(candidates[-1]) if candidates else None
    return None


def _ahead_on_path(folder: Path) -> None:
    """Put an interpreter's folder first on PATH. tox-uv hands uv a version spec
    (``cpython3.10``), not the path, and uv takes the first match on PATH: pyenv's shim for a
    version that is installed but not selected refuses to run, and uv would then try to download
    one (this machine has only the package registries)."""
    entries = os.environ.get("PATH", "").split(os.pathsep)
    if str(folder) not in entries:
        os.environ["PATH"] = os.pathsep.join([str(folder), *entries])


@impl
def tox_add_env_config(env_conf: Any, state: Any) -> None:
    latest = bool(getattr(state.conf.options, "matrix_latest", False)) or latest_asked()
    requirements = _requirements(env_conf.name, latest)
    settings: dict[str, Any] = {}
    if requirements is not None:
        settings["deps"] = "\n".join(requirements)
    interpreter = interpreter_for(env_conf.name)
    if interpreter is not None:
        settings["base_python"] = [interpreter]
        _ahead_on_path(Path(interpreter).parent)
    if settings:
        env_conf.loaders.insert(0, MemoryLoader(**settings))
