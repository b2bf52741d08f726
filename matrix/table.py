"""The compatibility table as typed data: columns, rows, cells and numbered notes.

Built from records alone (``build_table``), or read back from its JSON form (``table_from_json``:
a committed ``compatibility.json``, this schema or the one before), so every renderer shows the
same cells and the same notes, and the diff compares two tables however each was obtained.
Pure: no files, no processes, no registry. The JSON form is written by ``matrix.report.jsonfile``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from packaging.version import InvalidVersion, Version

from matrix.outcomes import OUTCOMES, Outcome
from matrix.records import NoteData, Record
from matrix.versions import EVERY_COLUMN

SCHEMA = "flask-context-matrix/compatibility/2"
READABLE = (SCHEMA, "flask-context-matrix/compatibility/1")
"""The JSON forms a table can be read back from (a baseline committed before the current one)."""
NO_OVERLAP = (
    "passed without overlap: the server never ran two of these requests at once (it serialises "
    "them), so this pass says nothing about isolation under concurrency"
)


class TableError(ValueError):
    """A table file that is not a compatibility table; one line."""


@dataclass(frozen=True)
class Column:
    environment: str
    model: str
    server: str
    server_label: str
    versions: Mapping[str, str | None]
    complete: bool
    order: tuple[int, int] = (0, 0)
    runtimes: tuple[str, ...] = EVERY_COLUMN
    model_note: NoteData | None = None

    @property
    def key(self) -> str:
        """The column's identity: environment and server (several servers share an environment)."""
        return f"{self.environment}/{self.server}"

    @property
    def flask(self) -> str:
        return self.versions.get("flask") or "?"

    @property
    def runtime_versions(self) -> dict[str, str | None]:
        """The versions the column names: Python, Flask, Werkzeug, its model's and server's own."""
        return {k: self.versions.get(k) for k in self.runtimes}


@dataclass(frozen=True)
class Footnote:
    number: int
    kind: str
    """``documented``, ``no-overlap``, ``n/a``, ``note`` or the red outcome it explains."""
    text: str
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cell:
    outcome: Outcome
    notes: tuple[int, ...] = ()
    explanation: str = ""
    """The texts of its notes, in order: with the outcome, what a diff compares."""
    duration: float | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        marks = "".join(f"[{n}]" for n in self.notes)
        return f"{OUTCOMES[self.outcome].symbol}{' ' + marks if marks else ''}"

    @property
    def red(self) -> bool:
        return OUTCOMES[self.outcome].red


NOT_RUN = Cell("not-run")


class Row(NamedTuple):
    check: str
    title: str
    area: str


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    """In table order: by model, then server, then Flask version."""
    rows: tuple[Row, ...]
    """In catalog order: areas in their order, checks in their area's order."""
    cells: Mapping[tuple[str, str], Cell]
    """(check id, column key) -> cell."""
    footnotes: tuple[Footnote, ...]

    def cell(self, check: str, column: str) -> Cell:
        return self.cells.get((check, column), NOT_RUN)

    def sections(self) -> list[tuple[str, list[Row]]]:
        """Rows grouped by area, in order."""
        groups: dict[str, list[Row]] = {}
        for row in self.rows:
            groups.setdefault(row.area, []).append(row)
        return list(groups.items())

    def by_model(self) -> list[tuple[str, list[Column]]]:
        """Columns grouped by model, in column order."""
        groups: dict[str, list[Column]] = {}
        for column in self.columns:
            groups.setdefault(column.model, []).append(column)
        return list(groups.items())

    @property
    def red(self) -> list[tuple[str, str]]:
        return [key for key, cell in self.cells.items() if cell.red]


def describe(observed: Mapping[str, Any]) -> str:
    """One line for an observation: ``request raises RuntimeError: ...; held = 'x'``."""
    return "; ".join(f"{key} {_describe_value(value)}" for key, value in observed.items())


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
    try:
        flask = Version(record.versions.get("flask") or "0")
    except InvalidVersion:
        flask = Version("0")
    return (*record.order, flask, record.environment)


class _Notes:
    """The table's footnotes; the same explanation is one note.

    A note that is a catalog row (a documented deviation, a note row) keeps the row's number, so
    it is the same in every table built from any subset of the same catalog's records. Every other
    note (n/a, no overlap, a red cell's message) is numbered after the catalog's rows, in table order.
    """

    def __init__(self, first_free: int) -> None:
        self.numbers: dict[tuple[str, str, tuple[str, ...]], int] = {}
        self._next = first_free

    def add(self, kind: str, text: str, cite: Sequence[str] = (), number: int = 0) -> int:
        key = (kind, text, tuple(cite))
        if key not in self.numbers:
            if not number:
                number, self._next = self._next, self._next + 1
            self.numbers[key] = number
        return self.numbers[key]

    def footnotes(self) -> tuple[Footnote, ...]:
        found = [Footnote(n, kind, text, cite) for (kind, text, cite), n in self.numbers.items()]
        return tuple(sorted(found, key=lambda f: f.number))


