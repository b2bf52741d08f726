"""A verdict passes the ideal, matches the documented deviation exactly, and fails the rest."""

from __future__ import annotations

import pytest

from matrix.catalog import Deviation
from matrix.plugin.verdict import DocumentedDeviation, Verdict
from matrix.scope import Scope

RAISES = {"raises": "RuntimeError", "message": "Working outside of request context."}
IDEAL = {"current_app": {"value": "apps"}, "request": {"value": "x"}}
DEVIATION = Deviation("bare_worker", Scope(("gevent",)), ("src",), {"request": RAISES}, "why")


def test_ideal_returns_and_records_detail() -> None:
    """The ideal observation returns normally and lands in the detail."""
    verdict = Verdict("bare_worker", None)
    verdict.compare(IDEAL, IDEAL, worker="gevent.spawn")
    assert verdict.detail == {"observed": IDEAL, "worker": "gevent.spawn"}


def test_documented_observation_raises_documented_deviation() -> None:
    """Exactly the documented observation raises DocumentedDeviation (the strict xfail's raises)."""
    with pytest.raises(DocumentedDeviation, match="why"):
        Verdict("bare_worker", DEVIATION).compare(IDEAL, {**IDEAL, "request": RAISES})


def test_other_observation_fails_even_with_a_documented_row() -> None:
    """A different exception than the documented one is a plain failure naming the field."""
    other = {"raises": "LookupError", "message": "x"}
    with pytest.raises(AssertionError, match=r"request=.*LookupError.*not the documented deviation"):
        Verdict("bare_worker", DEVIATION).compare(IDEAL, {**IDEAL, "request": other})


def test_undocumented_deviation_fails() -> None:
    """Without a row, any difference from the ideal fails with the field and the wanted value."""
    with pytest.raises(AssertionError, match=r"request=.*\(wanted \{'value': 'x'\}\)"):
        Verdict("bare_worker", None).compare(IDEAL, {**IDEAL, "request": RAISES})


def test_a_concurrent_check_must_record_its_overlap() -> None:
    """A check its area lists as concurrent fails unless its detail has in_flight and overlap,
    whatever it observed; with them it is judged as any other."""
    with pytest.raises(AssertionError, match=r"records in_flight \(an int\) and overlap"):
        Verdict("isolation", None, concurrent=True).compare(IDEAL, IDEAL, requests=100)
    verdict = Verdict("isolation", None, concurrent=True)
    verdict.compare(IDEAL, IDEAL, in_flight=1, overlap=False)
    assert verdict.detail["overlap"] is False
