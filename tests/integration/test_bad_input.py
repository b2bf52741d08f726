"""Bad input gets one clear line and exit code 2, with no traceback and nothing overwritten."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "matrix.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--model", "trio"], "unknown model 'trio': choose one of threads, gevent, eventlet, asgi"),
        (
            ["serve", "--model", "threads", "--server", "pywsgi"],
            "unknown server 'pywsgi' for model 'threads'",
        ),
        (["run", "--flask", "latest"], "Flask spec 'latest' is not a version (3.1.1), a wheel file"),
        (["upgrade-check", "3.1.3", "nope.whl"], "Flask wheel 'nope.whl' does not exist"),
        (["run", "--flask", "3.1.3", "--models", "threads,trio"], "unknown model 'trio'"),
        (["report", "no/such/folder"], "no/such/folder: cannot read"),
        (["checks", "--model", "trio", "--", "tests/checks"], "unknown model 'trio'"),
        (
            ["checks", "--model", "asgi", "--servers", "waitress"],
            "unknown server 'waitress' for model 'asgi'",
        ),
        (["checks", "--model", "asgi", "--jobs", "0"], "--jobs must be at least 1, not 0"),
        (["gate", "--table", "/nowhere/compatibility.json"], "is not inside the checkout"),
    ],
    ids=[
        "unknown-model",
        "server-of-other-model",
        "bad-spec",
        "missing-wheel",
        "bad-model-list",
        "no-records",
        "checks-unknown-model",
        "checks-server-of-other-model",
        "checks-no-jobs",
        "gate-table-outside",
    ],
)
def test_cli_refuses_bad_arguments(args: list[str], message: str) -> None:
    """Each bad argument is one line on stderr naming the problem, and exit 2."""
    assert message in one_line(cli(*args))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema": "flask-context-matrix/record/2", "environment": "x", "chec', "not JSON"),
        ('{"schema": "someone-else/9"}', "schema 'someone-else/9'"),
        ("", "not JSON"),
    ],
    ids=["truncated", "wrong-schema", "empty"],
)
@pytest.mark.parametrize("command", ["report", "diff", "merge"])
def test_bad_record_files_leave_outputs_alone(
    command: str, content: str, message: str, tmp_path: Path
) -> None:
    """A corrupt, truncated or foreign record is one line; the table written before is untouched."""
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "x.json").write_text(content)
    (tmp_path / "C.md").write_text("the previous table\n")
    args = {
        "report": ["report", "records", "--markdown", "C.md"],
        "diff": ["diff", "records", "records", "--markdown", "C.md"],
        "merge": ["merge", "records", "--markdown", "C.md"],
    }[command]
    assert message in one_line(cli(*args, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}))
    assert (tmp_path / "C.md").read_text() == "the previous table\n"


def test_model_library_missing_is_one_line(tmp_path: Path) -> None:
    """A model whose runtime is not installed says which package and how to get it."""
    fake = tmp_path / "gevent"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'gevent'\", name='gevent')\n")
    result = subprocess.run(
        [sys.executable, "-m", "matrix.launch.child", "--model", "gevent", "--fd", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "flask-matrix serve: model 'gevent' needs 'gevent', which is not installed here: "
        "pip install 'flask-context-matrix[gevent]'"
    )


def test_malformed_expectations_stop_pytest_with_one_line(tmp_path: Path) -> None:
    """An expectations file with a syntax error stops the run before any server starts."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[[deviation]\ncheck = 1\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/checks/test_errors.py",
            "-p",
            "no:cacheprovider",
            "--flask-model=threads",
            f"--flask-expectations={bad}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"flask-matrix: {bad}: not valid TOML" in result.stderr and "Traceback" not in result.stderr
