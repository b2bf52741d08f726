"""The plugin through real pytest runs: outcomes map to cells, hangs become timeouts, bad
options are one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from matrix.launch.servers import servers_of

CHECKS = """
def test_teardown(live, verdict):
    live.json("/hang")

def test_bare_worker(live, verdict):
    verdict.compare({"ok": True}, {"ok": live.json("/ready")["ok"]})

def test_nested_app_context(live, verdict):
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
check = "nested_app_context"
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
        "nested_app_context": "pass",
        "app_context_worker": "fail",
    }
    assert cells["teardown"]["duration"] < 10
    assert json.loads(record.read_text())["complete"] is True
    assert (tmp_path / "threads--werkzeug.log").read_text().count("serving apps.faulty:create_app") == 2


def test_unknown_model_is_one_line_and_exit_2(pytester: pytest.Pytester) -> None:
    """--flask-model=trio stops pytest with one line listing the valid models, exit 2 (bad input)."""
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest_subprocess("--flask-model=trio")
    assert result.ret == 2
    assert result.stderr.str().strip() == (
        "flask-matrix: unknown model 'trio': choose one of threads, gevent, eventlet, asgi"
    )


def test_check_outside_the_catalog_is_refused(pytester: pytest.Pytester) -> None:
    """A live check whose id is not in the catalog is bad input, not a silent extra row."""
    pytester.makepyfile(test_checks="def test_made_up(live, verdict):\n    pass\n")
    result = pytester.runpytest_subprocess("--flask-model=threads", "--flask-strict-catalog")
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*flask-matrix: *check 'made_up' is not in the catalog (matrix/areas/)*"])
    assert "_pytest.outcomes" not in result.stdout.str() + result.stderr.str()


