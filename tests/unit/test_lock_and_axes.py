"""The lock file, rows naming several checks, ``--with`` requirements, the table's sameness and
the Python axis's comparison: each validated, bad input one line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from matrix.axis import FlaskSpecError, load_axis, parse_flask_spec, parse_with
from matrix.catalog import CatalogError, load_catalog, load_expectations
from matrix.lock import LockError, freeze_pins, load_lock, render_lock
from matrix.outcomes import Outcome
from matrix.records import CheckResult, Record
from matrix.report.jsonfile import render_json, same_table
from matrix.report.pythons import compare_pythons
from matrix.table import build_table

FREEZE = """\
# a comment uv leaves
Werkzeug==3.1.9
-e file:///work/main
flask-context-matrix @ file:///work/main
blinker==1.9.0
Flask==3.1.3
"""


def test_freeze_output_becomes_sorted_exact_pins_without_the_project() -> None:
    """Comments, editable lines and the project itself are left out; the rest sorted by name."""
    assert freeze_pins(FREEZE) == ["blinker==1.9.0", "Flask==3.1.3", "Werkzeug==3.1.9"]


def test_a_requirement_that_is_no_release_cannot_be_locked() -> None:
    with pytest.raises(LockError, match=r"cannot lock 'gevent @ https://example\.invalid/g\.whl'"):
        freeze_pins("gevent @ https://example.invalid/g.whl\n")


def test_rendered_lock_reads_back(tmp_path: Path) -> None:
    """What ``flask-matrix lock`` writes is what toxfile.py reads: every environment, every pin."""
    environments = {"flask31-threads": ["flask==3.1.3", "waitress==3.0.2"], "flask20-asgi": ["flask==2.0.3"]}
    path = tmp_path / "lock.toml"
    path.write_text(render_lock(environments))
    assert load_lock(path) == {k: tuple(v) for k, v in environments.items()}
    assert load_lock(tmp_path / "absent.toml") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[environment\n", "not valid TOML"),
        ('environment = "x"\n', "'environment' must be a table"),
        ('[environment."e"]\nrequires = ["flask>=3"]\n', "environment 'e' needs requires = a list of exact"),
        ('[environment."e"]\nrequires = []\n', "environment 'e' needs requires"),
    ],
    ids=["syntax", "not-a-table", "range-not-pin", "empty"],
)
def test_malformed_lock_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "lock.toml"
    path.write_text(text)
    with pytest.raises(LockError) as info:
        load_lock(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


ROW = """
[[deviation]]
check = {check}
models = ["gevent"]
observed.request = {{ raises = "RuntimeError", message = "Working outside of request context." }}
reason = "a reason"
cite = ["https://example.invalid/source"]
"""


def test_a_row_may_name_several_checks_sharing_its_scope(tmp_path: Path) -> None:
    """A list of check ids gives one row per check, each with the row's scope, reason and sources."""
    path = tmp_path / "e.toml"
    path.write_text(ROW.format(check='["bare_worker", "copy_context_g"]'))
    expectations = load_expectations(path, load_catalog())
    found = [expectations.lookup(c, "gevent", "pywsgi", {}) for c in ("bare_worker", "copy_context_g")]
    assert [d.check for d in found if d] == ["bare_worker", "copy_context_g"]
    assert {d.reason for d in found if d} == {"a reason"}


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("[]", "check must be a check id or a non-empty list"),
        ('["bare_worker", "nope"]', "unknown check 'nope'"),
    ],
    ids=["empty-list", "unknown-in-list"],
)
def test_a_bad_list_of_checks_is_one_line(tmp_path: Path, check: str, message: str) -> None:
    path = tmp_path / "e.toml"
    path.write_text(ROW.format(check=check))
    with pytest.raises(CatalogError, match=message):
        load_expectations(path, load_catalog())


def test_with_requirements_override_the_pins_of_the_flask_version() -> None:
    """``--with werkzeug==2.0.1`` replaces Flask 2.0's own Werkzeug pin; other pins stay."""
    spec = parse_flask_spec("2.0.3")
    extra = parse_with(["Werkzeug==2.0.1", "gevent>=25"])
    assert spec.requirements(load_axis(), extra) == [
        "flask[async]==2.0.3",
        "blinker>=1.4",
        "Werkzeug==2.0.1",
        "gevent>=25",
    ]


@pytest.mark.parametrize(
    ("given", "message"),
    [("werkzeug===", "is not a requirement"), ("Flask==3.1.3", "Flask itself is chosen with --flask")],
    ids=["not-a-requirement", "flask"],
)
def test_bad_with_is_one_line(given: str, message: str) -> None:
    with pytest.raises(FlaskSpecError, match=message):
        parse_with([given])


def _record(environment: str, python: str, outcome: Outcome, detail: dict[str, object]) -> Record:
    return Record(
        environment,
        "threads",
        "werkzeug",
        {"python": python, "flask": "3.1.3", "werkzeug": "3.1.9"},
        [CheckResult("isolation", "title of isolation", outcome, 0.1, detail=detail)],
        server_label="werkzeug threaded",
        order=(0, 0),
        runtimes=["python", "flask", "werkzeug"],
    )


def test_tables_differing_only_in_details_are_the_same() -> None:
    """One run's measurements are no change of the table; an outcome is."""
    first = render_json(build_table([_record("flask31-threads", "3.11.7", "pass", {"n": 1})]))
    again = render_json(build_table([_record("flask31-threads", "3.11.7", "pass", {"n": 2})]))
    red = render_json(build_table([_record("flask31-threads", "3.11.7", "fail", {"n": 1})]))
    assert same_table(first, again)
    assert not same_table(first, red)
    assert not same_table(first, json.dumps({"schema": "something else"}))
    assert not same_table(first, "not json")


def test_python_axis_lists_the_cells_that_differ_from_the_default_interpreter() -> None:
    """A py312 column is compared with its twin on the default interpreter, cell by cell."""
    default = build_table([_record("flask31-threads", "3.11.7", "pass", {})])
    same = _record("py312-flask31-threads", "3.12.9", "pass", {})
    differs = replace(
        same, environment="py313-flask31-threads", versions={**same.versions, "python": "3.13.0"}
    )
    differs.checks = [replace(same.checks[0], outcome="fail")]
    orphan = replace(same, environment="py310-flask20-threads")
    result = compare_pythons(build_table([same, differs, orphan]), default)
    assert (result.compared, result.cells) == (2, 2)
    assert [(d.python, d.default_python, d.outcome, d.default_outcome) for d in result.differences] == [
        ("3.13.0", "3.11.7", "fail", "pass")
    ]
    assert result.without_twin == ("py310-flask20-threads/werkzeug",)
