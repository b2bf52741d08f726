"""``flask-matrix``: thin argument parsing over the harness. Exit 0 ok, 1 red cells, 2 bad input."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from matrix.models import MODELS, UnknownModel, check_model_name
from matrix.records import RecordError, read_records
from matrix.report.jsonfile import render_json
from matrix.report.markdown import render_markdown
from matrix.report.table import build_table
from matrix.report.terminal import render_terminal


class UsageFailure(Exception):
    """Bad input: printed as one line, exit 2."""


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def cmd_report(args: argparse.Namespace) -> int:
    try:
        records = read_records(args.records)
    except RecordError as exc:
        raise UsageFailure(str(exc)) from None
    table = build_table(records)
    # Render everything before writing anything, so a failure leaves the old files intact.
    outputs = []
    if args.markdown:
        outputs.append((args.markdown, render_markdown(table)))
    if args.json:
        outputs.append((args.json, render_json(table)))
    for path, text in outputs:
        write_atomically(path, text)
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    sys.stdout.write(render_terminal(table, width=args.width, color=color))
    incomplete = [c.environment for c in table.columns if not c.complete]
    if incomplete:
        print(f"incomplete environments (interrupted runs): {', '.join(incomplete)}")
    red = table.red
    if red:
        print(f"{len(red)} red cell(s): " + ", ".join(f"{c}@{e}" for c, e in red))
    return 1 if red or incomplete else 0


def cmd_models(args: argparse.Namespace) -> int:
    for name, info in MODELS.items():
        print(f"{name:10} {info.server}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the app under a model in the foreground, for poking at it with a browser or curl."""
    from matrix.server import ServerStartError, serve_in_subprocess

    try:
        check_model_name(args.model)
        server = serve_in_subprocess(args.model, args.app, args.log)
    except (UnknownModel, ServerStartError) as exc:
        raise UsageFailure(str(exc)) from None
    print(f"{args.model}: {server.base_url} (log: {args.log}); Ctrl-C stops it", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="flask-matrix", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="render records as the compatibility table")
    report.add_argument("records", nargs="+", type=Path, help="record files or folders of them")
    report.add_argument("--markdown", type=Path, help="write the Markdown table here")
    report.add_argument("--json", type=Path, help="write compatibility.json here")
    report.add_argument("--width", type=int, default=160, help="terminal width (default 160)")
    report.set_defaults(run=cmd_report)
    models = sub.add_parser("models", help="list the concurrency models")
    models.set_defaults(run=cmd_models)
    serve = sub.add_parser("serve", help="serve the app set under one model until Ctrl-C")
    serve.add_argument("--model", required=True, help=", ".join(MODELS))
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
