"""The harness's overlap rule, over the committed table: every check its area lists as concurrent
measures overlap in every cell it ran, and a pass with no overlap carries the machine-readable mark."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from matrix.catalog import load_catalog

TABLE = Path(__file__).resolve().parents[2] / "compatibility.json"
RAN = {"pass", "fail", "expected-fail", "unexpected-pass"}
MECHANISMS = ("hooks", "teardown", "url_defaults", "errorhandler", "session", "flash")


@pytest.fixture(scope="module")
def cells() -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(TABLE.read_text())["cells"]
    return cells


@pytest.fixture(scope="module")
def no_overlap_notes() -> set[int]:
    return {f["number"] for f in json.loads(TABLE.read_text())["footnotes"] if f["kind"] == "no-overlap"}


def test_every_concurrent_check_measures_overlap_in_every_cell_it_ran(cells: list[dict[str, Any]]) -> None:
    """Each check an area lists as concurrent has its peak in flight and its overlap in every cell
    that ran (the verdict refuses one without; this holds the committed table to it)."""
    concurrent = load_catalog().concurrent
    assert {f"request_mechanism.{v}" for v in MECHANISMS} | {"teardown", "isolation"} <= concurrent
    assert concurrent <= {c["check"] for c in cells}
    unmeasured = defaultdict(list)
    for cell in (c for c in cells if c["check"] in concurrent and c["outcome"] in RAN):
        detail = cell["detail"]
        if not isinstance(detail.get("in_flight"), int) or not isinstance(detail.get("overlap"), bool):
            unmeasured[cell["check"]].append(cell["column"])
    assert not unmeasured


def test_every_pass_without_overlap_carries_the_no_overlap_mark(
    cells: list[dict[str, Any]], no_overlap_notes: set[int]
) -> None:
    """A pass whose peak in flight was 1 or less says so in the table, machine-readably."""
    unmarked = [
        (cell["check"], cell["column"])
        for cell in cells
        if cell["outcome"] == "pass"
        and cell["detail"].get("in_flight", 2) <= 1
        and not (cell["detail"].get("overlap") is False and set(cell["notes"]) & no_overlap_notes)
    ]
    assert not unmarked
