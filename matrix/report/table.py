"""The compatibility table as data: columns (environments), rows (checks), cells, footnotes.

Built from records alone, so every renderer (terminal, Markdown, JSON) shows the same cells and
the same numbered notes. Pure: no files, no processes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from packaging.version import InvalidVersion, Version

from matrix.catalog import CHECKS
from matrix.models import MODELS, SERVERS
from matrix.records import Record

SYMBOLS: dict[str, str] = {
    "pass": "✓",
    "expected-fail": "✗",
    "fail": "FAIL",
    "unexpected-pass": "XPASS",
    "timeout": "TIMEOUT",
    "error": "ERROR",
    "skipped": "–",  # noqa: RUF001 - an en dash on purpose: it reads as "nothing here"
    "n/a": "n/a",
    "flaky": "FLAKY",
    "not-run": "·",
}
LEGEND: dict[str, str] = {
    "pass": "the ideal behaviour holds",
    "expected-fail": "documented deviation: the ideal does not hold; the note says what happens "
    "instead, why, and the upstream source",
    "fail": "unexpected failure: neither the ideal nor a documented deviation (a red cell)",
    "unexpected-pass": "a documented deviation did not occur: the ideal holds now (update the expectations)",
    "timeout": "the check did not finish within its bound; the server was restarted",
    "error": "the check itself crashed or the server failed",
    "skipped": "skipped",
    "flaky": "the same cell was reported with different outcomes (merged runs): not trustworthy",
    "n/a": "the check cannot apply here (e.g. an API this Flask does not have yet); the note says why",
    "not-run": "no record for this cell",
}
RED = frozenset({"fail", "unexpected-pass", "timeout", "error", "flaky"})
VERSION_KEYS = ("python", "flask", "werkzeug")


@dataclass(frozen=True)
class Column:
    environment: str
    model: str
    server: str
    server_label: str
    versions: Mapping[str, str | None]
    complete: bool

    @property
    def key(self) -> str:
        """The column's identity: environment and server (several servers share an environment)."""
        return f"{self.environment}/{self.server}"

    @property
    def flask(self) -> str:
        return self.versions.get("flask") or "?"

    @property
    def runtime_versions(self) -> dict[str, str | None]:
        """Python, Flask, Werkzeug and the model's own runtime library (if not Werkzeug)."""
        keys = list(VERSION_KEYS)
        info = MODELS.get(self.model)
        if info is not None and info.runtime not in keys:
            keys.append(info.runtime)
        if self.model in ("gevent", "eventlet"):
            keys.append("greenlet")
        server = SERVERS.get(self.server)
        if server is not None and server.runtime not in keys:
            keys.append(server.runtime)
        if self.model == "asgi":
            keys.append("asgiref")
        return {k: self.versions.get(k) for k in dict.fromkeys(keys)}


@dataclass(frozen=True)
class Footnote:
    number: int
    kind: str
    """``documented``, ``no-overlap`` or the red outcome it explains."""
    text: str
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cell:
    outcome: str
    notes: tuple[int, ...] = ()
    duration: float | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        marks = "".join(f"[{n}]" for n in self.notes)
        return f"{SYMBOLS[self.outcome]}{' ' + marks if marks else ''}"


class Row(NamedTuple):
    check: str
    title: str
    area: str


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    """In catalog order: areas in their order, checks in their area's order."""
    cells: Mapping[tuple[str, str], Cell]
    """(check id, column key) -> cell."""
    footnotes: tuple[Footnote, ...]

    def cell(self, check: str, column: str) -> Cell:
        return self.cells.get((check, column), Cell("not-run"))

    def sections(self) -> list[tuple[str, list[Row]]]:
        """Rows grouped by area, in order."""
        groups: dict[str, list[Row]] = {}
        for row in self.rows:
            groups.setdefault(row.area, []).append(row)
        return list(groups.items())

    def by_model(self) -> list[tuple[str, list[Column]]]:
        """Columns grouped by model, in registry order, each group in Flask version order."""
        groups: dict[str, list[Column]] = {}
        for column in self.columns:
            groups.setdefault(column.model, []).append(column)
        return list(groups.items())

    @property
    def red(self) -> list[tuple[str, str]]:
        return [key for key, cell in self.cells.items() if cell.outcome in RED]


def describe(observed: Mapping[str, Any]) -> str:
    """One line for an observation: ``request raises RuntimeError: ...; held = 'x'``."""
    parts = []
    for key, value in observed.items():
        parts.append(f"{key} {_describe_value(value)}")
    return "; ".join(parts)


def _describe_value(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"raises", "message"}:
        return f"raises {value['raises']}: {value['message']}"
    if isinstance(value, dict) and set(value) == {"value"}:
        return f"= {value['value']!r}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        inner = sorted({_describe_value(v) for v in value})
        return ("each " if len(inner) == 1 else "") + " | ".join(inner)
    return f"= {value!r}"


def _column_order(record: Record) -> tuple[int, int, Version, str]:
    models, servers = list(MODELS), list(SERVERS)
    try:
        flask = Version(record.versions.get("flask") or "0")
    except InvalidVersion:
        flask = Version("0")
    model = models.index(record.model) if record.model in models else len(models)
    server = servers.index(record.server) if record.server in servers else len(servers)
    return (model, server, flask, record.environment)


def build_table(records: Sequence[Record]) -> Table:
    records = sorted(records, key=_column_order)
    columns = tuple(
        Column(r.environment, r.model, r.server, r.server_label or r.server, r.versions, r.complete)
        for r in records
    )
    seen = {c.check: (c.title, c.area) for r in records for c in r.checks}
    # Catalog order; the titles and areas the records carry (the run's own words for its rows).
    rows = [Row(check, *seen[check]) for check in CHECKS if check in seen]
    rows += [Row(c, *seen[c]) for c in seen if c not in CHECKS]
    notes: dict[tuple[str, str, tuple[str, ...]], int] = {}

    def note(kind: str, text: str, cite: tuple[str, ...] = ()) -> int:
        return notes.setdefault((kind, text, cite), len(notes) + 1)

    cells: dict[tuple[str, str], Cell] = {}
    for record, column in zip(records, columns, strict=True):
        for result in record.checks:
            numbers: list[int] = []
            if result.outcome == "expected-fail" and result.deviation:
                observed = describe(result.deviation.get("observed", {}))
                numbers.append(
                    note(
                        "documented",
                        (f"Instead: {observed.rstrip('.')}. " if observed else "")
                        + f"Why: {result.deviation['reason']}",
                        tuple(result.deviation.get("cite", ())),
                    )
                )
            elif result.outcome in RED:
                message = result.detail.get("message") or result.outcome
                numbers.append(note(result.outcome, f"{result.check} under {column.key}: {message}"))
            elif result.outcome == "n/a":
                numbers.append(note("n/a", str(result.detail.get("message", "not applicable"))))
            if result.outcome == "pass" and result.detail.get("overlap") is False:
                numbers.append(
                    note(
                        "no-overlap",
                        "passed without overlap: the server never ran "
                        "two of these requests at once (it serialises them), so this "
                        "pass says nothing about isolation under concurrency",
                    )
                )
            for extra in result.notes:
                numbers.append(note("note", extra["text"], tuple(extra.get("cite", ()))))
            cells[(result.check, column.key)] = Cell(
                result.outcome, tuple(numbers), result.duration, result.detail
            )
    footnotes = tuple(Footnote(n, kind, text, cite) for (kind, text, cite), n in notes.items())
    return Table(columns, tuple(rows), cells, footnotes)
