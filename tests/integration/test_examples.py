"""The plugin on a project's own suite: the example extension's bug shows exactly where requests
overlap, documented by its flask_expect_fail marker, and passes where they cannot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "threads",
            {
                "werkzeug": "expected-fail",
                "waitress": "expected-fail",
                "gunicorn-gthread": "expected-fail",
                "gunicorn-sync": "pass",
                "uwsgi-threads": "expected-fail",
                "granian-wsgi": "expected-fail",
            },
        ),
        (
            "asgi",
            {
                "hypercorn-asgiref": "pass",
                "uvicorn-asgiref": "pass",
                "hypercorn-wsgi": "expected-fail",
                "hypercorn-a2wsgi": "expected-fail",
                "uvicorn-a2wsgi": "expected-fail",
            },
        ),
    ],
)
def test_example_suite_under_every_server(model: str, expected: dict[str, str], tmp_path: Path) -> None:
    """The module-global test fails (documented) under every overlapping server and passes under
    asgiref's one-thread WsgiToAsgi and gunicorn's sync worker; the other tests pass everywhere;
    one record per server."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "examples/tests",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--flask-model={model}",
            "--flask-server=all",
            "--flask-app=flask_greeter.demo:create_app",
            f"--flask-records={tmp_path}",
            f"--flask-logs={tmp_path / 'logs'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "examples"), str(ROOT)])},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    seen = {}
    for record in tmp_path.glob("*.json"):
        data = json.loads(record.read_text())
        outcomes = {c["check"]: c["outcome"] for c in data["checks"]}
        seen[data["server"]] = outcomes.pop("last_visitor_is_this_request")
        assert set(outcomes.values()) == {"pass"}, outcomes
    assert seen == expected
