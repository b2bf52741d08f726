"""The HTML report in a real headless browser: cells and notes render, filters and the
two-version diff view work, a cell's detail opens; a screenshot is kept."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from matrix.outcomes import Outcome
from matrix.records import CheckResult, DeviationData, Record
from matrix.report.html import render_html
from matrix.table import build_table

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=3000",
]


@pytest.fixture(scope="module")
def browser() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (.ci/run does)")
        pytest.skip("chromium is not installed here (apt-get install chromium)")
    return CHROMIUM


def record(model: str, server: str, flask: str, teardown: Outcome) -> Record:
    versions: dict[str, str | None] = {"python": "3.11.7", "flask": flask, "werkzeug": "3.1.9"}
    deviation: DeviationData = {
        "observed": {"calls": 0},
        "reason": "WsgiToAsgi never calls close()",
        "cite": ["https://github.com/django/asgiref/pull/587"],
        "ranges": {},
        "number": 1,
    }
    return Record(
        f"flask{flask[0]}{flask[2]}-{model}",
        model,
        server,
        versions,
        [
            CheckResult(
                "isolation", "requests keep their own g", "pass", 0.4, {"in_flight": 100}, area="Isolation"
            ),
            CheckResult(
                "teardown",
                "teardown runs once",
                teardown,
                0.1,
                {"message": "teardown ran twice"} if teardown == "fail" else {},
                area="Teardown",
                deviation=deviation if teardown == "expected-fail" else None,
            ),
        ],
        complete=True,
        server_label=server,
        order={"threads": (0, 0), "gevent": (1, 3), "eventlet": (2, 5), "asgi": (3, 6)}[model],
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = build_table(
        [
            record("threads", "werkzeug", "3.0.3", "pass"),
            record("threads", "werkzeug", "3.1.3", "fail"),
            record("asgi", "hypercorn-asgiref", "3.0.3", "expected-fail"),
            record("asgi", "hypercorn-asgiref", "3.1.3", "expected-fail"),
        ]
    )
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(table))
    return path


def dom(browser: str, page: Path, fragment: str, profile: Path) -> str:
    result = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", f"{page.as_uri()}#{fragment}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert 'data-ready="1"' in result.stdout, "the report's script did not run"
    return result.stdout


def test_cells_and_notes_render(browser: str, report: Path, tmp_path: Path) -> None:
    """Every cell shows its symbol and a link to each of its notes; the notes carry reason and
    source, under the table's numbers."""
    page = dom(browser, report, "", tmp_path / "p")
    assert page.count('class="cell c-green"') == 5  # isolation x4, teardown on 3.0.3
    assert 'data-outcome="fail"' in page
    assert '<a class="n" href="#" data-note="2">[2]</a>' in page
    assert (
        '<li id="note-1"><strong>[1] </strong>Instead: calls = 0. Why: WsgiToAsgi never calls close()' in page
    )
    assert '<a href="https://github.com/django/asgiref/pull/587">' in page


def test_header_and_check_column_stay_in_view(browser: str, report: Path, tmp_path: Path) -> None:
    """The grid's header rows and its check column are sticky, as the browser computes them."""
    page = dom(browser, report, "", tmp_path / "p")
    assert 'data-sticky-header="sticky"' in page and 'data-sticky-check="sticky"' in page


def test_model_filter_hides_other_models(browser: str, report: Path, tmp_path: Path) -> None:
    """Filtering on one model hides the other model's section and columns."""
    page = dom(browser, report, "model=asgi", tmp_path / "p")
    assert '<section data-model="threads" hidden="">' in page
    assert '<section data-model="asgi">' in page


def test_diff_view_shows_only_rows_that_changed(browser: str, report: Path, tmp_path: Path) -> None:
    """Comparing Flask 3.0.3 with 3.1.3 keeps only threads' teardown row (pass -> fail)."""
    page = dom(browser, report, "diff=3.0.3,3.1.3", tmp_path / "p")
    assert page.count('<tr data-check="isolation" hidden="">') == 2
    assert page.count('<tr data-check="teardown" hidden="">') == 1  # asgi: documented both times
    assert page.count('<tr data-check="teardown">') == 1


def test_search_keeps_the_rows_whose_check_or_notes_match(browser: str, report: Path, tmp_path: Path) -> None:
    """Searching a word of a note keeps the rows with a cell carrying that note, and only them."""
    page = dom(browser, report, "q=WsgiToAsgi", tmp_path / "p")
    assert page.count('<tr data-check="isolation" hidden="">') == 2
    assert page.count('<tr data-check="teardown">') == 1  # asgi's, whose note names WsgiToAsgi
    assert 'value="WsgiToAsgi"' in page or "WsgiToAsgi" in page


def test_a_note_opens_beside_its_cell(browser: str, report: Path, tmp_path: Path) -> None:
    """note=N|CHECK|COLUMN (what a click on [n] keeps in the address) opens that note by the cell."""
    page = dom(browser, report, "note=1|teardown|flask31-asgi/hypercorn-asgiref", tmp_path / "p")
    popover = page[page.index('<div id="popover"') :]
    assert popover.startswith('<div id="popover" data-note="1" style="left: ')  # shown (not hidden), placed
    assert "WsgiToAsgi never calls close()" in popover[:600]


def test_your_stack_lists_what_does_not_hold_first(browser: str, report: Path, tmp_path: Path) -> None:
    """Picking a server and a Flask version shows that stack: the documented deviation first,
    with what happens instead, then what holds."""
    page = dom(browser, report, "stack=hypercorn-asgiref,3.1.3", tmp_path / "p")
    stack = page[page.index('<div id="stack">') :]
    assert stack.index("Does not hold here") < stack.index("Holds (1)")
    assert "Instead: calls = 0." in stack[: stack.index("Holds (1)")]


def test_cell_detail_opens_for_a_reader(browser: str, report: Path, tmp_path: Path) -> None:
    """A cell's detail shows its outcome, message and the column's exact versions, the raw JSON
    behind a toggle."""
    page = dom(browser, report, "cell=teardown|flask31-threads/werkzeug", tmp_path / "p")
    assert '<div id="detail">' in page
    assert "teardown · threads / werkzeug · flask 3.1.3 · fail" in page and "teardown ran twice" in page
    assert "python 3.11.7, flask 3.1.3, werkzeug 3.1.9" in page
    assert "<summary>raw detail (JSON)</summary>" in page


def test_the_whole_table_is_under_a_megabyte() -> None:
    """The committed table (every server x every default Flask version x every check) renders to
    a page under 1 MB."""
    import json

    from matrix.axis import load_axis
    from matrix.launch.servers import SERVERS
    from matrix.table import table_from_json

    table = table_from_json(json.loads((ROOT / "compatibility.json").read_text()), "compatibility.json")
    assert len(table.columns) == len(SERVERS) * len(load_axis().default)
    assert len(render_html(table).encode()) < 1_000_000


def test_screenshot(browser: str, report: Path, tmp_path: Path) -> None:
    """The browser renders the report to a PNG (kept as a test artifact)."""
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'p'}",
            "--window-size=1200,900",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
