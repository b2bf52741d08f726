"""The record one column writes, as a typed schema: its versions, its place in the table and every
check's outcome. Atomic I/O.

A record is rewritten (see ``matrix.files``) after every check, with ``complete: false`` until the
session ends, so an interrupted run leaves a valid record that says it is incomplete, never a torn
file. A record carries everything a renderer needs (the column's place and label, the versions
it names, its model's note, each row's title, area and place), so the report reads records alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypedDict

from matrix import __version__
from matrix.files import write_atomically
from matrix.outcomes import RECORDED, Outcome

SCHEMA = "flask-context-matrix/record/2"


class Seen(TypedDict):
    """An observation: what a view read."""

    value: Any


class Raised(TypedDict):
    """An observation: what a view's read raised (the exception type, its message's first line)."""

    raises: str
    message: str


Observation = Seen | Raised
"""What the app set reports of one read; a check's observation is a mapping of them (and values)."""
Observed = Mapping[str, Any]
"""A check's observation, field by field, as the verdict compares it and a deviation documents it."""


class DeviationData(TypedDict):
    """The documented deviation that applied to a cell, as recorded."""

    observed: dict[str, Any]
    reason: str
    cite: list[str]
    ranges: dict[str, str]
    number: int
    """The row's number in the catalog: its note's number in every view (0: not a catalog row)."""


class NoteData(TypedDict):
    """An explanation attached to a cell (or a model's columns), with its sources."""

    text: str
    cite: list[str]
    number: int
    """The row's number in the catalog (0: not a catalog row)."""


class RecordError(ValueError):
    """A record file is unreadable or not a record; the message is one line with the path."""


@dataclass
class CheckResult:
    check: str
    title: str
    outcome: Outcome
    duration: float
    detail: dict[str, Any] = field(default_factory=dict)
    area: str = ""
    """The catalog area (table section) the check belongs to."""
    order: tuple[int, int] | None = None
    """The row's place in the table (area order, place in the area); None for a check outside
    the catalog (a project's own), which comes after, in the order first seen."""
    deviation: DeviationData | None = None
    """The documented deviation row that applied, if any."""
    notes: list[NoteData] = field(default_factory=list)
    """Explanatory notes attached to this cell."""


@dataclass
class Record:
    environment: str
    model: str
    server: str
    versions: dict[str, str | None]
    checks: list[CheckResult] = field(default_factory=list)
    complete: bool = False
    server_label: str = ""
    """The server as shown in the table (``server`` is its registry name)."""
    order: tuple[int, int] = (0, 0)
    """The column's place: the model's, then the server's, in the registries."""
    runtimes: list[str] = field(default_factory=list)
    """The distributions the column names with its versions (Python, Flask, its runtime's)."""
    model_note: NoteData | None = None
    """A note on the model's set of servers, shown with the table."""
    planned: int = 0
    """How many checks collection planned for the column (progress: how many are left)."""
    catalog_notes: int = 0
    """How many rows the catalog numbers: notes that are no catalog row are numbered after them."""
    calibration: dict[str, Any] | None = None
    """What the app measured of the server at start, e.g. how many requests it runs at once."""
    harness: str = __version__
    schema: str = SCHEMA

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data. Shallow: the checks' details are shared, not copied (the
        record is rewritten after every check, so a deep copy each time adds up)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["checks"] = [{f.name: getattr(c, f.name) for f in fields(c)} for c in self.checks]
        return data


def dumps_record(record: Record) -> str:
    """JSON text with one check per line: readable and diffable, and written by json's C encoder
    (an indented dump goes through its pure-Python one, most of a column's CPU time)."""
    data = record.to_json()
    checks = data.pop("checks")
    head = json.dumps(data, sort_keys=True)
    lines = ",\n".join("  " + json.dumps(check, sort_keys=True) for check in checks)
    return head[:-1] + ', "checks": [' + (f"\n{lines}\n" if checks else "") + "]}\n"


def write_record(path: Path, record: Record) -> None:
    """Replace ``path`` atomically with ``record``."""
    write_atomically(path, dumps_record(record))


def _require(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data.get(key), kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise RecordError(f"{where}: field {key!r} missing or not a {name}")
    return data[key]


def _pair(value: Any, where: str, key: str) -> tuple[int, int]:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise RecordError(f"{where}: field {key!r} is not a pair of integers")
    return (value[0], value[1])


def _note(value: Any, where: str) -> NoteData:
    if not (
        isinstance(value, dict) and isinstance(value.get("text"), str) and isinstance(value.get("cite"), list)
    ):
        raise RecordError(f"{where}: a note is not {{text, cite}}")
    return {
        "text": value["text"],
        "cite": [str(c) for c in value["cite"]],
        "number": int(value.get("number", 0)),
    }


def _deviation(value: Any, where: str) -> DeviationData:
    if not (isinstance(value, dict) and {"observed", "reason", "cite", "ranges"} <= set(value)):
        raise RecordError(f"{where}: a deviation is not {{observed, reason, cite, ranges}}")
    return {
        "observed": dict(value["observed"]),
        "reason": str(value["reason"]),
        "cite": [str(c) for c in value["cite"]],
        "ranges": {str(k): str(v) for k, v in value["ranges"].items()},
        "number": int(value.get("number", 0)),
    }


def _check(raw: Any, where: str) -> CheckResult:
    if not isinstance(raw, dict):
        raise RecordError(f"{where}: a check entry is not an object")
    outcome = _require(raw, "outcome", str, where)
    if outcome not in RECORDED:
        raise RecordError(f"{where}: unknown outcome {outcome!r}")
    return CheckResult(
        check=_require(raw, "check", str, where),
        title=_require(raw, "title", str, where),
        outcome=outcome,
        duration=float(_require(raw, "duration", (int, float), where)),
        detail=_require(raw, "detail", dict, where),
        area=_require(raw, "area", str, where),
        order=None if raw.get("order") is None else _pair(raw["order"], where, "order"),
        deviation=None if raw.get("deviation") is None else _deviation(raw["deviation"], where),
        notes=[_note(n, where) for n in _require(raw, "notes", list, where)],
    )


def parse_record(data: Any, where: str) -> Record:
    if not isinstance(data, dict):
        raise RecordError(f"{where}: not a record (top level is not an object)")
    if data.get("schema") != SCHEMA:
        raise RecordError(f"{where}: schema {data.get('schema')!r} is not {SCHEMA!r}")
    model_note = data.get("model_note")
    return Record(
        environment=_require(data, "environment", str, where),
        model=_require(data, "model", str, where),
        server=_require(data, "server", str, where),
        versions=_require(data, "versions", dict, where),
        checks=[_check(raw, where) for raw in _require(data, "checks", list, where)],
        complete=bool(data.get("complete", False)),
        server_label=_require(data, "server_label", str, where),
        order=_pair(data.get("order"), where, "order"),
        runtimes=[str(r) for r in _require(data, "runtimes", list, where)],
        model_note=None if model_note is None else _note(model_note, where),
        catalog_notes=int(data.get("catalog_notes", 0)),
        planned=int(data.get("planned", 0)),
        calibration=data["calibration"] if isinstance(data.get("calibration"), dict) else None,
        harness=_require(data, "harness", str, where),
    )


def read_record(path: Path) -> Record:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecordError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    return parse_record(data, str(path))


def read_records(paths: list[Path]) -> list[Record]:
    """Read records from files and folders (every ``*.json`` directly inside a folder)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        else:
            files.append(path)
    if not files:
        raise RecordError(f"no records found in {', '.join(map(str, paths)) or 'nothing'}")
    return [read_record(f) for f in files]
