"""flask-matrix show answers one question from the table: a check everywhere, or one stack."""

from __future__ import annotations

import pytest

from matrix.records import CheckResult, DeviationData, Record
from matrix.report.show import Query, QueryError, render_show
from matrix.table import Table, build_table

LOST: DeviationData = {
    "observed": {"calls": 0},
    "reason": "never closed",
    "cite": ["https://x.invalid/a"],
    "ranges": {},
    "number": 4,
}


def column(server: str, flask: str, teardown: str) -> Record:
    return Record(
        f"flask{flask[0]}{flask[2]}-asgi",
        "asgi",
        server,
        {"python": "3.11.7", "flask": flask, "werkzeug": "3.1.9"},
        [
            CheckResult(
                "isolation", "requests keep their own g", "pass", 0.1, area="Isolation", order=(1, 0)
            ),
            CheckResult(
                "call_on_close",
                "call_on_close runs once",
                teardown,  # type: ignore[arg-type]
                0.1,
                area="Teardown",
                order=(6, 0),
                deviation=LOST if teardown == "expected-fail" else None,
            ),
        ],
        complete=True,
        server_label=server,
        order=(3, {"hypercorn-asgiref": 6, "hypercorn-wsgi": 8}[server]),
    )


TABLE: Table = build_table(
    [
        column("hypercorn-asgiref", "3.0.3", "expected-fail"),
        column("hypercorn-asgiref", "3.1.3", "expected-fail"),
        column("hypercorn-wsgi", "3.0.3", "pass"),
        column("hypercorn-wsgi", "3.1.3", "pass"),
    ]
)


def test_one_stack_lists_what_does_not_hold_first_with_its_observation() -> None:
    """--server and --flask 3.1 select one column: the documented deviation comes before what
    holds, with the observation in a line, and the note under the table's own number."""
    text = render_show(TABLE, Query(server="hypercorn-asgiref", flask="3.1"))
    assert text.index("✗ [4] call_on_close") < text.index("Holds")
    assert "Instead: calls = 0." in text
    assert "Isolation: isolation" in text
    assert "[4] Instead: calls = 0. Why: never closed Sources: https://x.invalid/a" in text


def test_one_check_everywhere_is_a_grid_of_servers_by_version() -> None:
    """A check id (or glob) across every column: one line per server, one column per version."""
    text = render_show(TABLE, Query(checks=("call_*",)))
    assert "hypercorn-asgiref   ✗ [4]   ✗ [4]" in text
    assert "hypercorn-wsgi      ✓       ✓" in text
    assert "isolation" not in text.split("\n", 1)[1]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (Query(checks=("nope*",)), "no check matches nope*"),
        (
            Query(server="waitress"),
            "no column has server waitress: servers hypercorn-asgiref, hypercorn-wsgi",
        ),
        (Query(flask="2.0"), "no column has flask 2.0"),
    ],
)
def test_a_question_the_table_cannot_answer_is_one_line(query: Query, message: str) -> None:
    """An unknown check, server or version says what the table has instead."""
    with pytest.raises(QueryError, match=message):
        render_show(TABLE, query)
