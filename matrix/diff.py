"""Which cells changed between two runs: pure, two compatibility tables in, changes out.

Both sides are the JSON form of the table (``compatibility.json``, or records rendered to it), so
records and committed baselines compare the same way. Columns pair by environment name when the
two runs share names (a baseline against a fresh run), else by model and server (Flask A
against Flask B).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KINDS: dict[str, str] = {
    "regression": "was pass or documented, now an unexpected failure",
    "unexpected-pass": "a documented deviation no longer happens",
    "fixed": "was failing or documented, now passes",
    "newly-documented": "now a documented deviation (or documented differently)",
    "changed": "another change of outcome",
    "appeared": "a cell the old run did not have",
    "disappeared": "a cell the new run does not have",
}
UNEXPECTED = frozenset({"fail", "timeout", "error", "flaky"})
FINE = frozenset({"pass", "expected-fail"})
INFORMATIONAL = frozenset({"pass", "n/a", "skipped"})


class DiffError(ValueError):
    """The two sides cannot be compared; one line."""


@dataclass(frozen=True)
class Cell:
    outcome: str
    explanation: str


@dataclass(frozen=True)
class Change:
    kind: str
    check: str
    column: str
    old: Cell | None
    new: Cell | None

    @property
    def transition(self) -> str:
        old = self.old.outcome if self.old else "absent"
        new = self.new.outcome if self.new else "absent"
        return f"{old} -> {new}"


def classify(old: Cell | None, new: Cell | None) -> str | None:  # noqa: PLR0911 - a table
    """The kind of change from ``old`` to ``new``, or None when nothing changed."""
    if old is None or new is None:
        return None if old == new else ("appeared" if old is None else "disappeared")
    if old == new or (old.outcome == new.outcome and new.outcome in INFORMATIONAL):
        return None  # a note on a passing (or n/a) cell informs; it is not the cell's verdict
    if new.outcome in UNEXPECTED:
        return "regression" if old.outcome in FINE else "changed"
    if new.outcome == "unexpected-pass":
        return "unexpected-pass"
    if new.outcome == "pass" and old.outcome != "pass":
        return "fixed"
    if new.outcome == "expected-fail":
        return "newly-documented"
    return "changed"


def _key(column: Mapping[str, Any]) -> str:
    """A column's identity in a table file (older files had one server per environment)."""
    return str(column.get("key") or column["environment"])


def _cells(table: Mapping[str, Any], pair_by: str) -> dict[tuple[str, str], Cell]:
    notes = {f["number"]: f["text"] for f in table["footnotes"]}
    by_key = {_key(c): c for c in table["columns"]}
    cells = {}
    for cell in table["cells"]:
        if cell["outcome"] == "not-run":
            continue
        key = str(cell.get("column") or cell["environment"])
        if pair_by == "model":
            column = by_key[key]
            key = f"{column['model']}/{column.get('server', '')}"
        text = " ".join(notes.get(n, "") for n in cell["notes"])
        cells[(cell["check"], key)] = Cell(cell["outcome"], text)
    return cells


def pairing(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """``column`` if the runs share column keys (a baseline against a fresh run of the same
    axis), else ``model`` (model and server) when each side has one Flask per server."""
    if {_key(c) for c in old["columns"]} & {_key(c) for c in new["columns"]}:
        return "column"
    for side, table in (("old", old), ("new", new)):
        pairs = [(c["model"], c.get("server", "")) for c in table["columns"]]
        if len(pairs) != len(set(pairs)):
            raise DiffError(
                f"cannot pair columns: the {side} run has several columns per model and server "
                f"and no column names in common with the other run"
            )
    return "model"


def diff_tables(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    by = pairing(old, new)
    old_cells, new_cells = _cells(old, by), _cells(new, by)
    changes = []
    for key in sorted(old_cells.keys() | new_cells.keys()):
        kind = classify(old_cells.get(key), new_cells.get(key))
        if kind is not None:
            changes.append(Change(kind, key[0], key[1], old_cells.get(key), new_cells.get(key)))
    return sorted(changes, key=lambda c: (list(KINDS).index(c.kind), c.check, c.column))


def render_diff_terminal(changes: list[Change]) -> str:
    if not changes:
        return "no cell changed\n"
    lines = []
    for kind, meaning in KINDS.items():
        group = [c for c in changes if c.kind == kind]
        if not group:
            continue
        lines.append(f"{kind} ({len(group)}): {meaning}")
        for change in group:
            lines.append(f"  {change.check} @ {change.column}: {change.transition}")
            if change.new and change.new.explanation and change.kind != "fixed":
                lines.append(f"      {change.new.explanation[:300]}")
    return "\n".join(lines) + "\n"


def render_diff_markdown(changes: list[Change], old_label: str, new_label: str) -> str:
    head = f"### Flask context matrix: {old_label} → {new_label}\n\n"
    if not changes:
        return head + "No cell changed.\n"
    counts = ", ".join(
        f"{sum(c.kind == k for c in changes)} {k}" for k in KINDS if any(c.kind == k for c in changes)
    )
    lines = [head + f"{counts}.\n", "| change | check | column | outcome | note |", "|---|---|---|---|---|"]
    for change in changes:
        note = (change.new.explanation if change.new else "").replace("|", "\\|")[:300]
        lines.append(f"| {change.kind} | `{change.check}` | {change.column} | {change.transition} | {note} |")
    return "\n".join(lines) + "\n"
