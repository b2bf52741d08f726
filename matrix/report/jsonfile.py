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