def test_without_a_model_the_plugin_is_inert_and_live_tests_skip(pytester: pytest.Pytester) -> None:
    """A plain pytest of a tree holding live tests runs the rest and skips those, with the reason."""
    pytester.makepyfile(test_checks=CHECKS + "\ndef test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess("-rs")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines(["*runs against a live server: pass --flask-model=NAME*"])


def test_server_that_cannot_start_is_one_line(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """An app that fails to import ends the session with one line naming model and log."""
    pytester.makepyfile(test_checks=CHECKS)
    result = pytester.runpytest_subprocess(
        "--flask-model=gevent",
        "--flask-app=apps.faulty:create_broken_app",
        f"--flask-logs={tmp_path}",
    )
    assert result.ret == 3
    log = tmp_path / "gevent--pywsgi.log"
    result.stdout.fnmatch_lines(
        [f"*flask-matrix: gevent/pywsgi: server for apps.faulty:create_broken_app failed*{log}*"]
    )
    assert "_pytest.outcomes" not in result.stdout.str()


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


APP = """
from flask import Flask, session

def create_app(test_config=None, greeting="hello"):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="dev", GREETING=greeting, SEEDED=False)
    app.config.update(test_config or {})

    @app.get("/greet")
    def greet():
        config = app.config
        return {"greeting": config["GREETING"], "name": config.get("NAME"), "seeded": config["SEEDED"]}

    return app

def seed(app):
    app.config["SEEDED"] = True

def not_an_app():
    return "an app, surely"
"""
CONFTEST = """
import pytest
from myapp import create_app


@pytest.fixture
def app():
    return create_app()
"""
LIVE_AND_TEST_CLIENT = """
import json, urllib.request

def test_in_process(client):
    assert client.get("/greet").json["greeting"] == "hello"

def test_live(flask_live_url):
    with urllib.request.urlopen(flask_live_url + "/greet", timeout=5) as answer:
        assert json.loads(answer.read()) == {"greeting": "bonjour", "name": "Ada", "seeded": True}
"""


def test_any_factory_its_config_and_a_setup_hook_alongside_pytest_flask(pytester: pytest.Pytester) -> None:
    """A factory that takes no worker primitives (flaskr's create_app(test_config=None) shape),
    called with literal arguments, given config and a setup hook in the server process, runs
    beside pytest-flask, whose in-process client fixture works in the same session."""
    pytest.importorskip("pytest_flask")
    pytester.makepyfile(myapp=APP, test_both=LIVE_AND_TEST_CLIENT)
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest_subprocess(
        "--flask-model=threads",
        "--flask-server=all",
        "--flask-app=myapp:create_app(greeting='bonjour')",
        "--flask-app-config",
        "NAME=Ada",
        "--flask-app-setup=myapp:seed",
        f"--flask-logs={pytester.path / 'logs'}",
    )
    # the live test under each of the model's servers, the in-process one once
    result.assert_outcomes(passed=len(servers_of("threads")) + 1)
    result.stdout.fnmatch_lines(["plugins:*flask-1.*"])  # pytest-flask was loaded


def test_a_factory_that_gives_no_app_is_one_line(pytester: pytest.Pytester) -> None:
    """A factory returning something else than a Flask app ends the session with one line naming it."""
    pytester.makepyfile(myapp=APP, test_live="def test_live(flask_live_url):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--flask-model=gevent", "--flask-app=myapp:not_an_app", f"--flask-logs={pytester.path}"
    )
    assert result.ret == 3
    result.stdout.fnmatch_lines(
        ["*flask-matrix: gevent/pywsgi: *--flask-app 'myapp:not_an_app' gave str, not a Flask app*"]
    )


BROKEN_VIEW = """
from flask import Flask


def create_app():
    app = Flask(__name__)

    @app.get("/users")
    def users():
        raise LookupError("no such table: user")

    @app.get("/hang")
    def hang():
        NEVER.wait()

    return app
"""
USER_TESTS = """
import urllib.error, urllib.request


def test_hangs(flask_live_url):
    urllib.request.urlopen(flask_live_url + "/hang")


def test_users(flask_live_url):
    try:
        urllib.request.urlopen(flask_live_url + "/users", timeout=5)
    except urllib.error.HTTPError as error:
        assert error.code == 200
"""


def test_a_users_hanging_test_is_bounded_and_a_failure_shows_the_server_log(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """A project's own test that blocks (a request with no timeout to a view that never answers) is
    a timeout cell within --flask-check-timeout, the server is restarted; a failing test's report
    carries what the server logged while it ran (the app's traceback)."""
    pytester.makepyfile(brokenapp=BROKEN_VIEW.replace("def create_app():", HANG_VIEW), test_user=USER_TESTS)
    record = tmp_path / "record.json"
    result = pytester.runpytest_subprocess(
        "--flask-model=threads",
        "--flask-app=brokenapp:create_app",
        "--flask-check-timeout=3",
        f"--flask-record={record}",
        f"--flask-logs={tmp_path}",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cells = outcomes(record)
    assert cells["hangs"]["outcome"] == "timeout" and cells["hangs"]["duration"] < 10
    assert cells["users"]["outcome"] == "fail"
    assert "LookupError: no such table: user" in "\n".join(cells["users"]["detail"]["server_log"])
    result.stdout.fnmatch_lines(["*server log while it ran*", "*LookupError: no such table: user*"])
    assert (tmp_path / "threads--werkzeug.log").read_text().count("serving brokenapp:create_app") == 2


HANG_VIEW = """import threading

NEVER = threading.Event()


def create_app():"""


FAILS_ON_ITS_SECOND_START = """
from pathlib import Path

from flask import Flask


def create_app(counter):
    starts = Path(counter)
    starts.write_text(starts.read_text() + "x" if starts.exists() else "x")
    if starts.read_text() == "xx":
        raise RuntimeError("the second start fails, once")
    app = Flask(__name__)
    app.get("/ok")(lambda: {"ok": True})
    return app
"""

RESTARTING_CHECKS = """
import pytest

@pytest.mark.restarts_server(reason="leaves state on a worker")
def test_after_this_request(live, verdict):
    verdict.compare({"ok": True}, {"ok": live.json("/ok")["ok"]})

def test_call_on_close(live, verdict):
    verdict.compare({"ok": True}, {"ok": live.json("/ok")["ok"]})
"""


def test_a_restart_that_fails_once_is_retried_and_the_column_goes_on(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """After a restarts_server check the server is started afresh; a start that fails once is
    tried again (both attempts in the log), so the column's later checks still run (a start that
    fails twice still ends the session with its one line: test_server_that_cannot_start_is_one_line)."""
    pytester.makepyfile(myflaky=FAILS_ON_ITS_SECOND_START, test_checks=RESTARTING_CHECKS)
    record, counter = tmp_path / "record.json", tmp_path / "starts"
    result = pytester.runpytest_subprocess(
        "--flask-model=threads",
        f"--flask-app=myflaky:create_app(counter={str(counter)!r})",
        f"--flask-record={record}",
        f"--flask-logs={tmp_path}",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=2)
    assert {c: cell["outcome"] for c, cell in outcomes(record).items()} == {
        "after_this_request": "pass",
        "call_on_close": "pass",
    }
    assert counter.read_text() == "xxx"
    assert "the second start fails, once" in (tmp_path / "threads--werkzeug.log").read_text()
