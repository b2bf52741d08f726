"""The one way this project writes a file: atomically, readable by others (and, for the outputs a
user names, the way a command-line tool is expected to: ``-`` and devices written to, not replaced).

Records after every check, the table's Markdown, JSON and HTML, the CI workflow: each is written
to a temporary file in the same folder, flushed to disk, then renamed over the old one, so a
reader (or an interrupted run) only ever sees the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

MODE = 0o644
"""Outputs to share (records hold versions and outcomes, nothing secret), not mkstemp's 0600."""


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_output(path: Path, text: str) -> None:
    """Write an output the user named: ``-`` is standard output; an existing file that is not a
    regular one (a device such as /dev/stdout, a FIFO) is written to, never replaced; a symlink
    to a regular file has its target replaced; anything else is written atomically."""
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    elif path.exists() and not path.is_file():
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        write_atomically(path.resolve() if path.is_symlink() else path, text)
