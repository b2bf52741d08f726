"""The pytest side: options, the live server, the verdict fixture, outcome records.

Registered through the ``pytest11`` entry point, so it is loaded by every pytest run in an
environment where the package is installed; it stays inert until a test asks for a live fixture.
The driving pytest process is never patched: the server runs in its own process
(``matrix.server``), and checks talk to it over a socket.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

from matrix.catalog import AREA_OF, CHECKS
from matrix.client import CheckTimeout, LiveClient, calibrate
from matrix.expectations import (
    DEFAULT_PATH,
    Deviation,
    Expectations,
    ExpectationsError,
    load_expectations,
)
from matrix.models import (
    MODELS,
    SERVERS,
    UnknownModel,
    UnknownServer,
    check_model_name,
    check_server_names,
    default_server,
)
from matrix.records import CheckResult, Record, installed_versions, write_record
from matrix.server import LiveServer, ServerStartError, serve_in_subprocess
from matrix.verdict import DocumentedDeviation, Verdict

LIVE_FIXTURES = {"live", "verdict", "live_server", "flask_server", "flask_live_url"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flask-context-matrix", "Flask's context machinery under a live model")
    group.addoption(
        "--flask-model",
        metavar="NAME",
        help=f"serve the app under this concurrency model: {', '.join(MODELS)}",
    )
    group.addoption(
        "--flask-app",
        metavar="MODULE:FACTORY",
        default="apps:create_app",
        help="app factory taking the model's workers (default: %(default)s)",
    )
    group.addoption(
        "--flask-server",
        metavar="NAMES",
        help="the model's servers to serve with: 'all' or a comma-separated list (default: the "
        "model's first); `flask-matrix models` lists them",
    )
    group.addoption(
        "--flask-record",
        metavar="PATH",
        type=Path,
        help="write the (one) server's outcomes to PATH (JSON, atomically)",
    )
    group.addoption(
        "--flask-records",
        metavar="DIR",
        type=Path,
        help="write one record per server to DIR/<environment>--<server>.json",
    )
    group.addoption(
        "--flask-environment", metavar="NAME", help="environment name in the record (default: the model name)"
    )
    group.addoption(
        "--flask-logs",
        metavar="DIR",
        type=Path,
        default=Path(".matrix/logs"),
        help="folder for server logs (default: %(default)s)",
    )
    group.addoption(
        "--flask-check-timeout",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="bound on one check; past it the cell is 'timeout' (default: %(default)s)",
    )
    group.addoption(
        "--flask-strict-catalog",
        action="store_true",
        help="refuse live tests whose id is not in the matrix's check catalog (the matrix's own "
        "checks run with it; a project's own suite runs without, its rows named after its tests)",
    )
    group.addoption(
        "--flask-expectations",
        metavar="PATH",
        type=Path,
        default=DEFAULT_PATH,
        help="documented deviations file (default: the packaged one)",
    )


class ServerState:
    """One server of the session's model: its record and its process (started lazily,
    restarted after a timeout, stopped at the end of the session)."""

    def __init__(self, session: MatrixSession, server: str) -> None:
        self.session = session
        self.name = server
        info = SERVERS[server]
        self.record = Record(
            session.environment, session.model, server, session.versions, server_label=info.label
        )
        self.live: LiveServer | None = None
        self.poisoned = False

    def live_server(self) -> LiveServer:
        if self.live is not None and (self.poisoned or not self.live.alive()):
            self.live.stop()
            self.live = None
        if self.live is None:
            log = self.session.logs / f"{self.session.environment}--{self.name}.log"
            self.live = serve_in_subprocess(self.session.model, self.session.app, log, server=self.name)
            self.poisoned = False
            try:
                self.record.calibration = calibrate(
                    self.live.base_url, self.live.ready_answer, self.session.timeout
                )
            except (AssertionError, CheckTimeout, OSError) as exc:
                self.live.stop()
                self.live = None
                raise ServerStartError(f"{self.name}: the app's calibration failed: {exc}") from exc
        return self.live

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()

    def save(self, complete: bool = False) -> None:
        self.record.complete = complete
        path = self.session.record_path(self.name)
        if path is not None:
            write_record(path, self.record)


class MatrixSession:
    """Per-session state: the model, its servers, the expectations, the installed versions."""

    def __init__(self, config: pytest.Config) -> None:
        self.model: str = config.getoption("flask_model")
        self.app: str = config.getoption("flask_app")
        self.timeout: float = config.getoption("flask_check_timeout")
        self.logs: Path = config.getoption("flask_logs")
        self.expectations: Expectations = load_expectations(config.getoption("flask_expectations"))
        self.versions = installed_versions()
        self.environment: str = config.getoption("flask_environment") or self.model
        names = check_server_names(self.model, config.getoption("flask_server") or default_server(self.model))
        self._record_file: Path | None = config.getoption("flask_record")
        self._record_dir: Path | None = config.getoption("flask_records")
        if self._record_file is not None and len(names) > 1:
            raise UnknownServer("--flask-record takes one server; use --flask-records DIR for several")
        self.servers = {name: ServerState(self, name) for name in names}

    def record_path(self, server: str) -> Path | None:
        if self._record_file is not None:
            return self._record_file
        if self._record_dir is not None:
            return self._record_dir / f"{self.environment}--{server}.json"
        return None

    def cell_id(self, server: str) -> str:
        flask = self.versions.get("flask") or "?"
        return f"flask{'.'.join(flask.split('.')[:2])}-{self.model}-{server}"


_SESSION = pytest.StashKey[MatrixSession]()
_NOT_APPLICABLE = pytest.StashKey[str]()


def _not_applicable(item: pytest.Item, model: str, versions: dict[str, str | None]) -> str | None:
    """The reason a check cannot apply here (its ``applies`` marker excludes this model or a
    version range fails), or None. A family member may carry its own marker via ``pytest.param``."""
    for marker in item.iter_markers("applies"):
        reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
        models = marker.kwargs.get("models")
        if models is not None and model not in models:
            return f"{reason} (only under {', '.join(models)})"
        for dist, spec in marker.kwargs.items():
            if dist in ("reason", "models"):
                continue
            installed = versions.get(dist)
            if installed is None or not SpecifierSet(spec).contains(installed, prereleases=True):
                return f"{reason} (needs {dist} {spec}; here {installed or 'absent'})"
    return None


_DEVIATION = pytest.StashKey[Any]()


def _expected_failure(item: pytest.Item, model: str, server: str) -> Deviation | None:
    """A project's own ``flask_expect_fail(models=..., servers=..., reason=..., raises=...)``
    marker as a deviation row, so it is a strict xfail and a footnote like the matrix's own."""
    for marker in item.iter_markers("flask_expect_fail"):
        models, servers = marker.kwargs.get("models", ()), marker.kwargs.get("servers", ())
        if (models and model not in models) or (servers and server not in servers):
            continue
        reason = marker.kwargs.get("reason") or "expected to fail under this model"
        item.add_marker(pytest.mark.xfail(reason=reason, strict=True, raises=marker.kwargs.get("raises")))
        return Deviation(item.name, (model,), tuple(marker.kwargs.get("cite", ())), {}, reason=reason)
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "flask_expect_fail(models=[...], servers=[...], reason=..., raises=..., cite=[...]): a "
        "strict xfail under those models/servers (a documented failure in the table)",
    )
    config.addinivalue_line(
        "markers",
        "applies(reason, models=[...], **ranges): the check applies only under the given models "
        "and where each version range (flask=, werkzeug=, python=, ...) holds; elsewhere its "
        "cell is n/a with the reason",
    )
    model = config.getoption("flask_model")
    if model is None:
        return
    try:
        check_model_name(model)
        config.stash[_SESSION] = MatrixSession(config)
        # SIGTERM ends the run like Ctrl-C: servers stopped, records kept (marked incomplete).
        signal.signal(signal.SIGTERM, _terminate)
    except (UnknownModel, UnknownServer, ExpectationsError) as exc:
        raise pytest.UsageError(str(exc)) from None


