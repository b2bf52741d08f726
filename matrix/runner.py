"""Run the matrix for any Flask spec by driving tox's ``custom-<model>`` environments.

The only module besides the server launcher that starts processes: one ``python -m tox`` per
Flask spec, with its own work folder (so the environments of both sides of an upgrade-check stay
built) and its own records folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from matrix.axis import FlaskSpec


class RunError(RuntimeError):
    """The run could not happen or produced nothing; one line."""


def project_root(start: Path | None = None) -> Path:
    """The checkout holding tox.ini and the matrix (searching upward from ``start``)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "tox.ini").is_file() and (folder / "matrix" / "axis.toml").is_file():
            return folder
    raise RunError("run this from a flask-context-matrix checkout (no tox.ini with matrix/ found)")


def run_folder(root: Path, spec: FlaskSpec) -> Path:
    """``.matrix/runs/<spec>``: versions by name, other specs by a hash of their source."""
    if spec.kind == "version":
        name = f"flask-{spec.source}"
    else:
        name = f"{spec.kind}-{hashlib.sha256(spec.source.encode()).hexdigest()[:12]}"
    return root / ".matrix" / "runs" / name


def run_matrix(
    spec: FlaskSpec, models: list[str], root: Path, side: str = "run", servers: str = "all"
) -> Path:
    """Build the environments for ``spec`` x ``models``, run the checks, return the records folder.

    Folders, wheels and VCS requirements are reinstalled every time (their content may have
    changed under the same name); released versions reuse their environments.
    """
    if importlib.util.find_spec("tox") is None:
        raise RunError("this command drives tox: pip install tox tox-uv (in this environment)")
    folder = run_folder(root, spec)
    records = folder / f"records-{side}"  # both sides of FROM == TO keep their own records
    records.mkdir(parents=True, exist_ok=True)
    for stale in records.glob("*.json"):
        stale.unlink()
    command = [
        sys.executable,
        "-m",
        "tox",
        "--workdir",
        str(folder / "tox"),
        "-e",
        ",".join(f"custom-{m}" for m in models),
    ]
    if spec.kind != "version":
        command.append("--recreate")
    env = {
        **os.environ,
        "FLASK_SPEC": spec.source,
        "FLASK_MATRIX_RECORDS": str(records),
        "FLASK_MATRIX_SERVERS": servers,
    }
    print(f"flask-matrix: Flask {spec.label} under {', '.join(models)}", flush=True)
    subprocess.run(command, cwd=root, env=env, check=False)
    if not any(records.glob("*.json")):
        raise RunError(
            f"Flask {spec.label}: no environment produced a record (did it install? see the tox output above)"
        )
    return records
