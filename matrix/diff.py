"""Which cells changed between two runs: pure, two tables in, changes out.

Kinds are listed in the order the person upgrading reads them: first the behaviours lost (a ✓
that became a documented deviation: documented, but no longer there for code relying on it),
then regressions (unexpected failures), then the rest.

Both sides are typed tables (``matrix.table``), built from records or read back from a
``compatibility.json``, so records and committed baselines compare the same way. A cell is its
outcome and its explanation (the text of its notes); how a change is classified follows from the
outcomes' standings (``matrix.outcomes``). Columns pair by column key when the two runs share
keys (a baseline against a fresh run), else by model and server (Flask A against Flask B).
"""

from __future__ import annotations

from dataclasses import dataclass

from matrix.outcomes import OUTCOMES
from matrix.table import Cell, Table

KINDS: dict[str, str] = {
    "lost": "was ✓, now a documented deviation: a behaviour the new side no longer has",
    "regression": "was pass or documented, now an unexpected failure",
    "unexpected-pass": "a documented deviation no longer happens",
    "fixed": "was failing or documented, now passes",
    "newly-documented": "now a documented deviation where it was not ✓ (or documented differently)",
    "changed": "another change of outcome",
    "appeared": "a cell the old run did not have",
    "disappeared": "a cell the new run does not have",
}
EXPLANATION_SHOWN = 300
"""Characters of a changed cell's explanation shown with it."""


class DiffError(ValueError):
    """The two sides cannot be compared; one line."""


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


def _same(old: Cell, new: Cell) -> bool:
    return (old.outcome, old.explanation) == (new.outcome, new.explanation)


def classify(old: Cell | None, new: Cell | None) -> str | None:  # noqa: PLR0911 - a table
    """The kind of change from ``old`` to ``new``, or None when nothing changed."""
    if old is None or new is None:
        return None if old == new else ("appeared" if old is None else "disappeared")
    was, now = OUTCOMES[old.outcome], OUTCOMES[new.outcome]
    if _same(old, new) or (old.outcome == new.outcome and now.notes_inform):
        return None  # a note on a passing (or n/a) cell informs; it is not the cell's verdict
    if now.standing == "unexpected":
        return "regression" if was.fine else "changed"
    if now.standing == "xpass":
        return "unexpected-pass"
    if now.standing == "ideal" and was.standing != "ideal":
        return "fixed"
    if now.standing == "documented":
        return "lost" if was.standing == "ideal" else "newly-documented"
    return "changed"


def _cells(table: Table, pair_by: str) -> dict[tuple[str, str], Cell]:
    by_key = {c.key: c for c in table.columns}
    cells = {}
    for (check, key), cell in table.cells.items():
        paired = f"{by_key[key].model}/{by_key[key].server}" if pair_by == "model" else key
        cells[(check, paired)] = cell
    return cells


def pairing(old: Table, new: Table) -> str:
    """``column`` if the runs share column keys (a baseline against a fresh run of the same
    axis), else ``model`` (model and server) when each side has one Flask per server."""
    if {c.key for c in old.columns} & {c.key for c in new.columns}:
        return "column"
    for side, table in (("old", old), ("new", new)):
        pairs = [(c.model, c.server) for c in table.columns]
        if len(pairs) != len(set(pairs)):
            raise DiffError(
                f"cannot pair columns: the {side} run has several columns per model and server "
                f"and no column names in common with the other run"
            )
    return "model"


def diff_tables(old: Table, new: Table) -> list[Change]:
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
                lines.append(f"      {change.new.explanation[:EXPLANATION_SHOWN]}")
    return "\n".join(lines) + "\n"


def render_diff_markdown(changes: list[Change], old_label: str, new_label: str) -> str:
    head = f"### Flask context matrix: {old_label} → {new_label}"
    if not changes:
        return head + "\n\nNo cell changed.\n"
    counts = ", ".join(
        f"{sum(c.kind == k for c in changes)} {k}" for k in KINDS if any(c.kind == k for c in changes)
    )
    lines = [f"{head}: {counts}\n", "| change | check | column | outcome | note |", "|---|---|---|---|---|"]
    for change in changes:
        note = (change.new.explanation if change.new else "").replace("|", "\\|")[:EXPLANATION_SHOWN]
        lines.append(f"| {change.kind} | `{change.check}` | {change.column} | {change.transition} | {note} |")
    return "\n".join(lines) + "\n"
