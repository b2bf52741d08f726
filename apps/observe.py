"""What a view saw, as JSON: a value, or the exception type and the first line of its message.

The observation types are the records' (``matrix.records.Seen`` / ``Raised``): what the app set
reports is what the verdict compares, a deviation documents and the table describes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from matrix.records import Observation, Raised

ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def observe(read: Callable[[], Any]) -> Observation:
    """Run ``read`` and describe its outcome; never raises (except BaseExceptions)."""
    try:
        return {"value": read()}
    except Exception as exc:  # every failure is data for the check
        return raised(exc)


def raised(exc: BaseException) -> Raised:
    message = str(exc).strip().splitlines()
    return {"raises": type(exc).__name__, "message": message[0] if message else ""}


def without_addresses(seen: Observation) -> Observation:
    """An observation with object addresses removed from its message (they change per run)."""
    if "raises" not in seen:
        return seen
    failure = cast(Raised, seen)
    return {"raises": failure["raises"], "message": ADDRESS.sub("", failure["message"])}


def observe_stable(read: Callable[[], Any]) -> Observation:
    """``observe``, with object addresses removed from a message."""
    return without_addresses(observe(read))
