"""What a running fan-out shows a person: a status line while its columns run (terminal only), a
line for each red cell as it appears, and a short summary per column when it ends.

Progress is read from the records the columns rewrite after every check (``planned`` is set at
collection), so nothing is parsed out of pytest's output; that output goes whole to the column's
log file, whose tail is shown only when a column fails without a record to explain it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from matrix.outcomes import OUTCOMES

LOG_TAIL = 15
"""Lines of a column's pytest log shown when it ended badly and left no record saying why."""


@dataclass
class ColumnProgress:
    """One server's column, as its record shows it."""

    server: str
    record: Path | None
    since: float = 0.0
    """Wall-clock start of this run: a record written before it is a previous run's."""
    planned: int = 0
    outcomes: list[str] = field(default_factory=list)
    red: list[str] = field(default_factory=list)
    """``check: outcome`` of the red cells, in the order they appeared."""

    def refresh(self) -> list[str]:
        """Re-read the record; the red cells that appeared since the last look."""
        if self.record is None:
            return []
        try:
            if self.record.stat().st_mtime < self.since:
                return []
            data = json.loads(self.record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []  # not written yet, or from a run before this one was collected
        self.planned = int(data.get("planned") or 0)
        checks = data.get("checks", [])
        self.outcomes = [str(c.get("outcome")) for c in checks]
        red = [
            f"{c['check']}: {c['outcome']}"
            for c in checks
            if OUTCOMES.get(c.get("outcome", "")) and OUTCOMES[c["outcome"]].red
        ]
        new = red[len(self.red) :]
        self.red = red
        return new

    def done(self) -> str:
        return f"{len(self.outcomes)}/{self.planned or '?'}"


def record_path(records: Path | None, environment: str, server: str) -> Path | None:
    """Where the plugin writes a column's record (``--flask-records DIR``), if it writes one."""
    return None if records is None else records / f"{environment}--{server}.json"


def status_line(environment: str, columns: list[ColumnProgress], elapsed: float) -> str:
    """``flask31-gevent  pywsgi 41/94  gunicorn-gevent 12/94  6.3 s  0 red``."""
    parts = "  ".join(f"{c.server} {c.done()}" for c in columns)
    red = sum(len(c.red) for c in columns)
    return f"{environment}  {parts}  {elapsed:.1f} s  {red} red"


def column_summary(column: ColumnProgress, returncode: int | None, elapsed: float, log: Path) -> str:
    """One line for a column that ended: its counts by outcome, its red cells, its log."""
    if returncode is None:
        return f"{column.server}: not started"
    counts = Counter(column.outcomes)
    shown = ", ".join(f"{counts[name]} {row.symbol}" for name, row in OUTCOMES.items() if counts[name])
    status = "" if returncode == 0 else f", exit {returncode}"
    recorded = f"{len(column.outcomes)} checks ({shown or 'none recorded'})"
    return f"{column.server}: {recorded} in {elapsed:.1f} s{status}; log: {log}"


def log_tail(log: Path, lines: int = LOG_TAIL) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])
