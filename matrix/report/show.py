"""Questions answered from the table: one check across every server and version, or "what holds on
my stack" (one server under one Flask), with the notes where they are read. Pure: table in, text out.

A note keeps its number from the table (``[37]`` here is ``[37]`` in COMPATIBILITY.md).
"""

from __future__ import annotations

import fnmatch
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from rich.console import Console

from matrix.outcomes import OUTCOMES
from matrix.report.terminal import plain_grid, version_key
from matrix.table import Cell, Column, Footnote, Row, Table

wrap = partial(textwrap.wrap, break_long_words=False, break_on_hyphens=False)
"""Wrapped at spaces only: a source's address stays whole, to be clicked or copied."""
INSTEAD = " Why: "
"""Where a documented note's observation ends and its reason begins."""
SURPRISE_ORDER = ("unexpected", "xpass", "documented", "inapplicable", "absent", "ideal")
"""The stack view's order: what breaks first, what holds last."""


class QueryError(ValueError):
    """A question the table cannot answer (no such check, server or version); one line."""


@dataclass(frozen=True)
class Query:
    checks: tuple[str, ...] = ()
    """Check ids or globs; empty: every check."""
    model: str | None = None
    server: str | None = None
    flask: str | None = None
    """A version, or a minor (``3.1``) meaning every release of it."""

    def rows(self, table: Table) -> list[Row]:
        if not self.checks:
            return list(table.rows)
        rows = [r for r in table.rows if any(fnmatch.fnmatchcase(r.check, p) for p in self.checks)]
        if not rows:
            raise QueryError(f"no check matches {', '.join(self.checks)} (flask-matrix show lists them all)")
        return rows

    def columns(self, table: Table) -> list[Column]:
        columns = [
            c
            for c in table.columns
            if (self.model is None or c.model == self.model)
            and (self.server is None or c.server == self.server)
            and (self.flask is None or c.flask == self.flask or c.flask.startswith(f"{self.flask}."))
        ]
        if not columns:
            asked = ", ".join(f"{k} {v}" for k, v in vars(self).items() if v and k != "checks")
            servers = ", ".join(dict.fromkeys(c.server for c in table.columns))
            flasks = ", ".join(sorted({c.flask for c in table.columns}, key=version_key))
            raise QueryError(f"no column has {asked}: servers {servers}; Flask {flasks}")
        return columns


def render_show(table: Table, query: Query, width: int = 100) -> str:
    """One column selected: the stack view; several: each selected check across them."""
    rows, columns = query.rows(table), query.columns(table)
    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, highlight=False, soft_wrap=True)
    if len(columns) == 1:
        _stack(console, table, rows, columns[0], width)
    else:
        for row in rows:
            _check(console, table, row, columns, width)
    return out.getvalue()


def _notes(table: Table) -> dict[int, Footnote]:
    return {f.number: f for f in table.footnotes}


def _note_lines(footnotes: Sequence[Footnote], width: int) -> list[str]:
    lines = []
    for note in footnotes:
        sources = f" Sources: {'; '.join(note.cite)}" if note.cite else ""
        lines += wrap(f"[{note.number}] {note.text}{sources}", width, subsequent_indent="    ")
    return lines


def _check(console: Console, table: Table, row: Row, columns: list[Column], width: int) -> None:
    """One check: a grid of its cells (servers down, Flask versions across), then its notes."""
    for line in wrap(f"{row.check}: {row.title} ({row.area})", width, subsequent_indent="    "):
        console.print(line, markup=False)
    versions = sorted({c.flask for c in columns}, key=version_key)
    grid = plain_grid()
    grid.add_column("server", no_wrap=True)
    for version in versions:
        grid.add_column(version, no_wrap=True)
    used: dict[int, None] = {}
    for server in dict.fromkeys(c.server for c in columns):
        mine = {c.flask: table.cell(row.check, c.key) for c in columns if c.server == server}
        texts = []
        for version in versions:
            cell = mine.get(version)
            texts.append("·" if cell is None else cell.text)
            used.update(dict.fromkeys(cell.notes if cell else ()))
        grid.add_row(server, *texts)
    console.print(grid, markup=False)
    notes = _notes(table)
    for line in _note_lines([notes[n] for n in sorted(used)], width):
        console.print(line, markup=False)
    console.print("")


