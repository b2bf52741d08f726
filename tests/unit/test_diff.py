"""The diff classifies every kind of cell change and pairs columns sensibly."""

from __future__ import annotations

import pytest

from matrix.cli import upgrade_verdict
from matrix.diff import DiffError, classify, diff_tables, render_diff_markdown
from matrix.outcomes import Outcome
from matrix.table import Cell, Column, Row, Table


def cell(outcome: Outcome, explanation: str = "") -> Cell:
    return Cell(outcome, explanation=explanation)


PASS, DOC, FAIL = cell("pass"), cell("expected-fail", "[note] raises X"), cell("fail", "boom")


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (PASS, FAIL, "regression"),
        (DOC, FAIL, "regression"),
        (DOC, cell("timeout"), "regression"),
        (FAIL, cell("error"), "changed"),
        (DOC, cell("unexpected-pass"), "unexpected-pass"),
        (FAIL, PASS, "fixed"),
        (DOC, PASS, "fixed"),
        (PASS, DOC, "lost"),
        (cell("n/a"), DOC, "newly-documented"),
        (DOC, cell("expected-fail", "[note] raises Y"), "newly-documented"),
        (None, PASS, "appeared"),
        (PASS, None, "disappeared"),
        (PASS, PASS, None),
        (PASS, cell("pass", "[note] passed without overlap"), None),
        (cell("n/a", "needs flask >=2.1"), cell("n/a", "needs flask >=2.2"), None),
        (DOC, DOC, None),
    ],
)
def test_classify(old: Cell | None, new: Cell | None, kind: str | None) -> None:
    """Each old -> new outcome pair maps to exactly one kind of change (or none)."""
    assert classify(old, new) == kind


def table(*columns: tuple[str, str, Outcome]) -> Table:
    """A table from (environment, model, outcome of the one check 'teardown'), server 's'."""
    cols = tuple(Column(env, model, "s", "s", {}, True) for env, model, _ in columns)
    cells = {("teardown", col.key): Cell(outcome) for col, (_, _, outcome) in zip(cols, columns, strict=True)}
    return Table(cols, (Row("teardown", "t", "a"),), cells, ())


def test_pairs_by_environment_when_names_are_shared() -> None:
    """A baseline against a fresh run of the same axis pairs flask31-gevent with flask31-gevent."""
    old = table(("flask30-gevent", "gevent", "pass"), ("flask31-gevent", "gevent", "pass"))
    new = table(("flask30-gevent", "gevent", "pass"), ("flask31-gevent", "gevent", "fail"))
    (change,) = diff_tables(old, new)
    assert (change.kind, change.column, change.transition) == (
        "regression",
        "flask31-gevent/s",
        "pass -> fail",
    )


def test_pairs_by_model_across_flask_versions() -> None:
    """Flask A against Flask B (different environment names) pairs columns by model."""
    (change,) = diff_tables(table(("a-gevent", "gevent", "fail")), table(("b-gevent", "gevent", "pass")))
    assert (change.kind, change.column) == ("fixed", "gevent/s")


def test_ambiguous_columns_are_refused() -> None:
    """Several columns per model and no shared names cannot be paired: an error, not a guess."""
    old = table(("a-gevent", "gevent", "pass"), ("b-gevent", "gevent", "pass"))
    with pytest.raises(DiffError, match="several columns per model"):
        diff_tables(old, table(("c-gevent", "gevent", "pass")))


def test_markdown_lists_each_change_for_a_pull_request() -> None:
    """The Markdown form starts with the counts, then has one table row per changed cell."""
    changes = diff_tables(table(("x-threads", "threads", "pass")), table(("y-threads", "threads", "fail")))
    text = render_diff_markdown(changes, "Flask 3.0.3", "Flask 3.1.3")
    assert text.startswith("### Flask context matrix: Flask 3.0.3 → Flask 3.1.3: 1 regression\n")
    assert "| regression | `teardown` | threads/s | pass -> fail |" in text


def test_a_lost_behaviour_is_listed_first_and_fails_the_upgrade_unless_accepted() -> None:
    """A ✓ that becomes a documented deviation comes before every other change and makes an
    upgrade-check exit 1, unless the upgrader passed --accept-documented; a regression always does."""
    old = table(("a", "threads", "pass"), ("b", "gevent", "pass"))
    new = table(("c", "threads", "expected-fail"), ("d", "gevent", "fail"))
    changes = diff_tables(old, new)
    assert [c.kind for c in changes] == ["lost", "regression"]
    assert upgrade_verdict(changes[:1], accept_documented=False) == 1
    assert upgrade_verdict(changes[:1], accept_documented=True) == 0
    assert upgrade_verdict(changes, accept_documented=True) == 1
