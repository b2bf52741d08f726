"""Where a row applies: the one applicability engine.

A ``Scope`` is some models, some of their servers and some version ranges. Every row that holds
for part of the matrix is one: a check's ``applies`` marker (elsewhere its cell is n/a), a
documented deviation or note, a project's ``flask_expect_fail`` marker, an advice row's cited
cells. Version ranges follow the rule in ``matrix.versions`` (a pre-release counts as its release).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from matrix.versions import RANGED, RangeError, VersionRange, Versions


@dataclass(frozen=True)
class Scope:
    models: tuple[str, ...] = ()
    """Empty: every model."""
    servers: tuple[str, ...] = ()
    """Empty: every server of the models."""
    ranges: Mapping[str, VersionRange] = field(default_factory=dict)
    """Distribution -> range; all must hold."""

    def why_not(self, model: str, server: str, versions: Versions) -> str | None:
        """Why the scope excludes this cell (``only under gevent``, ``needs flask >=2.1; here
        2.0.3``), or None where it holds."""
        if self.models and model not in self.models:
            return f"only under {', '.join(self.models)}"
        if self.servers and server not in self.servers:
            return f"only with {', '.join(self.servers)}"
        for dist, wanted in self.ranges.items():
            installed = versions.get(dist)
            if installed not in wanted:
                return f"needs {dist} {wanted}; here {installed or 'absent'}"
        return None

    def holds(self, model: str, server: str, versions: Versions) -> bool:
        return self.why_not(model, server, versions) is None


def parse_ranges(raw: Mapping[str, object]) -> dict[str, VersionRange]:
    """The version ranges among ``raw``'s keys (those in ``RANGED``); RangeError names the bad one."""
    ranges = {}
    for dist in RANGED:
        if dist in raw:
            try:
                ranges[dist] = VersionRange.parse(str(raw[dist]))
            except RangeError as exc:
                raise RangeError(f"{dist} = {exc}") from None
    return ranges
