"""The server process: patch the runtime FIRST, then import Flask and the app, then serve.

Run by the parent as ``python -m matrix.launch.child --model NAME --server NAME --app SPEC --fd FD
--parent-pid PID [--config JSON] [--setup module:function] [--in-flight]`` (the app spec's forms,
the config and the setup hook: ``matrix.launch.appspec``; the in-flight count:
``matrix.launch.in_flight``). The parent has bound 127.0.0.1 on an OS-picked port and
listens on ``FD``; this process serves on it. Only the standard library and the registries are
imported before ``Model.patch()``: importing Flask, Werkzeug or the app first would capture the
unpatched ``threading`` and ``socket``. A program server (gunicorn, uvicorn, hypercorn's CLI)
replaces this process via exec, keeping the socket and the die-with-parent request; it learns which
app to build from ``FLASK_MATRIX_LAUNCH`` (see ``matrix.launch.program_app``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from matrix.launch.hygiene import die_with_parent
from matrix.launch.servers import SERVERS, UnknownServer, check_server_names, default_server
from matrix.models import MODELS, ModelUnavailable, UnknownModel, load_model

LAUNCH_ENV = "FLASK_MATRIX_LAUNCH"
"""The child's message to an exec'd program's app object: JSON ``{"model", "app", "config", "setup",
"in_flight"}``."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matrix.launch.child")
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--server", help="one of the model's servers (default: its first)")
    parser.add_argument("--app", default="apps:create_app", help="module:factory(workers)")
    parser.add_argument("--fd", type=int, required=True, help="the listening socket to serve on")
    parser.add_argument("--parent-pid", type=int, help="exit when this process exits")
    parser.add_argument("--config", default="{}", help="JSON object merged into app.config")
    parser.add_argument("--setup", help="module:function run in an app context before serving")
    parser.add_argument("--in-flight", action="store_true", help="count requests in flight (a user's app)")
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        die_with_parent(args.parent_pid)
    try:
        server_name = args.server or default_server(args.model)
        check_server_names(args.model, server_name)
        server = SERVERS[server_name]
        print(f"serving {args.app} under {args.model} with {server.label}", flush=True)
        config = json.loads(args.config)
        if server.program:
            launch = {
                "model": args.model,
                "app": args.app,
                "config": config,
                "setup": args.setup,
                "in_flight": args.in_flight,
            }
            os.environ[LAUNCH_ENV] = json.dumps(launch)
            program = [part.format(fd=args.fd) for part in server.program]
            os.execv(sys.executable, [sys.executable, "-m", *program])
        model = load_model(args.model)
        model.patch()  # before anything below imports Flask
        from matrix.launch.appspec import build_app, load_object

        app = build_app(args.app, model.workers(), config, args.setup, args.in_flight)
        serve = load_object(server.target) if server.target else model.serve
    except (UnknownModel, UnknownServer, ModelUnavailable, ValueError) as exc:
        print(f"flask-matrix serve: {exc}", file=sys.stderr, flush=True)
        return 2
    serve(app, args.fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
