"""The plugin through real pytest runs: outcomes map to cells, hangs become timeouts, bad
options are one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CHECKS = """
def test_teardown(live, verdict):
    live.json("/hang")

def test_bare_worker(live, verdict):
    verdict.compare({"ok": True}, {"ok": live.json("/ready")["ok"]})

def test_isolation(live, verdict):
    verdict.compare({"ok": True}, {"ok": live.json("/ready")["ok"]})

def test_app_context_worker(live, verdict):
    verdict.compare({"ok": True}, {"ok": "surprise"})
"""

EXPECTATIONS = """
[[deviation]]
check = "bare_worker"
models = ["threads"]
observed.ok = false
reason = "documented, but the ideal holds: must show as unexpected-pass"
cite = ["https://example.invalid/a"]

[[deviation]]
check = "isolation"
models = ["threads"]
observed.ok = true
reason = "never applies (the observation equals the ideal)"
cite = ["https://example.invalid/b"]
flask = "<1"
"""


def outcomes(record: Path) -> dict[str, Any]:
    return {c["check"]: c for c in json.loads(record.read_text())["checks"]}


def test_outcomes_timeout_and_restart(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A hanging check is a timeout cell within its bound, the server is restarted, later checks
    still run; a strict XPASS is unexpected-pass; a wrong observation is fail."""
    pytester.makepyfile(test_checks=CHECKS)
    expectations = pytester.makefile(".toml", expectations=EXPECTATIONS)
    record = tmp_path / "record.json"
    result = pytester.runpytest_subprocess(
        "--flask-model=threads",
        "--flask-app=apps.faulty:create_app",
        "--flask-check-timeout=2",
        f"--flask-record={record}",
        f"--flask-expectations={expectations}",
        f"--flask-logs={tmp_path}",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cells = outcomes(record)
    assert {check: cell["outcome"] for check, cell in cells.items()} == {
        "teardown": "timeout",
        "bare_worker": "unexpected-pass",
        "isolation": "pass",
        "app_context_worker": "fail",
    }
    assert cells["teardown"]["duration"] < 10
    assert json.loads(record.read_text())["complete"] is True
    assert (tmp_path / "threads--werkzeug.log").read_text().count("serving apps.faulty:create_app") == 2


def test_unknown_model_is_one_usage_line(pytester: pytest.Pytester) -> None:
    """--flask-model=trio stops pytest with one line listing the valid models."""
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest_subprocess("--flask-model=trio")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: unknown model 'trio': choose one of threads, gevent, eventlet, asgi"]
    )


def test_check_outside_the_catalog_is_refused(pytester: pytest.Pytester) -> None:
    """A live check whose id is not in the catalog is a usage error, not a silent extra row."""
    pytester.makepyfile(test_checks="def test_made_up(live, verdict):\n    pass\n")
    result = pytester.runpytest_subprocess("--flask-model=threads", "--flask-strict-catalog")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*check 'made_up' is not in the catalog (matrix/areas/)"])


def test_checks_without_a_model_are_refused(pytester: pytest.Pytester) -> None:
    """Running live checks without --flask-model says how to pick one."""
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*runs against a live server: pass --flask-model=NAME*"])


def test_server_that_cannot_start_is_one_line(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """An app that fails to import ends the session with one line naming model and log."""
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest_subprocess(
        "--flask-model=gevent",
        "--flask-app=apps.faulty:create_broken_app",
        f"--flask-logs={tmp_path}",
    )
    assert result.ret not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    log = tmp_path / "gevent--pywsgi.log"
    result.stdout.fnmatch_lines([f"*gevent/pywsgi: server for apps.faulty:create_broken_app failed*{log}*"])


def test_check_that_cannot_apply_is_na_with_its_reason(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A check whose applies-range excludes this Flask is an n/a cell carrying the reason."""
    pytester.makepyfile(
        test_checks="""
import pytest

@pytest.mark.applies(flask=">=99", reason="uses an API Flask 99 adds")
def test_teardown(live, verdict):
    raise AssertionError("must not run")
"""
    )
    record = tmp_path / "record.json"
    result = pytester.runpytest_subprocess(
        "--flask-model=threads", f"--flask-record={record}", f"--flask-logs={tmp_path}"
    )
    assert result.ret == pytest.ExitCode.OK
    cell = outcomes(record)["teardown"]
    assert cell["outcome"] == "n/a"
    assert cell["detail"]["message"].startswith("uses an API Flask 99 adds (needs flask >=99; here ")
