"""The record one environment writes: its versions and every check's outcome. Atomic I/O.

A record is rewritten (write to a temporary file in the same folder, fsync, rename) after every
check, with ``complete: false`` until the session ends, so an interrupted run leaves a valid
record that says it is incomplete, never a torn file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

from matrix import __version__

SCHEMA = "flask-context-matrix/record/1"
OUTCOMES = (
    "pass",
    "expected-fail",
    "fail",
    "unexpected-pass",
    "timeout",
    "error",
    "skipped",
    "n/a",
    "flaky",
)
DISTRIBUTIONS = (
    "flask",
    "werkzeug",
    "greenlet",
    "gevent",
    "eventlet",
    "asgiref",
    "hypercorn",
    "waitress",
    "gunicorn",
    "uvicorn",
    "a2wsgi",
    "blinker",
)


class RecordError(ValueError):
    """A record file is unreadable or not a record; the message is one line with the path."""


@dataclass
class CheckResult:
    check: str
    title: str
    outcome: str
    duration: float
    detail: dict[str, Any] = field(default_factory=dict)
    area: str = ""
    """The catalog area (table section) the check belongs to."""
    deviation: dict[str, Any] | None = None
    """The documented deviation row (observed, reason, cite, ranges) that applied, if any."""
    notes: list[dict[str, Any]] = field(default_factory=list)
    """Explanatory notes (text, cite) attached to this cell."""


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


def installed_versions() -> dict[str, str | None]:
    """Python and the distributions the cells depend on, as installed here (None if absent)."""
    import platform

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in DISTRIBUTIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def write_record(path: Path, record: Record) -> None:
    """Replace ``path`` atomically with ``record``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(dumps_record(record))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _require(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if not isinstance(data.get(key), kind):
        raise RecordError(f"{where}: field {key!r} missing or not a {kind.__name__}")
    return data[key]


def parse_record(data: Any, where: str) -> Record:
    if not isinstance(data, dict):
        raise RecordError(f"{where}: not a record (top level is not an object)")
    if data.get("schema") != SCHEMA:
        raise RecordError(f"{where}: schema {data.get('schema')!r} is not {SCHEMA!r}")
    checks = []
    for raw in _require(data, "checks", list, where):
        if not isinstance(raw, dict):
            raise RecordError(f"{where}: a check entry is not an object")
        outcome = _require(raw, "outcome", str, where)
        if outcome not in OUTCOMES:
            raise RecordError(f"{where}: unknown outcome {outcome!r}")
        checks.append(
            CheckResult(
                check=_require(raw, "check", str, where),
                title=_require(raw, "title", str, where),
                outcome=outcome,
                duration=float(_require(raw, "duration", (int, float), where)),  # type: ignore[arg-type]
                detail=_require(raw, "detail", dict, where),
                area=str(raw.get("area", "")),
                deviation=raw.get("deviation"),
                notes=raw.get("notes", []),
            )
        )
    return Record(
        environment=_require(data, "environment", str, where),
        model=_require(data, "model", str, where),
        server=_require(data, "server", str, where),
        versions=_require(data, "versions", dict, where),
        checks=checks,
        complete=bool(data.get("complete", False)),
        server_label=str(data.get("server_label", "")),
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
