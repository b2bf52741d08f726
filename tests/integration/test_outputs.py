"""Outputs as users expect of a command-line tool: '-' is standard output, a device or a link is
written through and never replaced, --version, an example in every --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from matrix.cli import EXAMPLES
from matrix.records import write_record
from tests.integration.test_html_report import record

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "matrix.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.fixture
def records(tmp_path: Path) -> Path:
    write_record(tmp_path / "records" / "a.json", record("threads", "werkzeug", "3.1.3", "pass"))
    return tmp_path / "records"


def test_dash_is_standard_output_and_the_table_moves_to_stderr(records: Path) -> None:
    """--json - writes the JSON, alone, to standard output; the table for people goes to stderr."""
    result = cli("report", str(records), "--json", "-")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schema"] == "flask-context-matrix/compatibility/2"
    assert "Flask context compatibility" in result.stderr
    assert not (ROOT / "-").exists()


def test_a_device_behind_a_link_is_written_to_not_replaced(records: Path, tmp_path: Path) -> None:
    """A symlink to /dev/null (as /dev/stdout is to a terminal) stays a link to the device."""
    link = tmp_path / "out.md"
    link.symlink_to("/dev/null")
    assert cli("report", str(records), "--markdown", str(link)).returncode == 0
    assert link.is_symlink() and os.readlink(link) == "/dev/null"


def test_a_link_to_a_file_keeps_the_link_and_replaces_the_file(records: Path, tmp_path: Path) -> None:
    """A symlink to a regular file: the file gets the new table, the link stays."""
    target = tmp_path / "real.json"
    target.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert cli("report", str(records), "--json", str(link)).returncode == 0
    assert link.is_symlink() and json.loads(target.read_text())["columns"]


def test_version_and_an_example_in_every_help() -> None:
    """flask-matrix --version names the version; every subcommand's --help ends with an example."""
    assert cli("--version").stdout.strip().startswith("flask-matrix 0.")
    for command in EXAMPLES:
        text = cli(command, "--help").stdout
        assert "example:\n  flask-matrix " in text, command


def test_a_width_too_narrow_is_one_line(records: Path) -> None:
    """--width 0 is refused with one line, not an empty report."""
    result = cli("report", str(records), "--width", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == "flask-matrix: --width must be at least 40, not 0"
