"""The table is built from records alone and every renderer shows the same cells and notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matrix.cli import main
from matrix.records import CheckResult, DeviationData, Record, write_record
from matrix.report.jsonfile import render_json, table_to_json
from matrix.report.markdown import render_markdown
from matrix.report.terminal import render_terminal
from matrix.table import TableError, build_table, table_from_json

DOCUMENTED: DeviationData = {
    "observed": {"request": {"raises": "RuntimeError", "message": "Working outside of request context."}},
    "reason": "greenlets start with an empty context.",
    "cite": ["https://github.com/python-greenlet/greenlet/blob/3.5.3/docs/contextvars.rst"],
    "ranges": {},
    "number": 7,
}


def record(model: str, *results: CheckResult, complete: bool = True) -> Record:
    versions: dict[str, str | None] = {
        "python": "3.11.7",
        "flask": "3.1.3",
        "werkzeug": "3.1.9",
        "gevent": "26.9.0",
        "greenlet": "3.5.6",
    }
    server = {"threads": "werkzeug", "gevent": "pywsgi", "asgi": "hypercorn-asgiref"}[model]
    order = {"threads": (0, 0), "gevent": (1, 3), "asgi": (3, 6)}[model]  # as the plugin records them
    return Record(
        model,
        model,
        server,
        versions,
        list(results),
        complete=complete,
        server_label=f"{model} server",
        order=order,
        runtimes=["python", "flask", "werkzeug", *(["gevent", "greenlet"] if model == "gevent" else [])],
    )


def result(check: str, outcome: str, **kw: object) -> CheckResult:
    return CheckResult(check, f"title of {check}", outcome, 0.1, **kw)  # type: ignore[arg-type]


RECORDS = [
    record(
        "gevent",
        result("isolation", "pass", detail={"overlap": True}),
        result("bare_worker", "expected-fail", deviation=DOCUMENTED),
    ),
    record(
        "threads",
        result("isolation", "pass", detail={"overlap": False}),
        result("bare_worker", "expected-fail", deviation=DOCUMENTED),
    ),
    record(
        "asgi", result("isolation", "fail", detail={"message": "AssertionError: 3 leaked"}), complete=False
    ),
]


def test_columns_follow_the_registry_and_missing_cells_are_not_run() -> None:
    """Columns come in the order their records carry (the registry's); a check with no record in
    a column is 'not-run'."""
    table = build_table(RECORDS)
    assert [c.model for c in table.columns] == ["threads", "gevent", "asgi"]
    assert table.cell("bare_worker", "asgi/hypercorn-asgiref").outcome == "not-run"
    assert table.red == [("isolation", "asgi/hypercorn-asgiref")]


def test_one_footnote_per_distinct_explanation() -> None:
    """The same documented deviation in two columns is one numbered note, cited."""
    table = build_table(RECORDS)
    assert (
        table.cell("bare_worker", "threads/werkzeug").notes
        == table.cell("bare_worker", "gevent/pywsgi").notes
    )
    documented = [f for f in table.footnotes if f.kind == "documented"]
    assert len(documented) == 1
    assert documented[0].text.startswith(
        "Instead: request raises RuntimeError: Working outside of request context. Why: greenlets"
    )
    assert list(documented[0].cite) == DOCUMENTED["cite"]


def test_pass_without_overlap_is_marked() -> None:
    """A pass whose detail says the requests never overlapped carries a no-overlap note."""
    table = build_table(RECORDS)
    (note,) = table.cell("isolation", "threads/werkzeug").notes
    assert {f.number: f for f in table.footnotes}[note].kind == "no-overlap"
    assert table.cell("isolation", "gevent/pywsgi").notes == ()


def test_markdown_has_table_versions_legend_and_linked_notes() -> None:
    """COMPATIBILITY.md shows the cells, exact versions per column, the legend and linked notes."""
    text = render_markdown(build_table(RECORDS))
    assert "## gevent\n\n| check | gevent server<br>flask 3.1.3 |" in text
    assert "| `bare_worker`: title of bare_worker | ✗ [7] |" in text
    assert "## asgi\n\n| check | asgi server<br>flask 3.1.3 (incomplete) |" in text
    assert (
        "| gevent/pywsgi | python 3.11.7, flask 3.1.3, werkzeug 3.1.9, gevent 26.9.0, greenlet 3.5.6 |"
        in text
    )
    assert "<https://github.com/python-greenlet/greenlet/blob/3.5.3/docs/contextvars.rst>" in text
    assert "- `✗` documented deviation" in text


def test_json_and_terminal_agree_with_markdown() -> None:
    """compatibility.json and the terminal table carry the same outcomes and note numbers."""
    table = build_table(RECORDS)
    data = table_to_json(table)
    cells = {(c["check"], c["column"]): (c["outcome"], c["notes"]) for c in data["cells"]}
    assert cells[("bare_worker", "gevent/pywsgi")] == ("expected-fail", [7])
    assert cells[("isolation", "asgi/hypercorn-asgiref")] == ("fail", [9])
    terminal = render_terminal(table, width=200, notes=True)
    assert (
        "✗ [7]" in terminal
        and "FAIL [9]" in terminal
        and "[9] isolation under asgi/hypercorn-asgiref" in terminal
    )


def test_cli_report_writes_files_and_flags_red(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`flask-matrix report` writes both files and exits 1 when a cell is red or incomplete."""
    for r in RECORDS:
        write_record(tmp_path / "records" / f"{r.environment}.json", r)
    code = main(
        [
            "report",
            str(tmp_path / "records"),
            "--markdown",
            str(tmp_path / "C.md"),
            "--json",
            str(tmp_path / "c.json"),
        ]
    )
    assert code == 1
    assert json.loads((tmp_path / "c.json").read_text())["schema"] == "flask-context-matrix/compatibility/2"
    assert "1 red cell(s): isolation@asgi/hypercorn-asgiref" in capsys.readouterr().out


def test_cli_bad_record_keeps_existing_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A corrupt record is one line, exit 2, and the previously written table is left intact."""
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "gevent.json").write_text('{"schema": "flask-context')
    (tmp_path / "C.md").write_text("previous table\n")
    code = main(["report", str(tmp_path / "records"), "--markdown", str(tmp_path / "C.md")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("flask-matrix: ") and "not JSON" in err and err.count("\n") == 1
    assert (tmp_path / "C.md").read_text() == "previous table\n"


def test_json_form_reads_back_as_the_same_table() -> None:
    """A table written as compatibility.json and read back has the same cells, notes and
    explanations: the diff compares a committed baseline like a fresh run."""
    table = build_table(RECORDS)
    again = table_from_json(json.loads(render_json(table)), "c.json")
    assert again.cells.keys() == table.cells.keys()
    assert all(
        (again.cells[k].outcome, again.cells[k].notes, again.cells[k].explanation)
        == (c.outcome, c.notes, c.explanation)
        for k, c in table.cells.items()
    )
    assert [c.key for c in again.columns] == [c.key for c in table.columns]
    assert again.footnotes == table.footnotes


def test_previous_json_schema_still_reads_for_a_diff() -> None:
    """A compatibility.json of the previous schema (no column order, runtimes or model note) still
    reads, so a gate can compare a fresh run with a baseline committed before the change."""
    data = table_to_json(build_table(RECORDS))
    data["schema"] = "flask-context-matrix/compatibility/1"
    for column in data["columns"]:
        for key in ("order", "runtimes", "model_note"):
            del column[key]
    old = table_from_json(data, "old.json")
    assert old.cell("bare_worker", "gevent/pywsgi").explanation.startswith("Instead: request raises")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"schema": "someone-else/1"}, "schema 'someone-else/1' is not one of"),
        ({"schema": "flask-context-matrix/compatibility/2", "columns": []}, "without a 'rows' list"),
    ],
)
def test_a_file_that_is_no_table_is_one_line(data: dict[str, object], message: str) -> None:
    """A foreign or partial table file is a TableError naming the problem in one line."""
    with pytest.raises(TableError, match=message):
        table_from_json(data, "x.json")


def test_a_catalog_note_keeps_its_number_in_any_subset() -> None:
    """A documented deviation's note is numbered by its catalog row, so a table of some of the
    records shows it under the same number as the whole table; other notes come after the
    catalog's numbers."""
    whole, part = build_table(RECORDS), build_table(RECORDS[1:2])
    assert whole.cell("bare_worker", "threads/werkzeug").notes[0] == 7
    assert part.cell("bare_worker", "threads/werkzeug").notes[0] == 7
    assert min(f.number for f in whole.footnotes if f.kind != "documented") > 7
