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
from matrix.models import MODELS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_PATH = Path(__file__).with_name("expectations.toml")
VERSIONED = ("flask", "werkzeug", "greenlet", "gevent", "eventlet", "asgiref", "hypercorn")
"""Distributions a row may be keyed on, beside the model."""
_KEYS = {"check", "models", "observed", "reason", "cite", *VERSIONED}


class ExpectationsError(ValueError):
    """The expectations file is malformed; the message is one line with file and row."""


@dataclass(frozen=True)
class Deviation:
    """What a check observes instead of its ideal, where, and why."""

    check: str
    models: tuple[str, ...]
    observed: Mapping[str, Any]
    reason: str
    cite: tuple[str, ...]
    ranges: Mapping[str, SpecifierSet] = field(default_factory=dict)

    def applies(self, check: str, model: str, versions: Mapping[str, str | None]) -> bool:
        if check != self.check or model not in self.models:
            return False
        for dist, spec in self.ranges.items():
            installed = versions.get(dist)
            if installed is None:
                return False
            try:
                if Version(installed) not in spec:
                    return False
            except InvalidVersion:
                return False
        return True

    def as_dict(self) -> dict[str, Any]:
        return {
            "observed": dict(self.observed),
            "reason": self.reason,
            "cite": list(self.cite),
            "ranges": {dist: str(spec) for dist, spec in self.ranges.items()},
        }


def _row(path: Path, index: int, raw: Any) -> Deviation:
    where = f"{path}: deviation #{index + 1}"
    if not isinstance(raw, dict):
        raise ExpectationsError(f"{where} is not a table")
    unknown = set(raw) - _KEYS
    if unknown:
        raise ExpectationsError(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    for key in ("check", "models", "observed", "reason", "cite"):
        if key not in raw:
            raise ExpectationsError(f"{where} lacks {key!r}")
    check = raw["check"]
    if check not in CHECKS:
        raise ExpectationsError(f"{where} names unknown check {check!r}; known: {', '.join(CHECKS)}")
    models = raw["models"]
    if not isinstance(models, list) or not models or not all(m in MODELS for m in models):
        raise ExpectationsError(f"{where} ({check}): models must be a list of {', '.join(MODELS)}")
    observed = raw["observed"]
    if not isinstance(observed, dict) or not observed:
        raise ExpectationsError(f"{where} ({check}): observed must be a non-empty table")
    reason, cite = raw["reason"], raw["cite"]
    if not isinstance(reason, str) or not reason.strip():
        raise ExpectationsError(f"{where} ({check}): reason must be a non-empty string")
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
    return Deviation(check, tuple(models), observed, reason.strip(), tuple(cite), ranges)


@dataclass(frozen=True)
class Expectations:
    deviations: tuple[Deviation, ...]

    def lookup(self, check: str, model: str, versions: Mapping[str, str | None]) -> Deviation | None:
        """The one row that applies to this cell, or None; two rows applying is an error."""
        found = [d for d in self.deviations if d.applies(check, model, versions)]
        if len(found) > 1:
            raise ExpectationsError(f"{len(found)} deviations apply to {check} under {model}")
        return found[0] if found else None


def load_expectations(path: Path = DEFAULT_PATH) -> Expectations:
    """Parse and validate the file; raises ``ExpectationsError`` with one line on any problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExpectationsError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExpectationsError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"deviation"}
    if unknown:
        raise ExpectationsError(f"{path}: unknown top-level keys {sorted(unknown)}")
    rows = data.get("deviation", [])
    if not isinstance(rows, list):
        raise ExpectationsError(f"{path}: 'deviation' must be an array of tables ([[deviation]])")
    return Expectations(tuple(_row(path, i, raw) for i, raw in enumerate(rows)))
