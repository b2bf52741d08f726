"""A self-contained HTML report (no network): the grid, legend, notes, per-cell detail, filters
and a "rows that differ between two Flask versions" view. Pure: table in, one HTML string out."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from matrix.outcomes import OUTCOMES
from matrix.report.jsonfile import table_to_json
from matrix.table import Table

TEMPLATES = Path(__file__).with_name("templates")


def render_html(table: Table) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    data = table_to_json(table)
    for cell in data["cells"]:
        found = table.cells.get((cell["check"], cell["column"]))
        cell["duration"] = found.duration if found else None
    # "</" cannot end the JSON script element early once escaped this way.
    data_json = json.dumps(data, sort_keys=True).replace("</", "<\\/")
    columns = table.columns
    return env.get_template("report.html.j2").render(
        table=table,
        groups=table.by_model(),
        sections=table.sections(),
        models=list(dict.fromkeys(c.model for c in columns)),
        servers=list(dict.fromkeys(c.server for c in columns)),
        flasks=sorted(
            {c.flask for c in columns}, key=lambda v: [int(p) if p.isdigit() else p for p in v.split(".")]
        ),
        outcomes=OUTCOMES,
        data_json=data_json,
    )
