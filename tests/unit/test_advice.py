"""Advice is shown only while the cells it cites hold; the shipped advice file is well formed."""

from __future__ import annotations

from matrix.catalog import load_catalog
from matrix.launch.servers import SERVERS
from matrix.outcomes import Outcome
from matrix.records import CheckResult, Record
from matrix.report.advice import Advice, CitedCell, cell_refs, load_advice, supported
from matrix.scope import Scope
from matrix.table import Table, build_table
from matrix.versions import VersionRange


def table(outcome: Outcome, flask: str = "3.1.3") -> Table:
    versions: dict[str, str | None] = {"flask": flask}
    return build_table(
        [Record("e", "gevent", "pywsgi", versions, [CheckResult("bare_worker", "t", outcome, 0.1)])]
    )


ADVICE = Advice(
    "use copy_current_request_context",
    (CitedCell("bare_worker", Scope(("gevent",)), "expected-fail"),),
)


def test_advice_holds_while_its_cells_do() -> None:
    """The advice is supported while the cited cell is a documented failure, stale once it passes."""
    assert supported(ADVICE, table("expected-fail"))
    assert not supported(ADVICE, table("pass"))


def test_flask_range_of_a_cited_cell_counts_a_pre_release_as_its_release() -> None:
    """A cell cited for Flask >=3.2 matches a 3.2.0.dev0 column (the applicability engine's rule)."""
    cited = CitedCell("bare_worker", Scope(("gevent",), (), {"flask": VersionRange.parse(">=3.2")}), "pass")
    advice = Advice("x", (cited,))
    assert supported(advice, table("pass", "3.2.0.dev0"))
    assert not supported(advice, table("pass", "3.1.3"))  # no matching column: unsupported
    assert cell_refs(advice) == "`bare_worker` @ gevent (Flask >=3.2): pass"


def test_shipped_advice_cites_real_checks_models_and_servers() -> None:
    """Every cited check, model and server exists, so no advice can be silently unverifiable."""
    checks = load_catalog().checks
    for advice in load_advice():
        for cited in advice.cells:
            (model,) = cited.scope.models
            assert cited.check in checks
            assert all(SERVERS[server].model == model for server in cited.scope.servers)
