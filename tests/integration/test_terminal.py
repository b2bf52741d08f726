"""The terminal report in a real terminal (a pty of a given size), as a person reads it: it fits,
every column is there and every server and version name is whole."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from matrix.records import read_records
from matrix.table import build_table
from tests.integration.test_html_report import record

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SERVERS = [
    ("threads", "werkzeug"),
    ("threads", "waitress"),
    ("threads", "gunicorn-gthread"),
    ("gevent", "pywsgi"),
    ("gevent", "gunicorn-gevent"),
    ("eventlet", "eventlet-wsgi"),
    ("asgi", "hypercorn-asgiref"),
    ("asgi", "uvicorn-asgiref"),
    ("asgi", "hypercorn-wsgi"),
    ("asgi", "hypercorn-a2wsgi"),
]
FLASKS = ["2.0.3", "2.1.3", "2.2.5", "2.3.3", "3.0.3", "3.1.3"]


def in_terminal(columns: int, *args: str) -> str:
    """Run ``flask-matrix ARGS`` with a pty of ``columns`` x 40 as its terminal; its output, plain."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    process = subprocess.Popen(
        [sys.executable, "-m", "matrix.cli", *args],
        cwd=ROOT,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    chunks = []
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            process.kill()
            raise AssertionError("no output for 60 s")
        try:
            data = os.read(controller, 65536)
        except OSError:  # the terminal's other end is closed: the process is done
            break
        if not data:
            break
        chunks.append(data)
    process.wait(30)
    os.close(controller)
    return ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full shape of the table: every server under every Flask version of the default axis."""
    from matrix.records import write_record

    folder = tmp_path_factory.mktemp("records")
    for index, (model, server) in enumerate(SERVERS):
        for flask in FLASKS:
            rec = record(model, server, flask, "expected-fail" if flask == "3.1.3" and index % 3 else "pass")
            rec.environment = f"flask{flask[0]}{flask[2]}-{model}"
            rec.order = ({"threads": 0, "gevent": 1, "eventlet": 2, "asgi": 3}[model], index)
            write_record(folder / f"{rec.environment}--{server}.json", rec)
    return folder


@pytest.mark.parametrize("columns", [80, 120, 200])
def test_report_fits_the_terminal_and_names_every_column(columns: int, records: Path) -> None:
    """At 80, 120 and 200 columns the report's lines fit the terminal, and every server and
    Flask version is named whole in the summary and the grid (no column squeezed to nothing)."""
    out = in_terminal(columns, "report", str(records))
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= columns
    summary, _, grid = out.partition("\n\n")
    for _, server in SERVERS:
        assert re.search(rf"^{re.escape(server)}\s", summary, re.MULTILINE), server
        assert re.search(rf"(^|\s){re.escape(server)}(\s|$)", grid.split("\n", 1)[1]), server
    for flask in FLASKS:
        assert flask in summary
    table = build_table(read_records([records]))
    assert len(table.columns) == 60
    assert "notes [n]: shown with --notes" in out


def test_report_summary_comes_first_and_counts_each_column(records: Path) -> None:
    """The first screen is the summary: per server and Flask version, checks holding and documented."""
    out = in_terminal(100, "report", str(records))
    first = out.splitlines()[:20]
    assert first[0].startswith("Flask context compatibility: 2 checks x 60 columns")
    waitress = next(line for line in first if line.startswith("waitress"))
    assert waitress.split()[1:] == ["2✓", "0✗"] * 5 + ["1✓", "1✗"]
