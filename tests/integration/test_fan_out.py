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