def _terminate(signum: int, frame: object) -> None:
    """The first SIGTERM interrupts; later ones are ignored, so that they cannot cut short the
    interrupted run's own cleanup (a driver started by a fan-out that was SIGKILLed gets its
    die-with-parent SIGTERM once per thread of the fan-out: Linux sends it on each reparenting)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signum}")


def _session(config: pytest.Config) -> MatrixSession | None:
    return config.stash.get(_SESSION, None)


def check_id(item: pytest.Item) -> str | None:
    """``test_<id>`` for check items (those using a live fixture), else None."""
    names = set(getattr(item, "fixturenames", ()))
    if not names & LIVE_FIXTURES:
        return None
    name = getattr(item, "originalname", item.name).removeprefix("test_")
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "variant" in callspec.params:
        return f"{name}.{callspec.params['variant']}"
    return name


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = _session(metafunc.config)
    if "flask_server" in metafunc.fixturenames and state is not None:
        names = list(state.servers)
        metafunc.parametrize("flask_server", names, ids=[state.cell_id(n) for n in names], scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = _session(config)
    for item in items:
        check = check_id(item)
        if check is None:
            continue
        if state is None:
            raise pytest.UsageError(
                f"{item.nodeid} runs against a live server: pass --flask-model=NAME ({', '.join(MODELS)})"
            )
        if check not in CHECKS and item.config.getoption("flask_strict_catalog"):
            raise pytest.UsageError(f"{item.nodeid}: check {check!r} is not in matrix/catalog.py")
        not_applicable = _not_applicable(item, state.model, state.versions)
        if not_applicable is not None:
            item.stash[_NOT_APPLICABLE] = not_applicable
            item.add_marker(pytest.mark.skip(reason=f"n/a: {not_applicable}"))
            continue
        server = _server_of(item)
        deviation = state.expectations.lookup(check, state.model, state.versions, server)
        deviation = deviation or _expected_failure(item, state.model, server)
        item.stash[_DEVIATION] = deviation
        if deviation is not None and not item.get_closest_marker("flask_expect_fail"):
            item.add_marker(
                pytest.mark.xfail(reason=deviation.reason, strict=True, raises=DocumentedDeviation)
            )


def _docstring(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or item.name
    return " ".join(doc.strip().split("\n\n")[0].split())


def _server_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    return str(callspec.params["flask_server"]) if callspec is not None else ""


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest, flask_server: str) -> Any:
    """The app served under ``--flask-model`` by one of its servers, in its own process group,
    once per session (pytest groups the checks by server)."""
    state = _session(request.config)
    if state is None:
        pytest.fail("live_server needs --flask-model")
    server = state.servers[flask_server]
    try:
        server.live_server()
    except ServerStartError as exc:
        pytest.exit(str(exc), returncode=3)
    yield server
    server.stop()


@pytest.fixture
def live(live_server: ServerState) -> LiveClient:
    """A client for the live server whose every call is bounded by the check's timeout."""
    try:
        server = live_server.live_server()
    except ServerStartError as exc:
        pytest.exit(str(exc), returncode=3)
    return LiveClient(server.base_url, live_server.session.timeout)


