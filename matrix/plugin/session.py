"""The plugin's session object: registered with pytest's plugin manager when a model is chosen,
its hooks are methods, its state is its attributes.

Collection decides each check's cell up front (``CellPlan``: which check, which server, n/a and
why, the documented deviation that applies); the report hook turns each outcome into a
``CheckResult`` of that server's record; the session's end marks the records complete.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _pytest.outcomes import Exit

from matrix.catalog import CatalogError, Deviation, load_catalog, load_expectations
from matrix.client import CheckTimeout
from matrix.datafile import DataFileError, read_toml
from matrix.launch.parent import LiveServer, ServerStartError, serve_in_subprocess
from matrix.launch.servers import SERVERS, UnknownServer, check_installed, check_server_names, default_server
from matrix.models import MODELS
from matrix.outcomes import OUTCOMES, Outcome
from matrix.plugin.clients import AtOnce, NotLive, SocketProxy
from matrix.plugin.verdict import DocumentedDeviation, Verdict
from matrix.records import CheckResult, Record, write_record
from matrix.scope import Scope
from matrix.versions import EVERY_COLUMN, RangeError, VersionRange, installed_versions

BAD_INPUT, SERVER_FAILED = 2, 3
"""The session's exit codes when it cannot start: an unusable option or row, or a server that will
not start (as flask-matrix's own commands exit on bad input)."""


class StartupFailure(Exit):
    """Ends the session with one line, ``flask-matrix: ...``, and its exit code.

    pytest prints an ``Exit`` as ``module.Class: message``; a class that says it is a builtin is
    printed by its name alone, which here is the tool's."""

    __module__ = "builtins"
    __qualname__ = "flask-matrix"

    def __init__(self, message: str, returncode: int = BAD_INPUT) -> None:
        super().__init__(message, returncode)


StartupFailure.__name__ = StartupFailure.__qualname__  # what pytest prints before the session runs


OWN_APP = "apps:create_app"
"""The matrix's own app set: it measures overlap with its own gates, so it is served bare."""
LIVE_FIXTURES = {
    "live",
    "verdict",
    "flask_column",
    "flask_server",
    "flask_live_url",
    "flask_live_client",
    "flask_live_clients",
    "flask_at_once",
}
"""A test asking for one of these is a check: it runs against a live server and fills a cell."""
MESSAGE_SHOWN = 500
"""Characters of a failure's first line kept in the cell's detail."""
TEST_CLIENT_FIXTURES = {"flask_server", "flask_column", "flask_live_test_client"}
"""What ``--flask-live-test-client`` adds to every test; a test asking for nothing more is live
only through ``app.test_client()``."""


@dataclass(frozen=True)
class CellPlan:
    """What collection decided for one check item."""

    check: str
    server: str
    not_applicable: str | None
    deviation: Deviation | None


PLAN = pytest.StashKey[CellPlan]()
VERDICT = pytest.StashKey[Verdict]()
LOG_START = pytest.StashKey[int]()
"""Where the column's server log stood when the test began."""
PROXIES = pytest.StashKey[list[SocketProxy]]()
"""The socket proxies the test's live clients sent through (they count its live requests)."""
AT_ONCE = pytest.StashKey[AtOnce]()
"""The test's ``flask_at_once`` helper, whose peaks of requests in flight go into its cell."""
UNSENT = pytest.StashKey[list[str]]()
"""The test app's config keys that could not travel to the server process (not JSON)."""
TEST_CLIENT_ONLY = pytest.StashKey[bool]()
"""The test is live only through ``--flask-live-test-client`` (it asks for no live fixture)."""
NO_LIVE_REQUEST = (
    "it ran in this process only: it sent no request to the live server, so it says nothing about the server"
)
ALARM_AFTER = 1.0
"""Seconds past the check timeout at which a still-running test is interrupted."""
SERVER_LOG_KEPT = 20
"""Lines of the server's log, written while a red check ran, kept in its cell's detail."""


def app_config(pairs: list[str] | None, file: Path | None) -> dict[str, Any]:
    """The server's app config: a TOML or JSON file's table, then ``KEY=VALUE`` options (a value
    that reads as JSON is that value, ``TESTING=true``; anything else is a string)."""
    config: dict[str, Any] = {}
    if file is not None:
        try:
            config.update(
                read_toml(file) if file.suffix == ".toml" else json.loads(file.read_text(encoding="utf-8"))
            )
        except (DataFileError, OSError, ValueError) as exc:
            raise StartupFailure(f"--flask-app-config-file {file}: {exc}") from None
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise StartupFailure(f"--flask-app-config takes KEY=VALUE, not {pair!r}")
        try:
            config[key] = json.loads(value)
        except ValueError:
            config[key] = value
    return config


def check_id(item: pytest.Item, server_id: str = "") -> str | None:
    """``test_<id>`` for check items (those using a live fixture), else None. The matrix's family
    checks add ``.<variant>``; a user's test parametrized otherwise keeps its parameters' id,
    without the server's (``test_login[a-b]`` is the row ``login[a-b]`` in every column)."""
    if not set(getattr(item, "fixturenames", ())) & LIVE_FIXTURES:
        return None
    name = getattr(item, "originalname", item.name).removeprefix("test_")
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return name
    if "variant" in callspec.params:
        return f"{name}.{callspec.params['variant']}"
    own = callspec.id
    if server_id:
        own = own.replace(f"-{server_id}", "", 1).replace(f"{server_id}-", "", 1).replace(server_id, "", 1)
    return f"{name}[{own}]" if own else name


def _server_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    return str(callspec.params["flask_server"]) if callspec is not None else ""


def _live_detail(item: pytest.Item) -> dict[str, Any]:
    """What the test's live clients did: requests sent, and the lowest peak of requests in flight
    among its ``flask_at_once`` calls (a pass with no overlap is marked in the table)."""
    detail: dict[str, Any] = {}
    proxies = item.stash.get(PROXIES, [])
    test_client_only: bool = item.stash.get(TEST_CLIENT_ONLY, False)
    if proxies or test_client_only:
        detail["live_requests"] = sum(p.requests for p in proxies)
    if UNSENT in item.stash:
        detail["config_not_sent"] = item.stash[UNSENT]
    at_once = item.stash.get(AT_ONCE, None)
    if at_once is not None and at_once.peaks:
        detail["in_flight"] = min(at_once.peaks)
        detail["overlap"] = detail["in_flight"] > 1
    return detail


def _docstring(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or item.name
    return " ".join(doc.strip().split("\n\n")[0].split())


def _outcome(report: pytest.TestReport, call: pytest.CallInfo[None]) -> Outcome:  # noqa: PLR0911 - a table
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


class Column:
    """One server of the session's model: its record, and its process (started when first
    needed, restarted after a timeout, stopped when pytest moves on to the next server)."""

    def __init__(self, session: MatrixSession, server: str) -> None:
        self.session = session
        self.name = server
        info = SERVERS[server]
        runtimes = dict.fromkeys([*EVERY_COLUMN, *MODELS[session.model].distributions, *info.distributions])
        model = MODELS[session.model]
        self.record = Record(
            session.environment,
            session.model,
            server,
            session.versions,
            server_label=info.label,
            order=(list(MODELS).index(session.model), list(SERVERS).index(server)),
            runtimes=list(runtimes),
            model_note={"text": model.note, "cite": list(model.cite), "number": 0} if model.note else None,
            catalog_notes=len(session.expectations),
        )
        self.live: LiveServer | None = None
        self.live_config: dict[str, Any] = {}
        self.poisoned = False
        self.starts = 0

    def running(self, config: dict[str, Any] | None = None) -> LiveServer:
        """The live server, serving the session's app config updated with ``config``: started, or
        restarted if it died, a check timed out or it serves another config (a server per
        distinct config); raises ``ServerStartError`` when it will not start."""
        wanted = {**self.session.app_config, **(config or {})}
        if self.live is not None and (self.poisoned or not self.live.alive() or wanted != self.live_config):
            self.live.stop()
            self.live = None
        if self.live is None:
            try:
                self.live = self._start(wanted)
            except ServerStartError:
                # A start that fails once (seen: a gunicorn gevent worker that booted and then
                # answered nothing for the whole bound, once in ten loaded matrix runs; a restart
                # after a restarts_server check) gets one more try, both attempts in the server's
                # log (appended); a second failure ends the session with its one line, as before.
                self.live = self._start(wanted)
            self.live_config = wanted
            self.starts += 1
            self.record.calibration = self.live.calibration
            self.poisoned = False
        return self.live

    def _start(self, config: dict[str, Any]) -> LiveServer:
        return serve_in_subprocess(
            self.session.model,
            self.session.app,
            self.log,
            server=self.name,
            calibration_timeout=self.session.timeout,
            config=config,
            setup=self.session.app_setup,
            in_flight=self.session.app != OWN_APP,
        )

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()

    @property
    def log(self) -> Path:
        return self.session.logs / f"{self.session.environment}--{self.name}.log"

    def log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> list[str]:
        """The lines the server wrote to its log after ``offset``."""
        try:
            with open(self.log, "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace").splitlines()
        except OSError:
            return []

    def save(self, complete: bool = False) -> None:
        self.record.complete = complete
        path = self.session.record_path(self.name)
        if path is not None:
            write_record(path, self.record)


class MatrixSession:
    """The session's model, its columns (one per server), the catalog and the installed versions."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.model: str = config.getoption("flask_model")
        self.app: str = config.getoption("flask_app")
        self.timeout: float = config.getoption("flask_check_timeout")
        self.logs: Path = config.getoption("flask_logs")
        self.strict_catalog: bool = config.getoption("flask_strict_catalog")
        self.app_config = app_config(
            config.getoption("flask_app_config"), config.getoption("flask_app_config_file")
        )
        self.app_setup: str | None = config.getoption("flask_app_setup")
        self.live_test_client: bool = config.getoption("flask_live_test_client")
        self.catalog = load_catalog()
        expectations: Path | None = config.getoption("flask_expectations")
        self.expectations = (
            self.catalog.expectations
            if expectations is None
            else load_expectations(expectations, self.catalog)
        )
        self.versions = installed_versions()
        self.environment: str = config.getoption("flask_environment") or self.model
        names = check_server_names(self.model, config.getoption("flask_server") or default_server(self.model))
        check_installed(self.model, names, self.versions)
        self._record_file: Path | None = config.getoption("flask_record")
        self._record_dir: Path | None = config.getoption("flask_records")
        if self._record_file is not None and len(names) > 1:
            raise UnknownServer("--flask-record takes one server; use --flask-records DIR for several")
        self.columns = {name: Column(self, name) for name in names}

    def record_path(self, server: str) -> Path | None:
        if self._record_file is not None:
            return self._record_file
        if self._record_dir is not None:
            return self._record_dir / f"{self.environment}--{server}.json"
        return None

    def cell_id(self, server: str) -> str:
        flask = self.versions.get("flask") or "?"
        return f"flask{'.'.join(flask.split('.')[:2])}-{self.model}-{server}"

    # -- collection: every check's cell is decided before anything runs

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "flask_server" in metafunc.fixturenames:
            names = list(self.columns)
            metafunc.parametrize("flask_server", names, ids=[self.cell_id(n) for n in names], scope="session")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self._plan_items(items)
        for column in self.columns.values():
            planned = [i for i in items if PLAN in i.stash and i.stash[PLAN].server == column.name]
            column.record.planned = len(planned)
            column.save()  # the total, for a fan-out showing progress, before the first check

    def _plan_items(self, items: list[pytest.Item]) -> None:
        for item in items:
            check = check_id(item, self.cell_id(_server_of(item)))
            if check is None:
                continue
            if self.live_test_client:
                asked = set(getattr(item, "fixturenames", ()))
                item.stash[TEST_CLIENT_ONLY] = not asked & (LIVE_FIXTURES - TEST_CLIENT_FIXTURES)
            if check not in self.catalog.checks and self.strict_catalog:
                raise StartupFailure(f"{item.nodeid}: check {check!r} is not in the catalog (matrix/areas/)")
            server = _server_of(item)
            plan = self._plan(item, check, server)
            item.stash[PLAN] = plan
            if plan.not_applicable is not None:
                item.add_marker(pytest.mark.skip(reason=f"n/a: {plan.not_applicable}"))
            elif plan.deviation is not None and not item.get_closest_marker("flask_expect_fail"):
                item.add_marker(
                    pytest.mark.xfail(reason=plan.deviation.reason, strict=True, raises=DocumentedDeviation)
                )

    def _plan(self, item: pytest.Item, check: str, server: str) -> CellPlan:
        not_applicable = self._not_applicable(item, server)
        if not_applicable is not None:
            return CellPlan(check, server, not_applicable, None)
        try:
            deviation = self.expectations.lookup(check, self.model, server, self.versions)
        except CatalogError as exc:
            raise StartupFailure(f"{item.nodeid}: {exc}") from None
        return CellPlan(check, server, None, deviation or self._expected_failure(item, check, server))

    def _not_applicable(self, item: pytest.Item, server: str) -> str | None:
        """Why the check cannot apply here (an ``applies`` marker's scope excludes this cell), or
        None. A family member may carry its own marker via ``pytest.param``."""
        for marker in item.iter_markers("applies"):
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            try:
                ranges = {
                    dist: VersionRange.parse(str(spec))
                    for dist, spec in marker.kwargs.items()
                    if dist not in ("reason", "models")
                }
            except RangeError as exc:
                raise StartupFailure(f"{item.nodeid}: applies marker: {exc}") from None
            why = Scope(tuple(marker.kwargs.get("models") or ()), (), ranges).why_not(
                self.model, server, self.versions
            )
            if why is not None:
                return f"{reason} ({why})"
        return None

    def _expected_failure(self, item: pytest.Item, check: str, server: str) -> Deviation | None:
        """A project's own ``flask_expect_fail(models=..., servers=..., reason=..., raises=...)``
        marker as a deviation row, so it is a strict xfail and a footnote like the matrix's own."""
        for marker in item.iter_markers("flask_expect_fail"):
            scope = Scope(tuple(marker.kwargs.get("models", ())), tuple(marker.kwargs.get("servers", ())))
            if not scope.holds(self.model, server, self.versions):
                continue
            reason = marker.kwargs.get("reason") or "expected to fail under this model"
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True, raises=marker.kwargs.get("raises")))
            return Deviation(
                check, Scope((self.model,)), tuple(marker.kwargs.get("cite", ())), {}, reason
            )  # unnumbered
        return None

    # -- running: each outcome becomes its column's CheckResult, saved at once

    def verdict_for(self, item: pytest.Item) -> Verdict:
        """The ``verdict`` fixture's object for a check item (collection planned its cell)."""
        plan = item.stash[PLAN]
        concurrent = plan.check in self.catalog.concurrent
        verdict = item.stash[VERDICT] = Verdict(plan.check, plan.deviation, concurrent)
        return verdict

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        plan = item.stash.get(PLAN, None)
        if plan is not None and (report.when == "call" or (report.when == "setup" and not report.passed)):
            self._record(item, call, report, plan)
        return report

    def _record(
        self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, plan: CellPlan
    ) -> None:
        outcome: Outcome = "n/a" if plan.not_applicable is not None else _outcome(report, call)
        verdict = item.stash.get(VERDICT, None)
        detail: dict[str, Any] = dict(verdict.detail) if verdict else {}
        detail.update(_live_detail(item))
        not_applicable = plan.not_applicable
        if call.excinfo is not None and call.excinfo.errisinstance(NotLive):
            not_applicable = str(call.excinfo.value).removeprefix("n/a: ")
        elif outcome == "pass" and item.stash.get(TEST_CLIENT_ONLY, False) and not detail["live_requests"]:
            not_applicable = NO_LIVE_REQUEST
        if not_applicable is not None:
            outcome = "n/a"
            detail["message"] = not_applicable
        elif call.excinfo is not None and outcome != "expected-fail":
            detail["message"] = call.excinfo.exconly().splitlines()[0][:MESSAGE_SHOWN]
        if outcome == "unexpected-pass":
            detail["message"] = "the documented deviation did not occur: the ideal holds"
        column = self.columns[plan.server]
        row = self.catalog.checks.get(plan.check)
        column.record.checks.append(
            CheckResult(
                check=plan.check,
                title=row.title if row else _docstring(item),
                area=row.area if row else item.path.stem.removeprefix("test_"),
                order=row.order if row else None,
                outcome=outcome,
                duration=round(report.duration, 3),
                detail=detail,
                deviation=plan.deviation.as_data() if plan.deviation else None,
                notes=[
                    n.as_data()
                    for n in self.expectations.notes_for(plan.check, self.model, column.name, self.versions)
                ],
            )
        )
        if OUTCOMES[outcome].red:
            written = column.log_since(item.stash.get(LOG_START, 0))
            if written:
                detail["server_log"] = written[-SERVER_LOG_KEPT:]
                report.sections.append(("server log while it ran", "\n".join(written)))
        if outcome == "timeout" or item.get_closest_marker("restarts_server"):
            # A hung server could hang every later check, and a check marked so may leave state
            # of its own on a worker: either way the next check gets a fresh server.
            column.poisoned = True
        column.save()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """Bound every live test, whatever fixture it uses, by the check timeout: a hang becomes a
        timeout cell (and the server is restarted), not a stuck run. The app's own ``live`` client
        times out first; the alarm, a moment later, catches a test's own blocking call."""
        plan = item.stash.get(PLAN, None)
        if plan is None or threading.current_thread() is not threading.main_thread():
            return (yield)
        item.stash[LOG_START] = self.columns[plan.server].log_size()
        bound = self.timeout + ALARM_AFTER

        def alarm(signum: int, frame: object) -> None:
            raise CheckTimeout(f"the test exceeded its {self.timeout:g} s bound")

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, bound)
        try:
            return (yield)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
        for column in self.columns.values():
            column.save(complete=not interrupted and not session.shouldstop)

    def pytest_report_header(self) -> list[str]:
        versions = ", ".join(f"{k} {v}" for k, v in self.versions.items() if v)
        servers = ", ".join(SERVERS[s].label for s in self.columns)
        return [f"flask-context-matrix: model {self.model} ({servers}); {versions}"]


class LiveTestsNeedAModel:
    """Registered instead of the session when no model is chosen: the plugin is inert, and a live
    test is skipped with the one reason, so a plain ``pytest`` of a tree that holds them still runs
    the rest."""

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        reason = f"runs against a live server: pass --flask-model=NAME ({', '.join(MODELS)})"
        for item in items:
            if check_id(item) is not None:
                item.add_marker(pytest.mark.skip(reason=reason))
