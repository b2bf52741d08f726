"""upgrade-check has teeth: a Flask altered in one place regresses exactly the cells that use it,
and the same Flask rebuilt from source reports nothing. Real tox environments, real servers."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from matrix.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
FLASK_VERSION = metadata.version("flask")

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tox") is None, reason="upgrade-check drives tox (the dev extra)"
)


def flask_source_copy(folder: Path, alteration: str = "") -> Path:
    """A buildable copy of the installed Flask, with ``alteration`` appended to flask/ctx.py."""
    spec = importlib.util.find_spec("flask")
    assert spec is not None and spec.submodule_search_locations
    shutil.copytree(
        spec.submodule_search_locations[0],
        folder / "src" / "flask",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    requires = [r for r in metadata.requires("flask") or [] if "extra ==" not in r]
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=69"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "flask"
        version = "{FLASK_VERSION}+{"altered" if alteration else "rebuilt"}"
        dependencies = {requires!r}

        [project.optional-dependencies]
        async = ["asgiref>=3.2"]

        [tool.setuptools.packages.find]
        where = ["src"]
    """)
    )
    if alteration:
        with open(folder / "src" / "flask" / "ctx.py", "a") as ctx:
            ctx.write(textwrap.dedent(alteration))
    return folder


def upgrade_check(old: str, new: str, markdown: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "matrix.cli",
            "upgrade-check",
            old,
            new,
            "--models",
            "threads",
            "--servers",
            "werkzeug",
            "--markdown",
            str(markdown),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def changed_cells(markdown: Path) -> set[tuple[str, str, str]]:
    """(kind, check, transition) for every row of the Markdown diff."""
    rows = [line.split("|") for line in markdown.read_text().splitlines() if line.startswith("| ")]
    return {(r[1].strip(), r[2].strip(" `"), r[4].strip()) for r in rows[1:]}


def test_altered_copy_current_request_context_regresses_exactly_its_cells(tmp_path: Path) -> None:
    """copy_current_request_context returning the function undecorated changes exactly the cells
    of the checks that use it (the "Copied contexts" area and copy_context_outside_request): each
    is a regression, or an unexpected pass where the documented deviation was the copy's own
    doing; the command exits 1."""
    altered = flask_source_copy(
        tmp_path / "flask",
        alteration="""

        def copy_current_request_context(f):  # altered for the test: no context is copied
            return f
    """,
    )
    result = upgrade_check(FLASK_VERSION, str(altered), tmp_path / "diff.md")
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    changed = changed_cells(tmp_path / "diff.md")
    copied = {check.id for check in load_catalog().checks.values() if check.area == "Copied contexts"}
    # and the one check elsewhere that calls it: in a job with only an app context, where the
    # real decorator raises and the altered one does not
    assert {check for _, check, _ in changed} == copied | {"copy_context_outside_request"}
    assert {kind for kind, _, _ in changed} <= {"regression", "unexpected-pass"}
    assert ("regression", "copy_context_joined", "pass -> fail") in changed


def test_same_flask_rebuilt_from_source_changes_nothing(tmp_path: Path) -> None:
    """The installed Flask against an unaltered rebuild of it: no cell changes, exit 0."""
    rebuilt = flask_source_copy(tmp_path / "flask")
    result = upgrade_check(FLASK_VERSION, str(rebuilt), tmp_path / "diff.md")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "No cell changed." in (tmp_path / "diff.md").read_text()