@pytest.fixture
def flask_live_url(live_server: ServerState) -> str:
    """Base URL (http://127.0.0.1:PORT) of the app served under the chosen model and server."""
    try:
        return live_server.live_server().base_url
    except ServerStartError as exc:
        pytest.exit(str(exc), returncode=3)


@pytest.fixture
def flask_model(request: pytest.FixtureRequest) -> str:
    """The concurrency model this session serves under (threads, gevent, eventlet, asgi)."""
    state = _session(request.config)
    if state is None:
        pytest.fail("flask_model needs --flask-model")
    return state.model


@pytest.fixture
def verdict(request: pytest.FixtureRequest) -> Verdict:
    """Judges the check's observation against its ideal and this cell's documented deviation."""
    item = request.node
    verdict = Verdict(check_id(item) or item.name, item.stash.get(_DEVIATION, None))
    item.stash[_VERDICT] = verdict
    return verdict


_VERDICT = pytest.StashKey[Verdict]()


def _outcome(report: pytest.TestReport, call: pytest.CallInfo[None]) -> str:  # noqa: PLR0911 - a table
    if report.when != "call":
        return "skipped" if report.skipped else "error"
    if report.passed:
        return "pass"
    if report.skipped:
        return "expected-fail" if hasattr(report, "wasxfail") else "skipped"
    if call.excinfo is None:
        return "unexpected-pass"
    if call.excinfo.errisinstance(CheckTimeout):
        return "timeout"
    if call.excinfo.errisinstance(AssertionError):
        return "fail"
    return "error"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    result = yield
    report: pytest.TestReport = result.get_result()
    state = _session(item.config)
    check = check_id(item)
    if state is None or check is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = "n/a" if _NOT_APPLICABLE in item.stash else _outcome(report, call)
        verdict = item.stash.get(_VERDICT, None)
        detail: dict[str, Any] = dict(verdict.detail) if verdict else {}
        if outcome == "n/a":
            detail["message"] = item.stash[_NOT_APPLICABLE]
        elif call.excinfo is not None and outcome != "expected-fail":
            detail["message"] = call.excinfo.exconly().splitlines()[0][:500]
        if outcome == "unexpected-pass":
            detail["message"] = "the documented deviation did not occur: the ideal holds"
        deviation = item.stash.get(_DEVIATION, None)
        server = state.servers[_server_of(item)]
        notes = state.expectations.notes_for(check, state.model, state.versions, server.name)
        server.record.checks.append(
            CheckResult(
                check=check,
                title=CHECKS.get(check) or _docstring(item),
                area=AREA_OF.get(check) or item.path.stem.removeprefix("test_"),
                outcome=outcome,
                duration=round(report.duration, 3),
                detail=detail,
                deviation=deviation.as_dict() if deviation else None,
                notes=[n.as_dict() for n in notes],
            )
        )
        if outcome == "timeout":
            server.poisoned = True  # a hung server could hang every later check: start afresh
        server.save()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _session(session.config)
    if state is None:
        return
    interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
    for server in state.servers.values():
        server.save(complete=not interrupted and not session.shouldstop)


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = _session(config)
    if state is None:
        return []
    versions = ", ".join(f"{k} {v}" for k, v in state.versions.items() if v)
    servers = ", ".join(SERVERS[s].label for s in state.servers)
    return [f"flask-context-matrix: model {state.model} ({servers}); {versions}"]
