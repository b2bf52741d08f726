"""compatibility.json: the machine-readable source of truth behind COMPATIBILITY.md.

``matrix.table.table_from_json`` reads it back (for the diff and the gate)."""

from __future__ import annotations

import json
from typing import Any

from matrix.records import SCHEMA as RECORD_SCHEMA
from matrix.table import SCHEMA, Table


def table_to_json(table: Table) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "record_schema": RECORD_SCHEMA,
        "columns": [
            {
                "key": c.key,
                "environment": c.environment,
                "model": c.model,
                "server_label": c.server_label,
                "server": c.server,
                "versions": dict(c.versions),
                "complete": c.complete,
                "order": list(c.order),
                "runtimes": list(c.runtimes),
                "model_note": c.model_note,
            }
            for c in table.columns
        ],
        "rows": [{"check": r.check, "title": r.title, "area": r.area} for r in table.rows],
        "cells": [
            {
                "check": row.check,
                "column": c.key,
                "environment": c.environment,
                "outcome": cell.outcome,
                "notes": list(cell.notes),
                "detail": dict(cell.detail),
            }
            for row in table.rows
            for c in table.columns
            for cell in [table.cell(row.check, c.key)]
        ],
        "footnotes": [
            {"number": f.number, "kind": f.kind, "text": f.text, "cite": list(f.cite)}
            for f in table.footnotes
        ],
    }


def render_json(table: Table) -> str:
    return json.dumps(table_to_json(table), indent=2, sort_keys=True) + "\n"


def same_table(old_text: str, new_text: str) -> bool:
    """Whether two compatibility.json texts hold the same table: every column and its versions,
    row, cell outcome, cell note and footnote alike, whatever the cells' details (one run's
    measurements: thread counts, timings, which worker answered). A text that is not a table
    of this schema is never the same."""
    try:
        old, new = json.loads(old_text), json.loads(new_text)
    except ValueError:
        return False
    if not isinstance(old, dict) or old.get("schema") != new.get("schema"):
        return False
    return _without_details(old) == _without_details(new)


def _without_details(table: dict[str, Any]) -> dict[str, Any]:
    cells = table.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        return table
    return {**table, "cells": [{k: v for k, v in c.items() if k != "detail"} for c in cells]}
