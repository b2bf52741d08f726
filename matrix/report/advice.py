"""Advice as data, checked against the table: a sentence is shown only while its cells hold.

``supported(advice, table)`` tells whether the table still supports a piece of advice: every cell
it cites (a check, under a model, optionally one server and a Flask range, read with the
applicability engine of ``matrix.scope``) has the stated outcome in every column it matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matrix.datafile import read_toml
from matrix.scope import Scope, parse_ranges
from matrix.table import Table

ADVICE_PATH = Path(__file__).with_name("advice.toml")


@dataclass(frozen=True)
class CitedCell:
    check: str
    scope: Scope
    outcome: str

    def describe(self) -> str:
        where = ", ".join(self.scope.models) + "".join(f"/{s}" for s in self.scope.servers)
        ranges = "".join(
            f" (Flask {wanted})" for dist, wanted in self.scope.ranges.items() if dist == "flask"
        )
        return f"`{self.check}` @ {where}{ranges}: {self.outcome}"


@dataclass(frozen=True)
class Advice:
    text: str
    cells: tuple[CitedCell, ...]


def load_advice(path: Path = ADVICE_PATH) -> list[Advice]:
    advice = []
    for row in read_toml(path).get("advice", []):
        cited = tuple(
            CitedCell(
                cell["check"],
                Scope((cell["model"],), (cell["server"],) if "server" in cell else (), parse_ranges(cell)),
                cell["outcome"],
            )
            for cell in row["cells"]
        )
        advice.append(Advice(" ".join(row["text"].split()), cited))
    return advice


def _outcomes(cited: CitedCell, table: Table) -> list[str]:
    """Outcomes of the cited check in every column its scope holds for."""
    return [
        table.cell(cited.check, column.key).outcome
        for column in table.columns
        if cited.scope.holds(column.model, column.server, column.versions)
    ]


def supported(advice: Advice, table: Table) -> bool:
    """Every cited cell exists in the table and has the stated outcome in every matching column."""
    for cited in advice.cells:
        outcomes = _outcomes(cited, table)
        if not outcomes or any(o != cited.outcome for o in outcomes):
            return False
    return True


def cell_refs(advice: Advice) -> str:
    return "; ".join(cited.describe() for cited in advice.cells)
