"""The one way this project writes a file: atomically, readable by others.

Records after every check, the table's Markdown, JSON and HTML, the CI workflow: each is written
to a temporary file in the same folder, flushed to disk, then renamed over the old one, so a
reader (or an interrupted run) only ever sees the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
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
