"""The catalog (one data file per area) is validated up front; bad rows are one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from matrix.catalog import CatalogError, load_catalog, load_expectations

ROW = """
[[deviation]]
check = "bare_worker"
models = ["gevent"]
{extra}
observed.request = {{ raises = "RuntimeError", message = "Working outside of request context." }}
reason = "a reason"
cite = ["https://example.invalid/source"]
"""


def write(tmp_path: Path, text: str, name: str = "expectations.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_packaged_catalog_is_valid() -> None:
    """The areas shipped with the matrix load, every row has a reason and a source, and every
    check id is unique across areas."""
    catalog = load_catalog()
    assert catalog.expectations.deviations
    assert all(d.reason and d.cite for d in catalog.expectations.deviations)
    ids = [check for area in catalog.areas for check in area.checks]
    assert len(ids) == len(set(ids)) == len(catalog.checks)


def test_worker_families_expand_in_place_over_the_kinds() -> None:
    """A family row stands for one check per worker kind, at its place, titled with the kind's words."""
    checks = list(load_catalog().checks)
    kinds = [kind.name for kind in load_catalog().kinds]
    start = checks.index(f"worker_context.{kinds[0]}")
    assert checks[start : start + len(kinds)] == [f"worker_context.{k}" for k in kinds]
    assert checks[start - 1] == "test_request_context"
    title = load_catalog().checks["worker_context.gevent_spawn"].title
    assert title.startswith("a `gevent.spawn` greenlet, with no helper, sees the view's current_app")


def test_rows_are_in_area_order() -> None:
    """Each check carries its place: its area's order, then its place in the area."""
    checks = load_catalog().checks
    assert checks["isolation"].order == (1, 0)
    assert checks["isolation"].area == "Isolation and concurrency"
    assert sorted(checks.values(), key=lambda c: c.order) == list(checks.values())


def test_row_applies_within_its_version_range(tmp_path: Path) -> None:
    """A row keyed on a Flask range applies inside it and not outside, on every server of its model."""
    expectations = load_expectations(write(tmp_path, ROW.format(extra='flask = ">=3.1"')), load_catalog())
    assert expectations.lookup("bare_worker", "gevent", "pywsgi", {"flask": "3.1.3"}) is not None
    assert expectations.lookup("bare_worker", "gevent", "pywsgi", {"flask": "3.0.3"}) is None
    assert expectations.lookup("bare_worker", "threads", "werkzeug", {"flask": "3.1.3"}) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[deviation]\ncheck = 1", "not valid TOML"),
        (ROW.format(extra="").replace("bare_worker", "no_such_check"), "names unknown check 'no_such_check'"),
        (ROW.format(extra='flask = ">>3"'), "flask = '>>3' is not a version range"),
        (ROW.format(extra="").replace('["gevent"]', '["trio"]'), "models must be a list of"),
        (ROW.format(extra="").replace('reason = "a reason"', ""), "lacks 'reason'"),
        (ROW.format(extra='colour = "red"'), "unknown keys ['colour']"),
        (ROW.format(extra='servers = ["waitress"]'), "servers must be a list of pywsgi, gunicorn-gevent"),
    ],
    ids=[
        "syntax",
        "unknown-check",
        "bad-range",
        "unknown-model",
        "no-reason",
        "unknown-key",
        "foreign-server",
    ],
)
def test_malformed_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    """Each kind of malformed file raises CatalogError with one line naming the problem."""
    with pytest.raises(CatalogError) as info:
        load_expectations(write(tmp_path, text), load_catalog())
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_an_area_documents_only_its_own_checks(tmp_path: Path) -> None:
    """A deviation in an area's file that names another area's check is refused: the area is the unit."""
    area = 'title = "Mine"\norder = 1\n[checks]\nmine = "a check of mine"\n' + ROW.format(extra="")
    write(tmp_path, area, "mine.toml")
    with pytest.raises(CatalogError, match="names unknown check 'bare_worker'; known: mine"):
        load_catalog(tmp_path)


def test_overlapping_rows_are_refused(tmp_path: Path) -> None:
    """Two rows applying to one cell is an error, never a silent pick."""
    expectations = load_expectations(write(tmp_path, ROW.format(extra="") * 2), load_catalog())
    with pytest.raises(CatalogError, match="2 deviations apply to bare_worker under gevent"):
        expectations.lookup("bare_worker", "gevent", "pywsgi", {"flask": "3.1.3"})


def test_concurrent_lists_only_the_areas_own_checks_and_expands_families(tmp_path: Path) -> None:
    """An area's ``concurrent`` list names its own checks (families expand over the kinds); any
    other name is one line."""
    assert {"isolation", "teardown", "test_client_in.greenlet"} <= load_catalog().concurrent
    area = 'title = "Mine"\norder = 1\nconcurrent = ["theirs"]\n[checks]\nmine = "a row"\n'
    write(tmp_path, area, "mine.toml")
    with pytest.raises(CatalogError, match="concurrent names 'theirs', not a check of this area") as info:
        load_catalog(tmp_path)
    assert "\n" not in str(info.value)
