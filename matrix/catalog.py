"""The check catalog: every row of the table, and where and why a cell deviates, read from data.

Each area is one file, ``matrix/areas/<area>.toml`` (format: ``matrix/areas/README.md``): its
title and order, its checks (id -> the sentence the row stands for), its documented deviations and
notes, and, for the workers area, the worker kinds its families expand over. Loading validates
everything up front and fails with one line naming the file and the bad row (``CatalogError``).

A check in ``tests/checks`` is ``test_<id>`` (or a family ``test_<family>`` parametrized by a
``variant``, giving ``<family>.<variant>``) for an id listed here; the plugin refuses a check
outside the catalog, and a row naming an unknown check is refused here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from matrix.datafile import DataFileError, read_toml
from matrix.launch.servers import SERVERS
from matrix.models import MODELS
from matrix.records import DeviationData, NoteData, Observed
from matrix.scope import Scope, parse_ranges
from matrix.versions import RANGED, RangeError, Versions

AREAS_DIR = Path(__file__).with_name("areas")
KINDS_AREA = "workers"
"""The area whose file holds the worker kinds."""
FAMILY = ".*"
"""A check id ending so is a family: one check per worker kind."""
_SCOPE_KEYS = {"check", "models", "servers", "cite", *RANGED}
_ROW_KEYS = {"deviation": {*_SCOPE_KEYS, "observed", "reason"}, "note": {*_SCOPE_KEYS, "text"}}
_REQUIRED = {
    "deviation": ("check", "models", "observed", "reason", "cite"),
    "note": ("check", "models", "text", "cite"),
}
_AREA_KEYS = {"title", "order", "checks", "concurrent", "kind", "deviation", "note"}
_KIND_KEYS = {"name", "one", "many", "overlaps", "models", "reason"}


class CatalogError(ValueError):
    """An area file (or an expectations file) is malformed; one line with file and row."""


@dataclass(frozen=True)
class WorkerKind:
    """A way application code hands a callable to another worker (``threading.Thread``, ...)."""

    name: str
    one: str
    """One worker of the kind, as a sentence names it."""
    many: str
    """Several of them, as a sentence names them."""
    overlaps: bool
    """Whether a batch's workers run at the same time (and so can meet at a gate)."""
    models: tuple[str, ...] = ()
    """Where the kind exists (empty: under every model)."""
    reason: str = ""
    """Why it exists only there."""


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    area: str
    """The area's title: the table section the row is in."""
    order: tuple[int, int]
    """The area's order, then the check's place in its area: the row's place in the table."""


@dataclass(frozen=True)
class Deviation:
    """What a check observes instead of its ideal, where, and why."""

    check: str
    scope: Scope
    cite: tuple[str, ...]
    observed: Observed
    reason: str
    number: int = 0
    """The row's place among all the catalog's rows: its note's number in every view."""

    def as_data(self) -> DeviationData:
        return {
            "observed": dict(self.observed),
            "reason": self.reason,
            "cite": list(self.cite),
            "ranges": {dist: str(wanted) for dist, wanted in self.scope.ranges.items()},
            "number": self.number,
        }


@dataclass(frozen=True)
class Note:
    """An explanation attached to a cell without changing its verdict."""

    check: str
    scope: Scope
    cite: tuple[str, ...]
    text: str
    number: int = 0
    """The row's place among all the catalog's rows: its note's number in every view."""

    def as_data(self) -> NoteData:
        return {"text": self.text, "cite": list(self.cite), "number": self.number}


@dataclass(frozen=True)
class Expectations:
    deviations: tuple[Deviation, ...] = ()
    notes: tuple[Note, ...] = ()

    def lookup(self, check: str, model: str, server: str, versions: Versions) -> Deviation | None:
        """The one row that applies to this cell, or None; two rows applying is an error."""
        found = [d for d in self.deviations if d.check == check and d.scope.holds(model, server, versions)]
        if len(found) > 1:
            raise CatalogError(f"{len(found)} deviations apply to {check} under {model}")
        return found[0] if found else None

    def notes_for(self, check: str, model: str, server: str, versions: Versions) -> list[Note]:
        return [n for n in self.notes if n.check == check and n.scope.holds(model, server, versions)]

    def __add__(self, other: Expectations) -> Expectations:
        return Expectations(self.deviations + other.deviations, self.notes + other.notes)

    def numbered(self, start: int = 1) -> Expectations:
        """The same rows numbered from ``start`` in order, deviations of each part before its notes."""
        deviations = tuple(replace(d, number=start + i) for i, d in enumerate(self.deviations))
        start += len(deviations)
        return Expectations(deviations, tuple(replace(n, number=start + i) for i, n in enumerate(self.notes)))

    def __len__(self) -> int:
        return len(self.deviations) + len(self.notes)


