"""The house's rules that a reader relies on, held against the code: the report is pure, the
driver side never imports a model library, and the app set never asks which model it runs under."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from matrix.models import MODELS

ROOT = Path(__file__).resolve().parents[2]
PURE = [*sorted((ROOT / "matrix/report").glob("*.py")), ROOT / "matrix/table.py", ROOT / "matrix/diff.py"]
REGISTRIES = ("matrix.models", "matrix.launch", "matrix.catalog", "matrix.plugin")


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.name)
def test_renderers_import_no_registry_and_name_no_model(path: Path) -> None:
    """The table, the diff and every renderer work from records and tables alone: they import no
    registry or catalog, and no model's name appears in their code."""
    assert not {m for m in imports(path) if m.startswith(REGISTRIES)}
    code = path.read_text()
    assert not [name for name in MODELS if re.search(rf"\b{name}\b", code)]


def test_templates_name_no_model() -> None:
    """The HTML template gets its models from the table, too."""
    text = (ROOT / "matrix/report/templates/report.html.j2").read_text()
    assert not [name for name in MODELS if re.search(rf"\b{name}\b", text)]


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "matrix/launch/parent.py",
        ROOT / "matrix/client.py",
        *sorted((ROOT / "matrix/plugin").glob("*.py")),
    ],
    ids=lambda p: p.name,
)
def test_the_driver_side_imports_no_model_library(path: Path) -> None:
    """The process driving the checks stays unpatched: no gevent, eventlet, greenlet or server import."""
    libraries = ("gevent", "eventlet", "greenlet", "asgiref", "hypercorn", "uvicorn", "waitress", "a2wsgi")
    assert not {m for m in imports(path) if m.split(".")[0] in libraries}


@pytest.mark.parametrize(
    "path", sorted((ROOT / "apps").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_app_set_never_asks_which_model_it_runs_under(path: Path) -> None:
    """Model-specific behaviour enters the apps only through the workers they are given."""
    assert "flask_model" not in path.read_text()
    allowed = {"matrix.models.base", "matrix.records", "matrix.catalog"}
    assert {m for m in imports(path) if m.startswith("matrix")} <= allowed


def test_the_server_process_imports_nothing_patchable_before_it_patches() -> None:
    """What ``matrix.launch.child`` imports before ``Model.patch()`` loads no module a patch must
    replace: importing threading, socket or Flask first would capture the unpatched ones."""
    probe = "import json, sys, matrix.launch.child; print(json.dumps(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    patchable = {"threading", "socket", "ssl", "selectors", "subprocess", "asyncio", "flask", "werkzeug"}
    assert patchable & set(json.loads(loaded.stdout)) == set()
