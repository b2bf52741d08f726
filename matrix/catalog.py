"""The check catalog: every row of the table, grouped by area, with the sentence it stands for.

Data in ``matrix/checks/<area>.toml`` (one file per area, so areas grow independently). A check in
``tests/checks`` is ``test_<id>`` (or a family ``test_<family>`` parametrized by a ``variant``,
giving ``<family>.<variant>``) for an id listed here; the plugin refuses a check outside the
catalog, and the expectations loader refuses a row naming an unknown id.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CATALOG_DIR = Path(__file__).with_name("checks")


class Area(NamedTuple):
    name: str
    title: str
    order: int
    checks: dict[str, str]


def load_areas(folder: Path = CATALOG_DIR) -> list[Area]:
    areas = []
    for path in sorted(folder.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        areas.append(Area(path.stem, data["title"], int(data["order"]), dict(data.get("checks", {}))))
    return sorted(areas, key=lambda a: a.order)


AREAS = load_areas()
CHECKS: dict[str, str] = {check: title for area in AREAS for check, title in area.checks.items()}
"""Every check id -> its title, in table order."""
AREA_OF: dict[str, str] = {check: area.title for area in AREAS for check in area.checks}