@dataclass(frozen=True)
class Area:
    name: str
    title: str
    order: int
    checks: Mapping[str, str]
    """Check id -> title, in the area's order, families expanded."""
    kinds: tuple[WorkerKind, ...] = ()
    expectations: Expectations = field(default_factory=Expectations)
    concurrent: frozenset[str] = frozenset()
    """The checks whose meaning depends on requests (or workers) being inside at once: each must
    record its peak in flight and whether anything overlapped."""


@dataclass(frozen=True)
class Catalog:
    areas: tuple[Area, ...]
    """In table order."""

    @property
    def checks(self) -> dict[str, Check]:
        """Every check id -> its row, in table order."""
        return {
            check: Check(check, title, area.title, (area.order, index))
            for area in self.areas
            for index, (check, title) in enumerate(area.checks.items())
        }

    @property
    def kinds(self) -> tuple[WorkerKind, ...]:
        return tuple(kind for area in self.areas for kind in area.kinds)

    @property
    def concurrent(self) -> frozenset[str]:
        """Every check that must measure overlap (the areas' ``concurrent`` lists)."""
        return frozenset().union(*(area.concurrent for area in self.areas))

    @property
    def expectations(self) -> Expectations:
        every = Expectations()
        for area in self.areas:
            every += area.expectations
        return every


@cache
def load_catalog(folder: Path = AREAS_DIR) -> Catalog:
    """Every ``*.toml`` area file of ``folder``, validated, in table order."""
    areas = []
    for path in sorted(folder.glob("*.toml")):
        data = _read(path)
        unknown = set(data) - _AREA_KEYS
        if unknown:
            raise CatalogError(f"{path}: unknown top-level keys {sorted(unknown)}")
        areas.append(_area(path, data))
    numbered, start = [], 1
    for area in sorted(areas, key=lambda a: a.order):
        numbered.append(replace(area, expectations=area.expectations.numbered(start)))
        start += len(area.expectations)
    return Catalog(tuple(numbered))


def load_worker_kinds(folder: Path = AREAS_DIR) -> tuple[WorkerKind, ...]:
    """The worker kinds alone (what the app set needs): one file read, no other area's."""
    path = folder / f"{KINDS_AREA}.toml"
    return _kinds(path, _read(path).get("kind", []))


def load_expectations(path: Path, catalog: Catalog) -> Expectations:
    """Deviation and note rows from a file, or every ``*.toml`` of a folder, naming checks of
    ``catalog`` (a project's own, given with ``--flask-expectations``)."""
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    every = Expectations()
    for file in files:
        data = _read(file)
        unknown = set(data) - _AREA_KEYS
        if unknown:
            raise CatalogError(f"{file}: unknown top-level keys {sorted(unknown)}")
        every += _expectations(file, data, set(catalog.checks))
    return every.numbered()


def _read(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path)
    except DataFileError as exc:
        raise CatalogError(str(exc)) from None


def _area(path: Path, data: dict[str, Any]) -> Area:
    for key, kind in (("title", str), ("order", int), ("checks", dict)):
        if not isinstance(data.get(key), kind):
            raise CatalogError(f"{path}: {key!r} missing or not a {kind.__name__}")
    kinds = _kinds(path, data.get("kind", []))
    checks: dict[str, str] = {}
    for check, title in data["checks"].items():
        if not isinstance(title, str) or not title.strip():
            raise CatalogError(f"{path}: check {check!r} needs a title")
        if check.endswith(FAMILY):
            if not kinds:
                raise CatalogError(f"{path}: family {check!r} in an area without worker kinds")
            family = check.removesuffix(FAMILY)
            checks.update((f"{family}.{k.name}", title.format(one=k.one, many=k.many)) for k in kinds)
        else:
            checks[check] = title
    return Area(
        path.stem,
        data["title"],
        data["order"],
        checks,
        kinds,
        _expectations(path, data, set(checks)),
        _concurrent(path, data.get("concurrent", []), checks, kinds),
    )


def _concurrent(
    path: Path, listed: Any, checks: Mapping[str, str], kinds: tuple[WorkerKind, ...]
) -> frozenset[str]:
    """The area's ``concurrent`` list, families (``name.*``) expanded to their kinds."""
    if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
        raise CatalogError(f"{path}: 'concurrent' must be a list of check ids")
    expanded = set()
    for check in listed:
        ids = [f"{check.removesuffix(FAMILY)}.{k.name}" for k in kinds] if check.endswith(FAMILY) else [check]
        unknown = [c for c in ids if c not in checks]
        if unknown or not ids:
            raise CatalogError(f"{path}: concurrent names {check!r}, not a check of this area")
        expanded.update(ids)
    return frozenset(expanded)


