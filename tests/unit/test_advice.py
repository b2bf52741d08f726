"""Advice is shown only while the cells it cites hold; the shipped advice file is well formed."""

from __future__ import annotations

from matrix.advice import Advice, load_advice, supported
from matrix.catalog import CHECKS
from matrix.models import MODELS, SERVERS
from matrix.records import CheckResult, Record
from matrix.report.table import build_table


def table(outcome: str) -> object:
    versions: dict[str, str | None] = {"flask": "3.1.3"}
    return build_table(
        [Record("e", "gevent", "pywsgi", versions, [CheckResult("bare_worker", "t", outcome, 0.1)])]
    )


ADVICE = Advice(
    "use copy_current_request_context",
    ({"check": "bare_worker", "model": "gevent", "outcome": "expected-fail"},),
)


def test_advice_holds_while_its_cells_do() -> None:
    """The advice is supported while the cited cell is a documented failure, stale once it passes."""
    assert supported(ADVICE, table("expected-fail"))  # type: ignore[arg-type]
    assert not supported(ADVICE, table("pass"))  # type: ignore[arg-type]


def test_shipped_advice_cites_real_checks_models_and_servers() -> None:
    """Every cited check, model and server exists, so no advice can be silently unverifiable."""
    for advice in load_advice():
        for cite in advice.cells:
            assert cite["check"] in CHECKS and cite["model"] in MODELS
            assert "server" not in cite or SERVERS[cite["server"]].model == cite["model"]
