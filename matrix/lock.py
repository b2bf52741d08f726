"""The lock: the exact versions each tox environment installs (``matrix/lock.toml``).

The committed table was made with these versions; ``toxfile.py`` installs them, so ``tox p`` on
another day, with newer releases published in between, gives the same table. ``tox p --latest``
(or ``FLASK_MATRIX_LATEST=1``) resolves to the newest releases instead, and ``flask-matrix lock``
writes what such a run installed back into the lock. Read inside tox's own interpreter: the
standard library and ``matrix.datafile`` only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from matrix.datafile import DataFileError, read_toml

LOCK_PATH = Path(__file__).with_name("lock.toml")
LATEST_ENV = "FLASK_MATRIX_LATEST"
PROJECT = "flask-context-matrix"
"""Installed from the checkout itself, never pinned."""
_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[^\s;@]+$")


class LockError(ValueError):
    """A lock file that is not a table of environment -> exact pins; one line."""


def latest_asked() -> bool:
    return os.environ.get(LATEST_ENV, "").strip().lower() in {"1", "true", "yes"}


def load_lock(path: Path = LOCK_PATH) -> dict[str, tuple[str, ...]]:
    """Environment name -> its exact pins; an absent lock locks nothing."""
    if not path.is_file():
        return {}
    try:
        data = read_toml(path)
    except DataFileError as exc:
        raise LockError(str(exc)) from None
    environments = data.get("environment", {})
    if not isinstance(environments, dict):
        raise LockError(f"{path}: 'environment' must be a table of environment names")
    lock = {}
    for name, row in environments.items():
        pins = row.get("requires") if isinstance(row, dict) else None
        if (
            not isinstance(pins, list)
            or not pins
            or not all(isinstance(p, str) and _PIN.match(p) for p in pins)
        ):
            raise LockError(
                f"{path}: environment {name!r} needs requires = a list of exact pins (name==version)"
            )
        lock[name] = tuple(pins)
    return lock


def freeze_pins(freeze_output: str) -> list[str]:
    """Exact pins from ``pip freeze`` / ``uv pip freeze`` output, the project itself left out."""
    pins = []
    for raw in freeze_output.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("-e "):
            continue
        name = re.split(r"[=@ ]", line, maxsplit=1)[0]
        if canonical(name) == PROJECT:
            continue
        if not _PIN.match(line):
            raise LockError(f"cannot lock {line!r}: not an exact release (name==version)")
        pins.append(line)
    return sorted(pins, key=lambda p: canonical(p.split("==")[0]))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def render_lock(environments: Mapping[str, list[str]]) -> str:
    lines = [
        "# The exact versions each tox environment installs (toxfile.py), so that `tox p` on another",
        "# day gives the same table. Written by `flask-matrix lock`; `tox p --latest` ignores it.",
        "",
    ]
    for name in sorted(environments):
        lines.append(f'[environment."{name}"]')
        lines.append("requires = [")
        lines.extend(f'    "{pin}",' for pin in environments[name])
        lines.extend(["]", ""])
    return "\n".join(lines)
