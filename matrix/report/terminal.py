"""The table for a terminal, through rich; returns text (pure), the CLI prints it.

Made to fit the width it is given (the console's): first a one-screen summary (per server and
Flask version, how many checks hold, are documented deviations, cannot apply, are red; the red
cells named), then per model a compact grid: one column per server, each cell the versions
collapsed into ranges where they agree (``✗ [37] 3.1`` under ``✓ 2.0-3.0``), the rows that hold
everywhere in one line per area. Servers that do not fit side by side go into the next block, so
no column is ever squeezed or a name cut. The notes themselves only with ``notes=True`` (they are
always in COMPATIBILITY.md, and ``flask-matrix show`` prints a check's inline).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table as RichTable

from matrix.outcomes import OUTCOMES, Colour
from matrix.table import Cell, Column, Table

STYLES: dict[Colour, str] = {"green": "green", "yellow": "yellow", "red": "bold red", "grey": "dim"}
GAP = 2
"""Columns between two grid columns (rich's padding)."""
CHECK_SHARE = 0.45
"""The check column takes at most this share of the width; a longer check id wraps."""


def _style(cell: Cell) -> str:
    return STYLES[OUTCOMES[cell.outcome].colour]


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def plain_grid() -> RichTable:
    return RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, GAP // 2))


def render_terminal(table: Table, width: int = 120, color: bool = False, notes: bool = False) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=width, force_terminal=color, no_color=not color, highlight=False, soft_wrap=False
    )
    _summary(console, table)
    for model, columns in table.by_model():
        _model_grid(console, table, model, columns, width)
    console.print(" ".join(f"{row.symbol} {name}" for name, row in OUTCOMES.items()), highlight=False)
    if notes:
        for footnote in table.footnotes:
            sources = f" ({', '.join(footnote.cite)})" if footnote.cite else ""
            console.print(f"[{footnote.number}] {footnote.text}{sources}", highlight=False, markup=False)
    elif table.footnotes:
        console.print(
            f"{len(table.footnotes)} notes [n]: shown with --notes, in COMPATIBILITY.md, and inline by "
            "`flask-matrix show CHECK`",
            highlight=False,
            markup=False,
        )
    return out.getvalue()


def _counts(table: Table, column: Column) -> tuple[int, int, int, int]:
    """Checks that hold, are documented, cannot apply (or did not run), are red, in a column."""
    standing = [OUTCOMES[table.cell(row.check, column.key).outcome] for row in table.rows]
    red = sum(s.red for s in standing)
    ideal = sum(s.standing == "ideal" for s in standing)
    documented = sum(s.standing == "documented" for s in standing)
    return ideal, documented, len(standing) - ideal - documented - red, red


def _summary(console: Console, table: Table) -> None:
    versions = sorted({c.flask for c in table.columns}, key=version_key)
    console.print(
        f"Flask context compatibility: {len(table.rows)} checks x {len(table.columns)} columns "
        f"({len({c.server for c in table.columns})} servers, Flask {', '.join(versions)}). "
        "Per column: checks that hold ✓, documented deviations ✗, red.",
        highlight=False,
        markup=False,
    )
    grid = plain_grid()
    grid.add_column("server", no_wrap=True)
    for version in versions:
        grid.add_column(version, justify="right", no_wrap=True)
    for model, columns in table.by_model():
        grid.add_row(f"[bold]{model}[/]", *[""] * len(versions))
        for server in dict.fromkeys(c.server for c in columns):
            by_version = {c.flask: c for c in columns if c.server == server}
            cells = []
            for version in versions:
                column = by_version.get(version)
                if column is None:
                    cells.append("[dim]·[/]")
                    continue
                ideal, documented, _, red = _counts(table, column)
                text = f"[green]{ideal}✓[/] [yellow]{documented}✗[/]"
                text += f" [bold red]{red} red[/]" if red else ""
                cells.append(text + ("" if column.complete else " [bold red]incomplete[/]"))
            grid.add_row(server, *cells)
    console.print(grid)
    red_cells = table.red
    if red_cells:
        console.print(f"[bold red]{len(red_cells)} red cell(s)[/]:", highlight=False)
        for check, key in red_cells:
            console.print(f"  {check} @ {key}: {table.cell(check, key).outcome}", markup=False)
    console.print("")


