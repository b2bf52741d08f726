"""``flask-matrix``: thin argument parsing over the harness. Exit 0 ok, 1 red cells, 2 bad input."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from matrix import __version__
from matrix.axis import FlaskSpecError, load_axis, parse_flask_spec, parse_with
from matrix.diff import Change, DiffError, diff_tables, render_diff_markdown, render_diff_terminal
from matrix.files import write_atomically, write_output
from matrix.launch.servers import SERVERS, UnknownServer, check_server_names, servers_of
from matrix.models import MODELS, UnknownModel, check_model_name
from matrix.records import RecordError, read_records, write_record
from matrix.report.jsonfile import render_json, same_table
from matrix.report.markdown import render_markdown
from matrix.report.terminal import render_terminal
from matrix.runner import RunError, check_environments, project_root, run_matrix
from matrix.table import Table, TableError, build_table, table_from_json

DEFAULT_OUTPUT = {"markdown": "COMPATIBILITY.md", "json": "compatibility.json", "html": "compatibility.html"}


class UsageFailure(Exception):
    """Bad input: printed as one line, exit 2."""


def cmd_report(args: argparse.Namespace) -> int:
    try:
        records = read_records(args.records)
    except RecordError as exc:
        raise UsageFailure(str(exc)) from None
    return _report(build_table(records), args)


def _report(table: Table, args: argparse.Namespace) -> int:
    # Render everything before writing anything, so a failure leaves the old files intact.
    outputs = []
    fmt = getattr(args, "format", None)
    if fmt:  # --format X [--output PATH]: the same renderers under their usual file names
        setattr(args, fmt, args.output or Path(DEFAULT_OUTPUT[fmt]))
    if args.markdown:
        from matrix.report.advice import load_advice

        outputs.append((args.markdown, render_markdown(table, load_advice())))
    if args.json:
        text = render_json(table)
        if _same_table_file(args.json, text):
            print(f"{args.json}: no cell, version or note changed; left as it is", file=sys.stderr)
        else:
            outputs.append((args.json, text))
    if getattr(args, "html", None):
        from matrix.report.html import render_html

        outputs.append((args.html, render_html(table)))
    for path, text in outputs:
        write_output(path, text)
    # Standard output belongs to a file written there; the table for people then goes to stderr.
    console = sys.stderr if any(str(path) == "-" for path, _ in outputs) else sys.stdout
    color = console.isatty() and "NO_COLOR" not in os.environ
    console.write(render_terminal(table, width=_width(args.width), color=color, notes=args.notes))
    incomplete = [c.environment for c in table.columns if not c.complete]
    if incomplete:
        print(f"incomplete environments (interrupted runs): {', '.join(incomplete)}", file=console)
    red = table.red
    if red:
        print(f"{len(red)} red cell(s): " + ", ".join(f"{c}@{e}" for c, e in red), file=console)
    return 1 if red or incomplete else 0


def _same_table_file(path: Path, text: str) -> bool:
    """Whether ``path`` already holds this table (only its cells' details differ): rewriting it
    would change nothing a reader of the table sees, so a regeneration on another day leaves the
    committed file as it is."""
    if str(path) == "-" or not path.is_file():
        return False
    try:
        return same_table(path.read_text(encoding="utf-8"), text)
    except (OSError, UnicodeDecodeError):
        return False


MIN_WIDTH = 40
"""The narrowest terminal the report is laid out for."""


def console_width() -> int:
    """The console's width: ``COLUMNS``, else standard output's terminal, else the controlling
    terminal (tox pipes a command's output, but the person reading it sits at that terminal),
    else 120."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        pass
    try:
        with open("/dev/tty") as tty:
            return os.get_terminal_size(tty.fileno()).columns
    except OSError:
        return shutil.get_terminal_size((120, 24)).columns


def _width(asked: int | None) -> int:
    """The width asked for, else the console's."""
    if asked is None:
        return max(MIN_WIDTH, console_width())
    if asked < MIN_WIDTH:
        raise UsageFailure(f"--width must be at least {MIN_WIDTH}, not {asked}")
    return asked


def cmd_show(args: argparse.Namespace) -> int:
    """One check across every column, or every check on one stack, from the table."""
    from matrix.report.show import Query, QueryError, render_show

    if args.table is not None:
        table = load_side(args.table)
    else:
        try:
            committed = project_root() / DEFAULT_OUTPUT["json"]
        except RunError:
            raise UsageFailure(
                "no committed table here: pass --table compatibility.json or records"
            ) from None
        table = load_side(committed)
    query = Query(tuple(args.checks), args.model, args.server, args.flask)
    try:
        sys.stdout.write(render_show(table, query, width=_width(args.width)))
    except QueryError as exc:
        raise UsageFailure(str(exc)) from None
    return 0


def _table_file(data: Any, where: str) -> Table:
    try:
        return table_from_json(data, where)
    except TableError as exc:
        raise UsageFailure(str(exc)) from None


def load_side(path: Path) -> Table:
    """One side of a diff: a compatibility.json, or records (files or folders)."""
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageFailure(f"{path}: not readable JSON ({exc})") from None
        if isinstance(data, dict) and str(data.get("schema", "")).startswith(
            "flask-context-matrix/compatibility/"
        ):
            return _table_file(data, str(path))
    try:
        return build_table(read_records([path]))
    except RecordError as exc:
        raise UsageFailure(str(exc)) from None


def _print_diff(old: Table, new: Table, labels: tuple[str, str], markdown: Path | None) -> list[Change]:
    try:
        changes = diff_tables(old, new)
    except DiffError as exc:
        raise UsageFailure(f"cannot compare {labels[0]} and {labels[1]}: {exc}") from None
    sys.stdout.write(render_diff_terminal(changes))
    if markdown:
        write_output(markdown, render_diff_markdown(changes, *labels))
    return changes


def cmd_diff(args: argparse.Namespace) -> int:
    old, new = load_side(args.old), load_side(args.new)
    changes = _print_diff(old, new, (str(args.old), str(args.new)), args.markdown)
    if args.gate and changes:
        print(
            f"{len(changes)} cell(s) changed without the baseline {args.old} being updated. If the "
            f"change is intended, run `tox` and commit COMPATIBILITY.md and compatibility.json "
            f"in the same commit."
        )
        return 1
    return upgrade_verdict(changes, args.accept_documented)


def cmd_gate(args: argparse.Namespace) -> int:
    """The regression gate: the regenerated table against the one committed at ``--baseline-ref``."""
    import subprocess

    try:
        root = project_root()
    except RunError as exc:
        raise UsageFailure(str(exc)) from None
    if not args.table.resolve().is_relative_to(root):
        raise UsageFailure(
            f"{args.table} is not inside the checkout {root}: the baseline is its committed copy"
        )
    shown = subprocess.run(
        ["git", "show", f"{args.baseline_ref}:{args.table.resolve().relative_to(root)}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        raise UsageFailure(f"no baseline at {args.baseline_ref}: {shown.stderr.strip()}")
    try:
        baseline = _table_file(json.loads(shown.stdout), f"baseline at {args.baseline_ref}")
    except json.JSONDecodeError as exc:
        raise UsageFailure(f"baseline at {args.baseline_ref} is not JSON: {exc}") from None
    changes = _print_diff(baseline, load_side(args.table), (args.baseline_ref, "this run"), None)
    if changes:
        print(
            f"gate: {len(changes)} cell(s) changed against the baseline committed at "
            f"{args.baseline_ref}. If intended, run `tox` and commit COMPATIBILITY.md and "
            f"compatibility.json with the change that caused it."
        )
        return 1
    print(f"gate: the table matches the baseline committed at {args.baseline_ref}")
    return 0


def _models(text: str) -> list[str]:
    try:
        return [check_model_name(m.strip()) for m in text.split(",") if m.strip()]
    except UnknownModel as exc:
        raise UsageFailure(str(exc)) from None


def _spec(text: str) -> Any:
    try:
        return parse_flask_spec(text)
    except FlaskSpecError as exc:
        raise UsageFailure(str(exc)) from None


def newest_flask() -> str:
    """The axis's newest Flask: what --package and --with run against when --flask is not given."""
    return load_axis().default[-1]


def _with(args: argparse.Namespace) -> tuple[str, ...]:
    try:
        return parse_with(args.with_ or [])
    except FlaskSpecError as exc:
        raise UsageFailure(str(exc)) from None


def cmd_run(args: argparse.Namespace) -> int:
    spec, models, extra = _spec(args.flask or newest_flask()), _models(args.models), _with(args)
    try:
        records = run_matrix(spec, models, project_root(), servers=args.servers, extra=extra)
    except RunError as exc:
        raise UsageFailure(str(exc)) from None
    args.records = [records]
    return cmd_report(args)


def _upgrade_sides(args: argparse.Namespace) -> list[tuple[Any, tuple[str, ...], str]]:
    """Both sides of an upgrade-check: (Flask spec, --with requirements, label). With --package,
    FROM and TO are versions of that distribution under one Flask (--flask, else the newest)."""
    extra = _with(args)
    if not args.package:
        return [(_spec(side), extra, f"Flask {_spec(side).label}") for side in (args.old, args.new)]
    spec = _spec(args.flask or newest_flask())
    sides = []
    for version in (args.old, args.new):
        try:
            Version(version)
        except InvalidVersion:
            raise UsageFailure(f"--package {args.package}: {version!r} is not a version") from None
        pinned = _with(argparse.Namespace(with_=[f"{args.package}=={version}"]))
        if any(r.split("==")[0].lower() == args.package.lower() for r in extra):
            raise UsageFailure(f"--with names {args.package}, the package being upgraded")
        sides.append((spec, (*extra, *pinned), f"{args.package} {version}"))
    return sides


def cmd_upgrade_check(args: argparse.Namespace) -> int:
    (old_spec, old_extra, old_label), (new_spec, new_extra, new_label) = _upgrade_sides(args)
    models = _models(args.models)
    try:
        root = project_root()
        old_records = run_matrix(old_spec, models, root, "from", args.servers, old_extra)
        new_records = run_matrix(new_spec, models, root, "to", args.servers, new_extra)
    except RunError as exc:
        raise UsageFailure(str(exc)) from None
    print(f"== {old_label} -> {new_label} ==")
    changes = _print_diff(
        load_side(old_records), load_side(new_records), (old_label, new_label), args.markdown
    )
    return upgrade_verdict(changes, args.accept_documented)


def upgrade_verdict(changes: list[Change], accept_documented: bool) -> int:
    """Exit 1 on a regression, and on a lost behaviour unless the upgrader accepted documented ones."""
    lost = [c for c in changes if c.kind == "lost"]
    if lost and not accept_documented:
        print(
            f"{len(lost)} behaviour(s) lost in the upgrade (✓ before, a documented deviation after): "
            f"read their notes above; --accept-documented accepts them"
        )
        return 1
    return 1 if any(c.kind == "regression" for c in changes) else 0


def cmd_merge(args: argparse.Namespace) -> int:
    """Records from many machines (folders or files) -> one table, flaky cells marked."""
    from matrix.merge import MergeError, merge_records

    try:
        merged = merge_records(read_records(args.records))
    except (RecordError, MergeError) as exc:
        raise UsageFailure(str(exc)) from None
    if args.into:
        for record in merged:
            write_record(args.into / f"{record.environment}--{record.server}.json", record)
    return _report(build_table(merged), args)


def cmd_ci_github(args: argparse.Namespace) -> int:
    """Write (or with --check, verify) the GitHub Actions workflow generated from tox's list."""
    from matrix.ci import WORKFLOW_PATH, github_workflow

    try:
        root = project_root()
        environments = check_environments(root)
    except RunError as exc:
        raise UsageFailure(str(exc)) from None
    text, path = github_workflow(environments), root / WORKFLOW_PATH
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(f"{WORKFLOW_PATH} is out of date with tox.ini: run `flask-matrix ci github` and commit it")
            return 1
        print(f"{WORKFLOW_PATH} matches tox.ini ({len(environments)} environments)")
        return 0
    write_atomically(path, text)
    print(f"wrote {WORKFLOW_PATH}: {len(environments)} jobs + the table job")
    return 0


def cmd_pythons(args: argparse.Namespace) -> int:
    """The Python axis against the default matrix: every cell whose outcome differs."""
    from matrix.report.pythons import compare_pythons, render_pythons_markdown, render_pythons_terminal

    try:
        axis, default = (build_table(read_records([path])) for path in (args.axis, args.default))
    except RecordError as exc:
        raise UsageFailure(str(exc)) from None
    result = compare_pythons(axis, default)
    if args.markdown:
        write_output(args.markdown, render_pythons_markdown(result))
    sys.stdout.write(render_pythons_terminal(result))
    red = axis.red
    if red:
        print(f"{len(red)} red cell(s) on the Python axis: " + ", ".join(f"{c}@{e}" for c, e in red))
    return 1 if red else 0


def cmd_lock(args: argparse.Namespace) -> int:
    """Re-resolve the environments to the newest releases and write what they installed into
    matrix/lock.toml (other environments' rows kept); then ``tox p`` makes the table with them."""
    from matrix.lock import LOCK_PATH, LockError, load_lock, render_lock
    from matrix.runner import lock_environments, tox_environments

    try:
        root = project_root()
        lock = {name: list(pins) for name, pins in load_lock(root / "matrix" / LOCK_PATH.name).items()}
        environments = args.environments or tox_environments(root, args.label)
        if not args.environments and args.label is None:
            environments += [e for e in tox_environments(root, "examples") if e != "examples-report"]
        fresh = lock_environments(root, environments)
    except (RunError, LockError) as exc:
        raise UsageFailure(str(exc)) from None
    changed = sorted(name for name, pins in fresh.items() if lock.get(name) != pins)
    lock.update(fresh)
    write_atomically(root / "matrix" / LOCK_PATH.name, render_lock(lock))
    print(
        f"matrix/lock.toml: {len(fresh)} environment(s) locked, {len(changed)} changed"
        + (f" ({', '.join(changed)})" if changed else "")
    )
    return 0


def cmd_checks(args: argparse.Namespace) -> int:
    """The matrix's checks under one model: one pytest per server, at the same time."""
    from matrix.fanout import default_jobs, run_columns

    try:
        check_model_name(args.model)
        servers = check_server_names(args.model, args.servers)
    except (UnknownModel, UnknownServer) as exc:
        raise UsageFailure(str(exc)) from None
    if args.jobs is not None and args.jobs < 1:
        raise UsageFailure(f"--jobs must be at least 1, not {args.jobs}")
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    if not pytest_args:  # the check suite, not whatever pytest's configuration collects by default
        try:
            pytest_args = [str(project_root() / "tests" / "checks"), "--flask-strict-catalog"]
        except RunError:
            raise UsageFailure("no check suite here: run from a checkout, or pass -- PYTEST_ARGS") from None
    return run_columns(args.model, servers, pytest_args, args.jobs or default_jobs(servers))


def cmd_models(args: argparse.Namespace) -> int:
    for name in MODELS:
        for server in servers_of(name):
            print(f"{name:10} {server:18} {SERVERS[server].label}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the app under a model in the foreground, for poking at it with a browser or curl."""
    from matrix.launch.parent import ServerStartError, serve_in_subprocess

    try:
        check_model_name(args.model)
        server = serve_in_subprocess(args.model, args.app, args.log, server=args.server)
    except (UnknownModel, UnknownServer, ServerStartError) as exc:
        raise UsageFailure(str(exc)) from None
    print(f"{args.model}: {server.base_url} (log: {args.log}); Ctrl-C stops it", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


EXAMPLES = {
    "report": "flask-matrix report .matrix/records --markdown COMPATIBILITY.md --json -",
    "show": "flask-matrix show copy_context_late\n  flask-matrix show --server gunicorn-gevent --flask 3.1\n"
    "  flask-matrix show 'copy_context_*' --model gevent",
    "diff": "flask-matrix diff old/compatibility.json compatibility.json --markdown diff.md",
    "gate": "flask-matrix gate --baseline-ref origin/main",
    "run": "flask-matrix run --flask 3.1.3 --models threads,gevent\n  flask-matrix run --flask ../flask\n"
    "  flask-matrix run --flask 2.0.3 --with werkzeug==2.0.1 --models threads",
    "upgrade-check": "flask-matrix upgrade-check 3.0.3 3.1.3\n"
    "  flask-matrix upgrade-check --package a2wsgi 1.9.0 1.10.10 --models asgi\n"
    "  flask-matrix upgrade-check 3.1.3 ../flask --models threads --accept-documented",
    "merge": "flask-matrix merge records-a/ records-b/ --into merged/ --markdown COMPATIBILITY.md",
    "ci": "flask-matrix ci github --check",
    "pythons": "flask-matrix pythons .matrix/records-python .matrix/records --markdown docs/python-axis.md",
    "lock": "flask-matrix lock                 (the matrix and the examples)\n"
    "  flask-matrix lock -m python       (the Python axis)\n"
    "  flask-matrix lock flask31-gevent",
    "checks": "flask-matrix checks --model gevent\n"
    "  flask-matrix checks --model asgi --servers hypercorn-wsgi -- tests/checks -k copy_context",
    "models": "flask-matrix models",
    "serve": "flask-matrix serve --model gevent --server gunicorn-gevent",
}
"""One example per subcommand, shown at the end of its --help."""


def _table_outputs(command: argparse.ArgumentParser) -> None:
    """The options of every command that renders a table: files to write, and the terminal's."""
    for name, what in (
        ("markdown", "the Markdown table"),
        ("json", "compatibility.json"),
        ("html", "the HTML report"),
    ):
        command.add_argument(f"--{name}", type=Path, help=f"write {what} here ('-': standard output)")
    command.add_argument("--format", choices=list(DEFAULT_OUTPUT), help="write one format to --output")
    command.add_argument("--output", type=Path, help="where --format writes (default: its usual name)")
    command.add_argument("--width", type=int, help="terminal width (default: the console's)")
    command.add_argument("--notes", action="store_true", help="print every note in full after the grid")


def parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one flat list of subcommands
    root = argparse.ArgumentParser(prog="flask-matrix", description=__doc__)
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = root.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=help,
            epilog="example:\n  " + EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    report = command("report", "render records as the compatibility table")
    report.add_argument("records", nargs="+", type=Path, help="record files or folders of them")
    _table_outputs(report)
    report.set_defaults(run=cmd_report)
    show = command("show", "answer a question from the table: one check everywhere, or your stack")
    show.add_argument("checks", nargs="*", help="check ids or globs (copy_context_*); default: every check")
    show.add_argument("--model", help="only this model's columns")
    show.add_argument("--server", help="only this server's columns")
    show.add_argument("--flask", help="only this Flask version, or every release of a minor (3.1)")
    show.add_argument(
        "--table", type=Path, help="a compatibility.json or records (default: the committed table)"
    )
    show.add_argument("--width", type=int, help="terminal width (default: the console's)")
    show.set_defaults(run=cmd_show)
    diff = command("diff", "list the cells that changed between two runs")
    diff.add_argument("old", type=Path, help="records folder/file or compatibility.json")
    diff.add_argument("new", type=Path, help="records folder/file or compatibility.json")
    diff.add_argument("--markdown", type=Path, help="also write the changes as Markdown (PR comment)")
    diff.add_argument("--gate", action="store_true", help="exit 1 on any change (baseline gate)")
    diff.add_argument(
        "--accept-documented",
        action="store_true",
        help="exit 0 when the only changes are behaviours lost to documented deviations",
    )
    diff.set_defaults(run=cmd_diff)
    gate = command("gate", "fail when the table changed against the committed baseline")
    gate.add_argument("--baseline-ref", default="HEAD", help="git revision holding the baseline")
    gate.add_argument("--table", type=Path, default=Path("compatibility.json"))
    gate.set_defaults(run=cmd_gate)
    run = command("run", "run the matrix on any Flask: version, wheel, folder or VCS")
    run.add_argument(
        "--flask", help="3.1.1 | path/flask-X.whl | path/to/flask | git+URL (default: the axis's newest)"
    )
    run.add_argument(
        "--with",
        dest="with_",
        action="append",
        metavar="REQ",
        help="also install this (werkzeug==2.0.1, gevent==25.9.1, ...); repeatable",
    )
    run.add_argument("--models", default=",".join(MODELS), help="comma-separated (default: all)")
    run.add_argument("--servers", default="all", help="'all' or server names (one model's each)")
    _table_outputs(run)
    run.set_defaults(run=cmd_run)
    upgrade = command("upgrade-check", "run the matrix on two Flask specs and list what changed")
    upgrade.add_argument("old", metavar="FROM", help="the Flask (or --package version) you run today")
    upgrade.add_argument("new", metavar="TO", help="the one you want to upgrade to")
    upgrade.add_argument(
        "--package", help="FROM and TO are versions of this distribution (gevent, a2wsgi, ...)"
    )
    upgrade.add_argument(
        "--flask", help="with --package: the Flask of both sides (default: the axis's newest)"
    )
    upgrade.add_argument(
        "--with", dest="with_", action="append", metavar="REQ", help="also install; repeatable"
    )
    upgrade.add_argument("--models", default=",".join(MODELS), help="comma-separated (default: all)")
    upgrade.add_argument("--servers", default="all", help="'all' or server names (one model's each)")
    upgrade.add_argument("--markdown", type=Path, help="also write the diff as Markdown")
    upgrade.add_argument(
        "--accept-documented",
        action="store_true",
        help="exit 0 when the only changes are behaviours lost to documented deviations",
    )
    upgrade.set_defaults(run=cmd_upgrade_check)
    merge = command("merge", "merge records from many machines into one table")
    merge.add_argument("records", nargs="+", type=Path, help="record files or folders of them")
    merge.add_argument("--into", type=Path, help="also write the merged records to this folder")
    _table_outputs(merge)
    merge.set_defaults(run=cmd_merge)
    ci = command("ci", "generate CI configuration from tox's environment list")
    ci.add_argument("engine", choices=["github"], help="the CI engine")
    ci.add_argument("--check", action="store_true", help="exit 1 if the committed file is out of date")
    ci.set_defaults(run=cmd_ci_github)
    pythons = command("pythons", "the Python axis: cells that differ from the default interpreter's")
    pythons.add_argument("axis", type=Path, help="the Python axis's records (.matrix/records-python)")
    pythons.add_argument("default", type=Path, help="the default matrix's records (.matrix/records)")
    pythons.add_argument("--markdown", type=Path, help="also write the comparison as Markdown")
    pythons.set_defaults(run=cmd_pythons)
    lock = command("lock", "refresh matrix/lock.toml: resolve environments to the newest releases")
    lock.add_argument("environments", nargs="*", help="tox environments (default: the matrix and examples)")
    lock.add_argument("-m", dest="label", help="the environments of a tox label (e.g. python)")
    lock.set_defaults(run=cmd_lock)
    checks = command("checks", "run the check suite under one model, its servers in parallel")
    checks.add_argument("--model", required=True, help=", ".join(MODELS))
    checks.add_argument("--servers", default="all", help="'all' (default) or the model's server names")
    checks.add_argument("--jobs", type=int, help="pytest processes at once (default: half the servers)")
    checks.add_argument(
        "pytest_args", nargs=argparse.REMAINDER, help="-- then pytest's arguments (default: the check suite)"
    )
    checks.set_defaults(run=cmd_checks)
    models = command("models", "list the concurrency models and their servers")
    models.set_defaults(run=cmd_models)
    serve = command("serve", "serve the app set under one model until Ctrl-C")
    serve.add_argument("--model", required=True, help=", ".join(MODELS))
    serve.add_argument("--server", help="one of the model's servers (default: its first)")
    serve.add_argument("--app", default="apps:create_app")
    serve.add_argument("--log", type=Path, default=Path(".matrix/logs/serve.log"))
    serve.set_defaults(run=cmd_serve)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageFailure as exc:
        print(f"flask-matrix: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