def _first_free(records: Sequence[Record]) -> int:
    """The first number no catalog row of these records has."""
    numbers = [r.catalog_notes for r in records]
    for record in records:
        for result in record.checks:
            numbers += [n["number"] for n in result.notes]
            numbers += [result.deviation["number"]] if result.deviation else []
    return max(numbers, default=0) + 1


def build_table(records: Sequence[Record]) -> Table:
    records = sorted(records, key=_column_order)
    columns = tuple(
        Column(
            r.environment,
            r.model,
            r.server,
            r.server_label or r.server,
            r.versions,
            r.complete,
            r.order,
            tuple(r.runtimes) or EVERY_COLUMN,
            r.model_note,
        )
        for r in records
    )
    seen: dict[str, tuple[tuple[int, int] | None, str, str]] = {}
    for record in records:
        for result in record.checks:
            seen.setdefault(result.check, (result.order, result.title, result.area))
    # Catalog rows in their order, then a project's own in the order first seen.
    placed = sorted((order, check) for check, (order, _, _) in seen.items() if order is not None)
    rows = [Row(check, *seen[check][1:]) for _, check in placed]
    rows += [Row(check, title, area) for check, (order, title, area) in seen.items() if order is None]
    notes = _Notes(_first_free(records))
    place = {row.check: index for index, row in enumerate(rows)}
    cells: dict[tuple[str, str], Cell] = {}
    for record, column in zip(records, columns, strict=True):
        for result in sorted(record.checks, key=lambda r: place[r.check]):
            numbers: list[int] = []
            if result.outcome == "expected-fail" and result.deviation:
                observed = describe(result.deviation.get("observed", {}))
                numbers.append(
                    notes.add(
                        "documented",
                        (f"Instead: {observed.rstrip('.')}. " if observed else "")
                        + f"Why: {result.deviation['reason']}",
                        result.deviation.get("cite", ()),
                        result.deviation.get("number", 0),
                    )
                )
            elif OUTCOMES[result.outcome].red:
                message = result.detail.get("message") or result.outcome
                numbers.append(notes.add(result.outcome, f"{result.check} under {column.key}: {message}"))
            elif result.outcome == "n/a":
                numbers.append(notes.add("n/a", str(result.detail.get("message", "not applicable"))))
            if result.outcome == "pass" and result.detail.get("overlap") is False:
                numbers.append(notes.add("no-overlap", NO_OVERLAP))
            for extra in result.notes:
                numbers.append(
                    notes.add("note", extra["text"], extra.get("cite", ()), extra.get("number", 0))
                )
            cells[(result.check, column.key)] = Cell(
                result.outcome, tuple(numbers), "", result.duration, result.detail
            )
    footnotes = notes.footnotes()
    return Table(columns, tuple(rows), _explained(cells, footnotes), footnotes)


def _explained(
    cells: Mapping[tuple[str, str], Cell], footnotes: Sequence[Footnote]
) -> dict[tuple[str, str], Cell]:
    texts = {f.number: f.text for f in footnotes}
    return {
        key: Cell(c.outcome, c.notes, " ".join(texts.get(n, "") for n in c.notes), c.duration, c.detail)
        for key, c in cells.items()
    }


def table_from_json(data: Any, where: str) -> Table:
    """A table from its JSON form (``matrix.report.jsonfile``); TableError (one line) otherwise."""
    if not isinstance(data, dict) or data.get("schema") not in READABLE:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise TableError(f"{where}: schema {schema!r} is not one of {', '.join(READABLE)}")
    for key in ("columns", "rows", "cells", "footnotes"):
        if not isinstance(data.get(key), list):
            raise TableError(f"{where}: compatibility table without a {key!r} list")
    try:
        columns = tuple(
            Column(
                c["environment"],
                c["model"],
                c.get("server", ""),
                c.get("server_label", ""),
                c["versions"],
                bool(c.get("complete", True)),
                (int(c.get("order", (0, index))[0]), int(c.get("order", (0, index))[1])),
                tuple(c.get("runtimes", EVERY_COLUMN)),
                c.get("model_note"),
            )
            for index, c in enumerate(data["columns"])
        )
        keys = {column.key for column in columns}
        rows = tuple(Row(r["check"], r["title"], r["area"]) for r in data["rows"])
        footnotes = tuple(
            Footnote(f["number"], f["kind"], f["text"], tuple(f.get("cite", ()))) for f in data["footnotes"]
        )
        cells = {}
        for c in data["cells"]:
            column = str(c["column"])
            if column not in keys or c["outcome"] not in OUTCOMES:
                raise TableError(f"{where}: a cell names an unknown column or outcome: {c!r:.200}")
            if c["outcome"] != "not-run":
                cells[(c["check"], column)] = Cell(
                    c["outcome"], tuple(c["notes"]), "", None, c.get("detail", {})
                )
    except (KeyError, TypeError) as exc:
        raise TableError(f"{where}: not a compatibility table ({exc!r})") from None
    return Table(columns, rows, _explained(cells, footnotes), footnotes)
