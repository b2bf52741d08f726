"""A matrix split into shards (separate processes, separate output folders) and merged gives the
same table as one run with everything in one folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from matrix.merge import merge_records
from matrix.records import read_records
from matrix.report.markdown import render_markdown
from matrix.table import build_table

ROOT = Path(__file__).resolve().parents[2]


def run(model: str, out: Path, *select: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/checks/test_teardown.py",
            "tests/checks/test_errors.py",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--flask-model={model}",
            f"--flask-environment=flask-{model}",
            f"--flask-records={out}",
            f"--flask-logs={out / 'logs'}",
            "--flask-strict-catalog",
            *select,
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
        check=False,
    )


def cells(markdown: str) -> list[str]:
    """The table rows of a rendered Markdown table (not the footnotes' wording order)."""
    return [line for line in markdown.splitlines() if line.startswith("| `")]


def test_sharded_and_merged_equals_single_run(tmp_path: Path) -> None:
    """Shards by model and by check (one column split across two "machines") merge to the same
    cells as the single run."""
    single = tmp_path / "single"
    for model in ("threads", "gevent"):
        run(model, single)
    run("threads", tmp_path / "shard1", "-k", "error")
    run("threads", tmp_path / "shard2", "-k", "not error")
    run("gevent", tmp_path / "shard3")
    merged = merge_records(read_records([tmp_path / f"shard{i}" for i in (1, 2, 3)]))
    assert cells(render_markdown(build_table(merged))) == cells(
        render_markdown(build_table(read_records([single])))
    )


def test_fan_out_shows_red_cells_and_a_line_per_column_and_logs_the_rest(tmp_path: Path) -> None:
    """flask-matrix checks prints each red cell as it appears and one summary line per column;
    pytest's own output (the XFAIL reasons, the failure) goes to the column's log, not the console."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "matrix.cli",
            "checks",
            "--model",
            "threads",
            "--servers",
            "werkzeug,waitress",
            "--",
            "tests/checks/test_isolation.py",
            "-k",
            # apps.leaky's shared session turns isolation_nested red too: one red check per column
            "test_isolation and not nested",
            "-p",
            "no:cacheprovider",
            "--flask-app=apps.leaky:create_app",
            f"--flask-records={tmp_path}",
            f"--flask-logs={tmp_path / 'logs'}",
            "--flask-environment=leaky",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "RED werkzeug: isolation: fail" in lines and "RED waitress: isolation: fail" in lines
    summaries = [line for line in lines if line.startswith(("werkzeug: ", "waitress: "))]
    assert len(summaries) == 2 and all("1 FAIL) in " in s and ", exit 1; log: " in s for s in summaries)
    assert len(lines) == 4  # nothing of pytest's own output
    (log,) = (tmp_path / "logs").glob("leaky--*.pytest.log")
    assert "FAILED" in log.read_text()
