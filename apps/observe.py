"""What a view saw, as JSON: a value, or the exception type and the first line of its message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Observation = dict[str, Any]


def observe(read: Callable[[], Any]) -> Observation:
    """Run ``read`` and describe its outcome; never raises (except BaseExceptions)."""
    try:
        return {"value": read()}
    except Exception as exc:  # every failure is data for the check
        return raised(exc)


def raised(exc: BaseException) -> Observation:
    message = str(exc).strip().splitlines()
    return {"raises": type(exc).__name__, "message": message[0] if message else ""}