def _kinds(path: Path, raw_kinds: Any) -> tuple[WorkerKind, ...]:
    if not isinstance(raw_kinds, list):
        raise CatalogError(f"{path}: 'kind' must be an array of tables ([[kind]])")
    kinds = []
    for index, raw in enumerate(raw_kinds):
        where = f"{path}: kind #{index + 1}"
        if (
            not isinstance(raw, dict)
            or set(raw) - _KIND_KEYS
            or not {"name", "one", "many", "overlaps"} <= set(raw)
        ):
            raise CatalogError(
                f"{where}: needs name, one, many, overlaps (and models with a reason), nothing else"
            )
        models = tuple(raw.get("models", ()))
        if any(m not in MODELS for m in models) or bool(models) != bool(raw.get("reason")):
            raise CatalogError(f"{where}: models must be models of the registry, given with a reason")
        kinds.append(
            WorkerKind(
                raw["name"], raw["one"], raw["many"], bool(raw["overlaps"]), models, raw.get("reason", "")
            )
        )
    return tuple(kinds)


def _expectations(path: Path, data: dict[str, Any], known: set[str]) -> Expectations:
    for key in ("deviation", "note"):
        if not isinstance(data.get(key, []), list):
            raise CatalogError(f"{path}: '{key}' must be an array of tables ([[{key}]])")
    deviations = []
    for index, raw in enumerate(data.get("deviation", [])):
        where = f"{path}: deviation #{index + 1}"
        for check in _checks(where, raw, known):
            scope, cite = _scope(where, raw, "deviation", check)
            observed = raw["observed"]
            if not isinstance(observed, dict) or not observed:
                raise CatalogError(f"{where} ({check}): observed must be a non-empty table")
            deviations.append(Deviation(check, scope, cite, observed, _text(where, raw, "reason")))
    notes = [
        Note(check, *_scope(where, raw, "note", check), text=_text(where, raw, "text"))
        for index, raw in enumerate(data.get("note", []))
        for where in [f"{path}: note #{index + 1}"]
        for check in _checks(where, raw, known)
    ]
    return Expectations(tuple(deviations), tuple(notes))


def _checks(where: str, raw: Any, known: set[str]) -> list[str]:
    """The check ids a row names: one id, or a list of them sharing the row's scope and text."""
    if not isinstance(raw, dict):
        raise CatalogError(f"{where} is not a table")
    if "check" not in raw:
        raise CatalogError(f"{where} lacks 'check'")
    named = raw["check"]
    checks = named if isinstance(named, list) else [named]
    if not checks or not all(isinstance(c, str) for c in checks):
        raise CatalogError(f"{where}: check must be a check id or a non-empty list of them")
    for check in checks:
        if check not in known:
            raise CatalogError(f"{where} names unknown check {check!r}; known: {', '.join(sorted(known))}")
    return checks


def _scope(where: str, raw: dict[str, Any], row: str, check: str) -> tuple[Scope, tuple[str, ...]]:
    """A row's scope and sources, validated (``check`` is one of the ids it names)."""
    keys = _ROW_KEYS[row]
    unknown = set(raw) - keys
    if unknown:
        raise CatalogError(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(keys)}")
    for key in _REQUIRED[row]:
        if key not in raw:
            raise CatalogError(f"{where} lacks {key!r}")
    models = raw["models"]
    if not isinstance(models, list) or not models or not all(m in MODELS for m in models):
        raise CatalogError(f"{where} ({check}): models must be a list of {', '.join(MODELS)}")
    cite = raw["cite"]
    if not isinstance(cite, list) or not cite or not all(isinstance(c, str) and c for c in cite):
        raise CatalogError(f"{where} ({check}): cite must be a non-empty list of sources")
    try:
        ranges = parse_ranges(raw)
    except RangeError as exc:
        raise CatalogError(f"{where} ({check}): {exc}") from None
    servers = raw.get("servers", [])
    served = [s for s, info in SERVERS.items() if info.model in models]
    if not isinstance(servers, list) or not all(s in served for s in servers):
        raise CatalogError(f"{where} ({check}): servers must be a list of {', '.join(served)}")
    return Scope(tuple(models), tuple(servers), ranges), tuple(cite)


def _text(where: str, raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: {key} must be a non-empty string")
    return " ".join(value.split())