def _observation(cell: Cell, notes: dict[int, Footnote]) -> str:
    """A cell's one-line account: a documented note's observation, else its first note's text."""
    texts = [notes[n].text for n in cell.notes if n in notes]
    if not texts:
        return ""
    return texts[0].split(INSTEAD, 1)[0] if texts[0].startswith("Instead: ") else texts[0]


def _stack(console: Console, table: Table, rows: list[Row], column: Column, width: int) -> None:
    """Every selected check on one server under one Flask, grouped by area, surprises first."""
    versions = ", ".join(f"{k} {v}" for k, v in column.runtime_versions.items() if v)
    for line in wrap(f"{column.server_label} ({column.server}), Flask {column.flask}: {versions}", width):
        console.print(line, markup=False)
    cells = [(row, table.cell(row.check, column.key)) for row in rows]
    counts = {name: sum(c.outcome == name for _, c in cells) for name in OUTCOMES}
    words = {"pass": "hold", "expected-fail": "documented deviations", "n/a": "cannot apply"}
    console.print(
        f"{len(cells)} checks: "
        + ", ".join(f"{n} {OUTCOMES[o].symbol} {words.get(o, o)}" for o, n in counts.items() if n),
        markup=False,
    )
    notes = _notes(table)
    _surprises(console, cells, notes, width)
    _holding(console, cells, width)
    used = sorted({n for _, c in cells for n in c.notes})
    console.print("")
    console.print(f"Notes ({len(used)}):", markup=False)
    for line in _note_lines([notes[n] for n in used], width):
        console.print(line, markup=False)


def _surprises(
    console: Console, cells: list[tuple[Row, Cell]], notes: dict[int, Footnote], width: int
) -> None:
    """Every cell that does not hold, by standing (red first), by area, each with its account."""
    for standing in SURPRISE_ORDER[:-1]:
        group = [(row, cell) for row, cell in cells if OUTCOMES[cell.outcome].standing == standing]
        if not group:
            continue
        console.print("")
        console.print(_heading(standing), markup=False)
        for area in dict.fromkeys(row.area for row, _ in group):
            console.print(f"  {area}", markup=False)
            for row, cell in (pair for pair in group if pair[0].area == area):
                head = wrap(f"{cell.text} {row.check}: {row.title}", width - 4, subsequent_indent="    ")
                for line in head:
                    console.print(f"    {line}", markup=False)
                for line in wrap(_observation(cell, notes), width - 10):
                    console.print(f"          {line}", markup=False)


def _holding(console: Console, cells: list[tuple[Row, Cell]], width: int) -> None:
    """The checks that hold, by area, in a few lines."""
    holding: dict[str, list[str]] = {}
    for row, cell in cells:
        if OUTCOMES[cell.outcome].standing == "ideal":
            marks = "".join(f"[{n}]" for n in cell.notes)
            holding.setdefault(row.area, []).append(row.check + (f" {marks}" if marks else ""))
    if not holding:
        return
    console.print("")
    console.print(_heading("ideal"), markup=False)
    for area, checks in holding.items():
        for line in wrap(f"{area}: {', '.join(checks)}", width - 2, subsequent_indent="    "):
            console.print(f"  {line}", markup=False)


def _heading(standing: str) -> str:
    return {
        "unexpected": "Red: an unexpected failure (the table or Flask changed)",
        "xpass": "Red: a documented deviation that did not happen",
        "documented": "Does not hold here (documented deviations: what happens instead)",
        "inapplicable": "Cannot apply here",
        "absent": "Not run",
        "ideal": "Holds",
    }[standing]
