"""The checks have teeth: a known bug turns them red where the runtime makes it bite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from matrix.models import MODELS

ROOT = Path(__file__).resolve().parents[2]


def run_checks(tmp_path: Path, model: str, app: str, *args: str) -> dict[str, dict[str, object]]:
    record = tmp_path / f"{model}.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "tests/checks"),
            "-q",
            "-p",
            "no:cacheprovider",
            f"--flask-model={model}",
            f"--flask-app={app}",
            f"--flask-record={record}",
            f"--flask-logs={tmp_path}",
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
        check=False,
    )
    return {c["check"]: c for c in json.loads(record.read_text())["checks"]}


@pytest.mark.parametrize("model", list(MODELS))
def test_module_global_leaks_wherever_requests_overlap(model: str, tmp_path: Path) -> None:
    """Serving apps.leaky (marker in a module global, not g), the isolation check fails under
    every model whose server overlapped requests, and the detail says how many were in flight."""
    result = run_checks(tmp_path, model, "apps.leaky:create_app", "-k", "isolation")["isolation"]
    detail = result["detail"]
    assert isinstance(detail, dict)
    if detail["in_flight"] > 1:
        assert result["outcome"] == "fail"
        assert detail["observed"]["mismatches"] > 0
    else:
        # A serialising server cannot show the leak; the record says the pass had no overlap.
        assert (result["outcome"], detail["overlap"]) == ("pass", False)


@pytest.mark.parametrize("model", ["threads", "gevent", "eventlet"])
def test_overlapping_models_really_overlap(model: str, tmp_path: Path) -> None:
    """With the correct app, the isolation pass under these models had all 100 requests in flight."""
    result = run_checks(tmp_path, model, "apps:create_app", "-k", "isolation")["isolation"]
    assert result["outcome"] == "pass"
    assert result["detail"]["in_flight"] == 100  # type: ignore[index]


MECHANISMS = ("hooks", "teardown", "url_defaults", "errorhandler", "session", "flash")
SHARED_ACROSS_REQUESTS = ("session",)
"""Mechanisms whose planted bug leaks without overlap too: the one session object outlives its
request, so the next request (with its own cookie) reads whatever the last one wrote. Flashed
messages do not: each request takes its own off the shared object before the next runs."""


@pytest.mark.parametrize(
    ("model", "server"),
    [
        ("threads", "werkzeug"),
        ("gevent", "pywsgi"),
        ("eventlet", "eventlet-wsgi"),
        ("asgi", "hypercorn-wsgi"),
        ("asgi", "hypercorn-asgiref"),
    ],
)
def test_a_module_global_in_a_hook_turns_every_mechanism_red_where_requests_overlap(
    model: str, server: str, tmp_path: Path
) -> None:
    """Serving apps.leaky (the marker before_request, url_value_preprocessor and the views store
    kept in a module global, and one session object for every request), each request_mechanism
    cell fails wherever the wave overlapped, and the others pass with the no-overlap mark where
    the server ran one request at a time (asgiref), except the session's, which leaks there too."""
    found = run_checks(
        tmp_path, model, "apps.leaky:create_app", f"--flask-server={server}", "-k", "request_mechanism"
    )
    for variant in MECHANISMS:
        result = found[f"request_mechanism.{variant}"]
        detail = result["detail"]
        assert isinstance(detail, dict)
        if detail["in_flight"] > 1 or variant in SHARED_ACROSS_REQUESTS:
            assert result["outcome"] == "fail", variant
            assert detail["observed"]["wrong"] > 0
        else:
            assert (result["outcome"], detail["overlap"]) == ("pass", False), variant
    assert server.endswith("asgiref") or all(
        found[f"request_mechanism.{v}"]["outcome"] == "fail" for v in MECHANISMS
    )


@pytest.mark.parametrize("model", list(MODELS))
def test_a_module_list_of_requests_is_found_by_the_retention_check(model: str, tmp_path: Path) -> None:
    """Serving apps.retaining (each request object and g kept in a module list), the retention
    check fails under every model: at least one of each per request served stays reachable."""
    result = run_checks(tmp_path, model, "apps.retaining:create_app", "-k", "retention")["retention"]
    detail = result["detail"]
    assert isinstance(detail, dict)
    assert result["outcome"] == "fail"
    assert detail["observed"]["request_objects"] >= 600
    assert detail["observed"]["g_objects"] >= 600
