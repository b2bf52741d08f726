"""An app nobody here wrote, with its own suite: Flask's tutorial app (flaskr), from the sdist of
the Flask under test as the package registry serves it, run through the plugin unchanged
(``--flask-app=flaskr:create_app --flask-live-test-client``) under every model and server.

flaskr is used where it is downloaded, never copied into this repository. Its suite uses
``app.test_client()`` with a fresh SQLite file per test (``create_app({"DATABASE": path})``), so
every test gets a server of its own config. What it cannot run live is n/a with the plugin's
reason; every other test must pass live unless it also fails with the in-process test client.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

import pytest

from matrix.launch.servers import SERVERS
from matrix.models import MODELS

NOT_LIVE_REASONS = ("`with client:` keeps", "session_transaction()", "it ran in this process only")
RUN_TIMEOUT = 600


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Flask sdist's ``examples/tutorial``, downloaded by pip (the dev extra installs it: a
    uv-made environment has none) from the registry it is configured for, and unpacked."""
    flask = version("flask")
    where = tmp_path_factory.mktemp("sdist")
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
    download = subprocess.run(
        [*pip, "--dest", str(where), f"flask=={flask}"],
        check=False,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    if download.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"pip download flask=={flask} failed: {download.stderr.strip()[-500:]}")
        pytest.skip(f"pip download flask=={flask} failed: {download.stderr.strip().splitlines()[-1:]}")
    (sdist,) = where.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if "/examples/tutorial/" in m.name and m.isreg()]
        archive.extractall(where, members=members, filter="data")
    (found,) = where.glob("*/examples/tutorial")
    return found


def _pytest(tutorial: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-p", "no:cacheprovider", "-rfE", *args],
        check=False,
        cwd=tutorial,
        env={**os.environ, "PYTHONPATH": str(tutorial)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


@pytest.fixture(scope="module")
def test_client_failures(tutorial: Path) -> set[str]:
    """The tests of flaskr's suite that fail with the in-process test client (none, as shipped)."""
    run = _pytest(tutorial)
    assert run.returncode in (0, 1), run.stdout[-2000:] + run.stderr[-2000:]
    return set(re.findall(r"^FAILED tests/\S+::(\S+)", run.stdout, re.MULTILINE))


@pytest.mark.parametrize("model", list(MODELS))
def test_flaskrs_own_suite_runs_live_under_every_server(
    tutorial: Path, test_client_failures: set[str], model: str, tmp_path: Path
) -> None:
    records = tmp_path / "records"
    run = _pytest(
        tutorial,
        f"--flask-model={model}",
        "--flask-server=all",
        "--flask-app=flaskr:create_app",
        "--flask-live-test-client",
        f"--flask-records={records}",
        f"--flask-logs={tmp_path / 'logs'}",
    )
    servers = [name for name, info in SERVERS.items() if info.model == model]
    summary = []
    for server in servers:
        record = json.loads((records / f"{model}--{server}.json").read_text())
        assert record["complete"], f"{server}: the run was cut short\n{run.stdout[-3000:]}"
        live = [c for c in record["checks"] if c["outcome"] == "pass"]
        not_live = [c for c in record["checks"] if c["outcome"] == "n/a"]
        red = [c for c in record["checks"] if c not in live and c not in not_live]
        # A red cell is allowed only where the in-process test client fails too.
        assert {c["check"] for c in red} <= {f.removeprefix("test_") for f in test_client_failures}, (
            f"{server}: {[(c['check'], c['outcome'], c['detail'].get('message')) for c in red]}"
        )
        assert all(c["detail"]["live_requests"] > 0 for c in live), f"{server}: a pass sent nothing live"
        assert all(c["detail"]["message"].startswith(NOT_LIVE_REASONS) for c in not_live), server
        assert len(live) > len(not_live), f"{server}: most of flaskr's suite should run live"
        summary.append(f"{server}: {len(live)} live, {len(not_live)} n/a, {len(red)} red")
    print(f"flaskr {version('flask')} under {model}: " + "; ".join(summary))
