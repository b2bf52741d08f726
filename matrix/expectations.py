"""Documented deviations as data: check x model x version ranges -> observation, reason, citation.

The same rows feed the strict xfail marks, the table's footnotes and (later) the diff. Loading
validates everything up front and fails with one line naming the file and the bad row.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from matrix.catalog import CHECKS
from matrix.models import MODELS, SERVERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_PATH = Path(__file__).with_name("expectations")
"""A folder of ``*.toml`` files (one per area), or one file."""
VERSIONED = ("flask", "werkzeug", "greenlet", "gevent", "eventlet", "asgiref", "hypercorn")
"""Distributions a row may be keyed on, beside the model."""
_KEYS = {"check", "models", "servers", "observed", "reason", "cite", *VERSIONED}
_NOTE_KEYS = {"check", "models", "servers", "text", "cite", *VERSIONED}


class ExpectationsError(ValueError):
    """The expectations file is malformed; the message is one line with file and row."""


@dataclass(frozen=True)
class Scoped:
    """A row's scope: one check, some models (optionally some of their servers), version ranges."""

    check: str
    models: tuple[str, ...]
    cite: tuple[str, ...]
    ranges: Mapping[str, SpecifierSet]
    servers: tuple[str, ...] = ()
    """Empty: every server of the models."""

    def applies(self, check: str, model: str, versions: Mapping[str, str | None], server: str = "") -> bool:
        if check != self.check or model not in self.models:
            return False
        if self.servers and server not in self.servers:
            return False
        for dist, spec in self.ranges.items():
            installed = versions.get(dist)
            if installed is None:
                return False
            try:
                # A pre-release counts as its release: a 3.2 dev build has 3.2's behaviour.
                if Version(Version(installed).base_version) not in spec:
                    return False
            except InvalidVersion:
                return False
        return True


@dataclass(frozen=True)
class Deviation(Scoped):
    """What a check observes instead of its ideal, where, and why."""

    observed: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "observed": dict(self.observed),
            "reason": self.reason,
            "cite": list(self.cite),
            "ranges": {dist: str(spec) for dist, spec in self.ranges.items()},
        }


@dataclass(frozen=True)
class Note(Scoped):
    """An explanation attached to a cell without changing its verdict."""

    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "cite": list(self.cite)}


def _scope(where: str, raw: Any, keys: set[str], required: tuple[str, ...]) -> Scoped:
    if not isinstance(raw, dict):
        raise ExpectationsError(f"{where} is not a table")
    unknown = set(raw) - keys
    if unknown:
        raise ExpectationsError(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(keys)}")
    for key in required:
        if key not in raw:
            raise ExpectationsError(f"{where} lacks {key!r}")
    check = raw["check"]
    if check not in CHECKS:
        raise ExpectationsError(f"{where} names unknown check {check!r}; known: {', '.join(CHECKS)}")
    models = raw["models"]
    if not isinstance(models, list) or not models or not all(m in MODELS for m in models):
        raise ExpectationsError(f"{where} ({check}): models must be a list of {', '.join(MODELS)}")
    cite = raw["cite"]
    if not isinstance(cite, list) or not cite or not all(isinstance(c, str) and c for c in cite):
        raise ExpectationsError(f"{where} ({check}): cite must be a non-empty list of sources")
    ranges: dict[str, SpecifierSet] = {}
    for dist in VERSIONED:
        if dist in raw:
            try:
                ranges[dist] = SpecifierSet(str(raw[dist]))
            except InvalidSpecifier:
                raise ExpectationsError(
                    f"{where} ({check}): {dist} = {raw[dist]!r} is not a version range"
                ) from None
    servers = raw.get("servers", [])
    known = [s for s, info in SERVERS.items() if info.model in models]
    if not isinstance(servers, list) or not all(s in known for s in servers):
        raise ExpectationsError(f"{where} ({check}): servers must be a list of {', '.join(known)}")
    return Scoped(check, tuple(models), tuple(cite), ranges, tuple(servers))


def _text(where: str, raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise ExpectationsError(f"{where} ({raw['check']}): {key} must be a non-empty string")
    return " ".join(value.split())


def _deviation(path: Path, index: int, raw: Any) -> Deviation:
    where = f"{path}: deviation #{index + 1}"
    scope = _scope(where, raw, _KEYS, ("check", "models", "observed", "reason", "cite"))
    observed = raw["observed"]
    if not isinstance(observed, dict) or not observed:
        raise ExpectationsError(f"{where} ({scope.check}): observed must be a non-empty table")
    return Deviation(
        scope.check,
        scope.models,
        scope.cite,
        scope.ranges,
        scope.servers,
        observed=observed,
        reason=_text(where, raw, "reason"),
    )


def _note(path: Path, index: int, raw: Any) -> Note:
    where = f"{path}: note #{index + 1}"
    scope = _scope(where, raw, _NOTE_KEYS, ("check", "models", "text", "cite"))
    return Note(
        scope.check, scope.models, scope.cite, scope.ranges, scope.servers, text=_text(where, raw, "text")
    )


@dataclass(frozen=True)
class Expectations:
    deviations: tuple[Deviation, ...]
    notes: tuple[Note, ...] = ()

    def lookup(
        self, check: str, model: str, versions: Mapping[str, str | None], server: str = ""
    ) -> Deviation | None:
        """The one row that applies to this cell, or None; two rows applying is an error."""
        found = [d for d in self.deviations if d.applies(check, model, versions, server)]
        if len(found) > 1:
            raise ExpectationsError(f"{len(found)} deviations apply to {check} under {model}")
        return found[0] if found else None

    def notes_for(
        self, check: str, model: str, versions: Mapping[str, str | None], server: str = ""
    ) -> list[Note]:
        return [n for n in self.notes if n.applies(check, model, versions, server)]


def load_expectations(path: Path = DEFAULT_PATH) -> Expectations:
    """Parse and validate a file or every ``*.toml`` in a folder; one line on any problem."""
    if path.is_dir():
        parts = [_load_file(p) for p in sorted(path.glob("*.toml"))]
        return Expectations(
            tuple(d for part in parts for d in part.deviations),
            tuple(n for part in parts for n in part.notes),
        )
    return _load_file(path)


def _load_file(path: Path) -> Expectations:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExpectationsError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExpectationsError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"deviation", "note"}
    if unknown:
        raise ExpectationsError(f"{path}: unknown top-level keys {sorted(unknown)}")
    for key in ("deviation", "note"):
        if not isinstance(data.get(key, []), list):
            raise ExpectationsError(f"{path}: '{key}' must be an array of tables ([[{key}]])")
    return Expectations(
        tuple(_deviation(path, i, raw) for i, raw in enumerate(data.get("deviation", []))),
        tuple(_note(path, i, raw) for i, raw in enumerate(data.get("note", []))),
    )
