"""Judging one observation against the ideal and the documented deviation for its cell.

``Verdict.compare`` returns when the ideal holds (a documented row then turns it into a strict
XPASS), raises ``DocumentedDeviation`` when the observation is exactly the documented one (the
strict xfail's ``raises``), and fails with the difference otherwise.
"""

from __future__ import annotations

from typing import Any

from matrix.catalog import Deviation
from matrix.records import Observed


class DocumentedDeviation(Exception):
    """The observation is exactly the one documented for this cell."""


class Verdict:
    """``concurrent``: the check's meaning depends on overlap (its area lists it), so its detail
    must say how many were inside at once (``in_flight``) and whether they overlapped."""

    def __init__(self, check: str, deviation: Deviation | None, concurrent: bool = False) -> None:
        self.check = check
        self.deviation = deviation
        self.concurrent = concurrent
        self.detail: dict[str, Any] = {}

    def compare(self, ideal: Observed, observed: Observed, **detail: Any) -> None:
        """Judge ``observed`` (field -> value); ``detail`` is recorded but never judged."""
        self.detail.update(detail, observed=dict(observed))
        if self.concurrent and not (
            isinstance(detail.get("in_flight"), int) and isinstance(detail.get("overlap"), bool)
        ):
            raise AssertionError(
                f"{self.check}: a concurrent check records in_flight (an int) and overlap (a bool) "
                "in its detail (matrix/areas/README.md, 'concurrent')"
            )
        if dict(observed) == dict(ideal):
            return
        if self.deviation is not None:
            documented = {**ideal, **self.deviation.observed}
            if dict(observed) == documented:
                raise DocumentedDeviation(self.deviation.reason)
            raise AssertionError(
                f"{self.check}: observed {_differences(observed, documented)}, not the documented deviation"
            )
        raise AssertionError(f"{self.check}: observed {_differences(observed, ideal)}")


def _differences(observed: Observed, wanted: Observed) -> str:
    keys = sorted(set(observed) | set(wanted))
    parts = [
        f"{k}={observed.get(k)!r} (wanted {wanted.get(k)!r})"
        for k in keys
        if observed.get(k) != wanted.get(k)
    ]
    return "; ".join(parts)
