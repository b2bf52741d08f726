"""Advice as data, checked against the table: a sentence is shown only while its cells hold.

Pure: ``held(advice, table)`` tells which advice the table still supports.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from matrix.report.table import Table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ADVICE_PATH = Path(__file__).with_name("advice.toml")


@dataclass(frozen=True)
class Advice:
    text: str
    cells: tuple[dict[str, Any], ...]


def load_advice(path: Path = ADVICE_PATH) -> list[Advice]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Advice(" ".join(row["text"].split()), tuple(row["cells"])) for row in data.get("advice", [])]


def _matches(cite: dict[str, Any], table: Table) -> list[str]:
    """Outcomes of the cited check in every column matching model, server and Flask range."""
    spec = SpecifierSet(cite.get("flask", ""))
    outcomes = []
    for column in table.columns:
        if column.model != cite["model"] or cite.get("server", column.server) != column.server:
            continue
        try:
            if Version(Version(column.flask).base_version) not in spec:
                continue
        except InvalidVersion:
            continue
        outcomes.append(table.cell(cite["check"], column.key).outcome)
    return outcomes


def supported(advice: Advice, table: Table) -> bool:
    """Every cited cell exists in the table and has the stated outcome in every matching column."""
    for cite in advice.cells:
        outcomes = _matches(cite, table)
        if not outcomes or any(o != cite["outcome"] for o in outcomes):
            return False
    return True


def cell_refs(advice: Advice) -> str:
    refs = []
    for cite in advice.cells:
        where = cite["model"] + (f"/{cite['server']}" if "server" in cite else "")
        flask = f" (Flask {cite['flask']})" if "flask" in cite else ""
        refs.append(f"`{cite['check']}` @ {where}{flask}: {cite['outcome']}")
    return "; ".join(refs)