def version_key(version: str) -> list[int | str]:
    return [int(p) if p.isdigit() else p for p in version.split(".")]


Run = tuple[str, str, Cell]
"""Consecutive Flask versions of one server (first, last) whose cells read the same."""


def _runs(cells: Sequence[tuple[str, Cell]]) -> list[Run]:
    """The cells of one server, in Flask version order, as runs of equal cells."""
    runs: list[Run] = []
    for version, cell in cells:
        if runs and runs[-1][2].text == cell.text:
            runs[-1] = (runs[-1][0], version, runs[-1][2])
        else:
            runs.append((version, version, cell))
    return runs


def _lines(runs: list[Run]) -> list[str]:
    """A cell of the grid: ``✓`` where every version agrees, else one line per run, ``✓ 2.0-3.0``."""
    if len(runs) == 1:
        return [f"[{_style(runs[0][2])}]{runs[0][2].text}[/]"]
    lines = []
    for first, last, cell in runs:
        versions = _minor(first) if first == last else f"{_minor(first)}-{_minor(last)}"
        lines.append(f"[{_style(cell)}]{cell.text}[/] {versions}")
    return lines


def _strip(markup: str) -> str:
    from rich.text import Text

    return Text.from_markup(markup).plain


def _uniform(runs: list[list[Run]], outcome: str) -> bool:
    """Every server's cell of a row is one run with this outcome."""
    return all(len(r) == 1 and r[0][2].outcome == outcome for r in runs)


def _model_grid(console: Console, table: Table, model: str, columns: list[Column], width: int) -> None:
    servers = list(dict.fromkeys(c.server for c in columns))
    runs: dict[tuple[str, str], list[Run]] = {}
    for server in servers:
        mine = sorted((c for c in columns if c.server == server), key=lambda c: version_key(c.flask))
        for row in table.rows:
            runs[(row.check, server)] = _runs([(c.flask, table.cell(row.check, c.key)) for c in mine])
    check_width = min(int(width * CHECK_SHARE), max(len(row.check) for row in table.rows))
    widths = {
        s: max([len(s), *(len(_strip(line)) for row in table.rows for line in _lines(runs[(row.check, s)]))])
        for s in servers
    }
    blocks: list[list[str]] = [[]]
    used = check_width
    for server in servers:
        if blocks[-1] and used + GAP + widths[server] > width:
            blocks.append([])
            used = check_width
        blocks[-1].append(server)
        used += GAP + widths[server]
    for block in blocks:
        _block(console, table, model, block, runs, check_width, widths)


def _block(  # noqa: PLR0917 - one block's parts
    console: Console,
    table: Table,
    model: str,
    servers: list[str],
    runs: dict[tuple[str, str], list[Run]],
    check_width: int,
    widths: dict[str, int],
) -> None:
    console.print(f"[bold]{model}[/]: " + ", ".join(servers), highlight=False)
    grid = plain_grid()
    grid.add_column("check", width=check_width, overflow="fold")
    for server in servers:
        grid.add_column(server, min_width=widths[server], no_wrap=True)
    holding: list[str] = []
    inapplicable: list[str] = []
    for area, rows in table.sections():
        shown = []
        for row in rows:
            mine = [runs[(row.check, s)] for s in servers]
            if _uniform(mine, "pass") and not any(r[0][2].notes for r in mine):
                holding.append(row.check)
            elif _uniform(mine, "n/a"):
                inapplicable.append(f"{row.check} {mine[0][0][2].text.removeprefix('n/a ')}")
            else:
                shown.append(row)
        if not shown:
            continue
        if area:
            grid.add_row(f"[bold]{area}[/]", *[""] * len(servers))
        for row in shown:
            grid.add_row(row.check, *["\n".join(_lines(runs[(row.check, s)])) for s in servers])
        grid.add_section()
    console.print(grid)
    if holding:
        console.print(
            f"[green]{OUTCOMES['pass'].symbol} in every column above:[/] {', '.join(holding)}",
            highlight=False,
        )
    if inapplicable:
        console.print(f"[dim]n/a in every column above:[/] {', '.join(inapplicable)}", highlight=False)
    console.print("")
