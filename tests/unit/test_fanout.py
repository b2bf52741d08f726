"""How flask-matrix checks deals a model's columns over pytest processes."""

from __future__ import annotations

import pytest

from matrix.fanout import column_command, default_jobs, split_columns

ASGI = ["hypercorn-asgiref", "uvicorn-asgiref", "hypercorn-wsgi", "hypercorn-a2wsgi"]


@pytest.mark.parametrize(
    ("processes", "groups"),
    [
        (1, [ASGI]),
        (2, [["hypercorn-asgiref", "hypercorn-wsgi"], ["uvicorn-asgiref", "hypercorn-a2wsgi"]]),
        (4, [[server] for server in ASGI]),
        (9, [[server] for server in ASGI]),
    ],
)
def test_split_columns_deals_round_robin(processes: int, groups: list[list[str]]) -> None:
    """Servers are dealt in registry order, never more groups than servers, none empty."""
    assert split_columns(ASGI, processes) == groups


def test_every_server_lands_in_exactly_one_group() -> None:
    """No column is run twice or dropped, whatever the number of processes."""
    for processes in range(1, 7):
        dealt = [server for group in split_columns(ASGI, processes) for server in group]
        assert sorted(dealt) == sorted(ASGI)


def test_default_jobs_is_half_the_columns_rounded_up() -> None:
    """Two columns per process: 1 server -> 1, 3 -> 2, 4 -> 2."""
    assert [default_jobs(ASGI[:n]) for n in (1, 2, 3, 4)] == [1, 1, 2, 2]


def test_column_command_selects_model_and_servers_after_the_given_arguments() -> None:
    """The pytest arguments pass through; model and servers are appended once."""
    command = column_command("asgi", ["hypercorn-wsgi", "hypercorn-a2wsgi"], ["tests/checks", "-q"])
    assert command[1:3] == ["-m", "matrix.fanout"]
    assert command[-4:] == [
        "tests/checks",
        "-q",
        "--flask-model=asgi",
        "--flask-server=hypercorn-wsgi,hypercorn-a2wsgi",
    ]


def test_checks_without_pytest_arguments_runs_the_check_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    """`flask-matrix checks --model M` with nothing after it runs tests/checks (strict catalog),
    not whatever pytest's own configuration would collect (the project's unit tests)."""
    import matrix.fanout
    from matrix.cli import main

    seen: list[list[str]] = []

    def run_columns(model: str, servers: list[str], args: list[str], jobs: int) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(matrix.fanout, "run_columns", run_columns)
    assert main(["checks", "--model", "threads"]) == 0
    (args,) = seen
    assert args[0].endswith("tests/checks") and "--flask-strict-catalog" in args
