"""A self-contained HTML report (no network), for people: the grid per model with a sticky header
and check column, each ``[n]`` opening its note beside the cell, a detail panel written for a
reader (raw JSON behind a toggle), search over checks and notes, "your stack" (one server under
one Flask), filters and a two-version diff view; every state in the URL's hash. Pure: table in,
one HTML string out.

The grid is drawn by the page's script from compact data (outcomes and notes by index, each
distinct cell detail once), which keeps the whole table well under a megabyte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from matrix.outcomes import OUTCOMES
from matrix.table import Table, describe

TEMPLATES = Path(__file__).with_name("templates")
HASH_STATE = {
    "model": "models to show, comma-separated (model={model})",
    "server": "servers to show, comma-separated (server={server})",
    "flask": "Flask versions to show (flask={flask})",
    "diff": "only the rows that differ between two Flask versions (diff={flask},{flask})",
    "q": "search checks, titles and notes (q=copy_context)",
    "stack": "your stack: one server under one Flask (stack={server},{flask})",
    "cell": "open a cell's detail (cell=CHECK|COLUMN)",
    "note": "open a note beside its cell (note=N|CHECK|COLUMN)",
}
"""The report's state kept in the URL (``report.html#model=M&q=late``), documented in the page with
the table's own names filled in."""


def report_data(table: Table) -> dict[str, Any]:
    """The table as the page's script reads it: every repeated string once."""
    names = list(OUTCOMES)
    details: dict[str, int] = {}
    cells = []
    for row in table.rows:
        line: list[Any] = []
        for column in table.columns:
            cell = table.cells.get((row.check, column.key))
            if cell is None:
                line.append(0)
                continue
            text = json.dumps(dict(cell.detail), sort_keys=True)
            index = details.setdefault(text, len(details))
            duration = None if cell.duration is None else round(cell.duration, 2)
            line.append([names.index(cell.outcome), list(cell.notes), index, duration])
        cells.append(line)
    return {
        "outcomes": [
            {"name": n, "symbol": r.symbol, "colour": r.colour, "meaning": r.meaning, "standing": r.standing}
            for n, r in OUTCOMES.items()
        ],
        "columns": [
            {
                "key": c.key,
                "model": c.model,
                "server": c.server,
                "label": c.server_label,
                "flask": c.flask,
                "versions": {k: v for k, v in c.runtime_versions.items() if v},
                "complete": c.complete,
            }
            for c in table.columns
        ],
        "rows": [{"check": r.check, "title": r.title, "area": r.area} for r in table.rows],
        "cells": cells,
        "details": [json.loads(text) for text in details],
        "observed": [describe(json.loads(text).get("observed", {})) for text in details],
        "notes": {
            str(f.number): {"kind": f.kind, "text": f.text, "cite": list(f.cite)} for f in table.footnotes
        },
    }


def render_html(table: Table) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    # "</" cannot end the JSON script element early once escaped this way.
    data_json = json.dumps(report_data(table), separators=(",", ":")).replace("</", "<\\/")
    columns = table.columns
    names = (
        {"model": columns[0].model, "server": columns[0].server, "flask": columns[0].flask} if columns else {}
    )
    return env.get_template("report.html.j2").render(
        example=f"model={names.get('model', '')}&q=copy_context",
        models=list(dict.fromkeys(c.model for c in columns)),
        servers=list(dict.fromkeys(c.server for c in columns)),
        flasks=sorted(
            {c.flask for c in columns}, key=lambda v: [int(p) if p.isdigit() else p for p in v.split(".")]
        ),
        outcomes=OUTCOMES,
        hash_state={key: text.format(**names) if names else text for key, text in HASH_STATE.items()},
        data_json=data_json,
    )
