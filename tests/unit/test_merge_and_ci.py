"""Merging records from many machines, and the CI workflow generated from tox's list."""

from __future__ import annotations

from pathlib import Path

import pytest

from matrix.ci import github_workflow
from matrix.merge import MergeError, merge_records
from matrix.outcomes import Outcome
from matrix.records import CheckResult, Record
from matrix.runner import default_environments

VERSIONS: dict[str, str | None] = {"python": "3.11.7", "flask": "3.1.3"}


def record(env: str, *checks: tuple[str, Outcome], harness: str = "0.1.0") -> Record:
    return Record(
        env,
        "threads",
        "werkzeug",
        dict(VERSIONS),
        [CheckResult(c, c, o, 0.1) for c, o in checks],
        complete=True,
        harness=harness,
    )


def test_shards_of_one_column_combine() -> None:
    """Checks of one column recorded on two machines merge into one record."""
    (merged,) = merge_records([record("e", ("isolation", "pass")), record("e", ("teardown", "pass"))])
    assert {c.check: c.outcome for c in merged.checks} == {"isolation": "pass", "teardown": "pass"}


def test_disagreeing_reports_are_flaky_never_picked() -> None:
    """The same cell reported pass on one machine and fail on another is flaky, naming both."""
    (merged,) = merge_records([record("e", ("teardown", "pass")), record("e", ("teardown", "fail"))])
    (cell,) = merged.checks
    assert (cell.outcome, cell.detail["outcomes"]) == ("flaky", ["fail", "pass"])


def test_other_harness_versions_are_refused() -> None:
    """Records of different harness versions are refused with one line."""
    with pytest.raises(MergeError, match="different harness versions"):
        merge_records([record("e", ("teardown", "pass")), record("f", ("teardown", "pass"), harness="0.0.9")])


def test_workflow_has_one_job_per_tox_environment() -> None:
    """The environments come from `tox l`'s default list (minus the report), one matrix entry each."""
    listing = (
        "default environments:\nflask31-threads -> x\nflask31-gevent  -> y\nreport -> z\n"
        "\nadditional environments:\ntests -> t\n"
    )
    envs = default_environments(listing)
    assert envs == ["flask31-threads", "flask31-gevent"]
    text = github_workflow(envs)
    assert "          - flask31-threads\n          - flask31-gevent\n" in text
    assert "flask-matrix merge records/" in text and "tests" not in envs
    # the scheduled job: the newest releases, not the lock, and their diff against the committed table
    assert "tox p -p 6 --latest" in text and "flask-matrix diff committed.json compatibility.json" in text


def test_committed_workflow_is_current() -> None:
    """The committed workflow equals what tox.ini generates (the drift check CI runs)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    pytest.importorskip("tox")
    result = subprocess.run(
        [sys.executable, "-m", "matrix.cli", "ci", "github", "--check"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
