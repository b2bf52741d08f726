"""The server process: patch the runtime FIRST, then import Flask and the app, serve, announce.

Run as ``python -m matrix.serve --model NAME --app MODULE:FACTORY --announce-fd FD``. The bound
port is written to ``FD`` as one line once the socket listens; anything else the server says goes
to stdout/stderr, which the parent keeps in a log file. Only stdlib and ``matrix.models`` are
imported before ``Model.patch()``: importing Flask, Werkzeug or the app first would capture the
unpatched ``threading`` and ``socket`` modules.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import os
import signal
import sys

from matrix.models import MODELS, ModelUnavailable, UnknownModel, load_model

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies, even if the parent was SIGKILLed."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the request above took effect
        os._exit(1)


def load_factory(spec: str) -> object:
    """Import ``module:attribute`` and return the attribute."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--app must look like package.module:create_app, not {spec!r}")
    return getattr(importlib.import_module(module_name), attribute)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matrix.serve")
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--app", default="apps:create_app", help="module:factory(workers)")
    parser.add_argument("--announce-fd", type=int, help="write the bound port to this fd")
    parser.add_argument("--parent-pid", type=int, help="exit when this process exits")
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        die_with_parent(args.parent_pid)
    try:
        model = load_model(args.model)
        model.patch()  # before anything below imports Flask
        factory = load_factory(args.app)
        app = factory(model.workers())  # type: ignore[operator]
    except (UnknownModel, ModelUnavailable, ValueError) as exc:
        print(f"flask-matrix serve: {exc}", file=sys.stderr, flush=True)
        return 2

    def announce(port: int) -> None:
        print(f"serving {args.app} under {model.name} ({model.server}) on 127.0.0.1:{port}", flush=True)
        if args.announce_fd is not None:
            os.write(args.announce_fd, f"{port}\n".encode())
            os.close(args.announce_fd)

    model.serve(app, "127.0.0.1", announce)
    return 0


if __name__ == "__main__":
    sys.exit(main())
