"""The table for a terminal, through rich; returns text (pure), the CLI prints it."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table as RichTable

from matrix.outcomes import OUTCOMES, Colour
from matrix.table import Table

STYLES: dict[Colour, str] = {"green": "green", "yellow": "yellow", "red": "bold red", "grey": "dim"}


def render_terminal(table: Table, width: int = 120, color: bool = False) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=width, force_terminal=color, no_color=not color, highlight=False, soft_wrap=False
    )
    for model, columns in table.by_model():
        grid = RichTable(title=model, title_justify="left")
        grid.add_column("check", no_wrap=True)
        for column in columns:
            grid.add_column(
                f"{column.server}\nflask {column.flask}" + ("" if column.complete else "\n(incomplete)"),
                justify="center",
            )
        for area, rows in table.sections():
            if area:
                grid.add_row(f"[bold]{area}[/]", *[""] * len(columns))
            for row in rows:
                cells = [table.cell(row.check, c.key) for c in columns]
                grid.add_row(
                    f"  {row.check}", *[f"[{STYLES[OUTCOMES[c.outcome].colour]}]{c.text}[/]" for c in cells]
                )
            grid.add_section()
        console.print(grid)
    console.print(" ".join(f"{row.symbol} {name}" for name, row in OUTCOMES.items()), highlight=False)
    for footnote in table.footnotes:
        sources = f" ({', '.join(footnote.cite)})" if footnote.cite else ""
        console.print(f"[{footnote.number}] {footnote.text}{sources}", highlight=False)
    return out.getvalue()
