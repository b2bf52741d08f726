"""The harness's overlap rule, over the committed table: a check that measures overlap does so in
every cell it ran, and a pass with no overlap carries the machine-readable mark."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

TABLE = Path(__file__).resolve().parents[2] / "compatibility.json"
RAN = {"pass", "fail", "expected-fail", "unexpected-pass"}
MECHANISMS = ("hooks", "teardown", "url_defaults", "errorhandler")


@pytest.fixture(scope="module")
def cells() -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(TABLE.read_text())["cells"]
    return cells


@pytest.fixture(scope="module")
def no_overlap_notes() -> set[int]:
    return {f["number"] for f in json.loads(TABLE.read_text())["footnotes"] if f["kind"] == "no-overlap"}


def test_a_check_that_measures_overlap_measures_it_in_every_cell_it_ran(cells: list[dict[str, Any]]) -> None:
    measuring = {c["check"] for c in cells if "overlap" in c["detail"]}
    assert {f"request_mechanism.{v}" for v in MECHANISMS} <= measuring
    unmeasured = defaultdict(list)
    for cell in (c for c in cells if c["check"] in measuring and c["outcome"] in RAN):
        if not isinstance(cell["detail"].get("in_flight"), int) or "overlap" not in cell["detail"]:
            unmeasured[cell["check"]].append(cell["column"])
    assert not unmeasured


def test_every_pass_without_overlap_carries_the_no_overlap_mark(
    cells: list[dict[str, Any]], no_overlap_notes: set[int]
) -> None:
    unmarked = [
        (cell["check"], cell["column"])
        for cell in cells
        if cell["outcome"] == "pass"
        and cell["detail"].get("in_flight", 2) <= 1
        and not (cell["detail"].get("overlap") is False and set(cell["notes"]) & no_overlap_notes)
    ]
    assert not unmarked
