"""Driving tox: the matrix for any Flask spec (tox's ``custom-<model>`` environments), and the
one list of the default check environments.

Besides the server launcher, the only module that starts processes: one ``python -m tox`` per
Flask spec, with its own work folder (so the environments of both sides of an upgrade-check stay
built) and its own records folder; ``tox l`` for the environment list.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
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


def default_environments(tox_list_output: str) -> list[str]:
    """The check environments from ``tox l`` output: its default list, minus the report."""
    envs, in_default = [], False
    for line in tox_list_output.splitlines():
        if line.strip() == "default environments:":
            in_default = True
        elif in_default and not line.strip():
            break
        elif in_default:
            name = line.split()[0]
            if name != "report":
                envs.append(name)
    return envs


def check_environments(root: Path) -> list[str]:
    """The default matrix's check environments, as tox lists them (``tox.ini``'s env_list minus
    the report): what CI, the benchmark and the stress run all run."""
    listed = subprocess.run(
        [sys.executable, "-m", "tox", "l"], cwd=root, capture_output=True, text=True, check=False
    )
    environments = default_environments(listed.stdout)
    if listed.returncode != 0 or not environments:
        raise RunError(f"cannot read tox's environment list: {listed.stderr.strip()[:200]}")
    return environments


WITH_ENV = "FLASK_MATRIX_WITH"
"""Requirements a custom environment installs beside its Flask (one per line): ``--with``."""


def run_folder(root: Path, spec: FlaskSpec, extra: tuple[str, ...] = ()) -> Path:
    """``.matrix/runs/<spec>[+<extra>]``: versions by name, other specs by a hash of their source;
    other requirements (``--with``) by name where they are plain pins, else by a hash."""
    if spec.kind == "version":
        name = f"flask-{spec.source}"
    else:
        name = f"{spec.kind}-{hashlib.sha256(spec.source.encode()).hexdigest()[:12]}"
    if extra:
        plain = all(re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9._+!-]+", r) for r in extra)
        name += "+" + (
            "+".join(extra) if plain else hashlib.sha256("\n".join(extra).encode()).hexdigest()[:12]
        )
    return root / ".matrix" / "runs" / name


def run_matrix(  # noqa: PLR0917 - the run's whole description
    spec: FlaskSpec,
    models: list[str],
    root: Path,
    side: str = "run",
    servers: str = "all",
    extra: tuple[str, ...] = (),
) -> Path:
    """Build the environments for ``spec`` x ``models``, run the checks, return the records folder.

    Folders, wheels and VCS requirements are reinstalled every time (their content may have
    changed under the same name); released versions reuse their environments.
    """
    if importlib.util.find_spec("tox") is None:
        raise RunError("this command drives tox: pip install tox tox-uv (in this environment)")
    folder = run_folder(root, spec, extra)
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
        WITH_ENV: "\n".join(extra),
    }
    beside = f" with {', '.join(extra)}" if extra else ""
    print(f"flask-matrix: Flask {spec.label}{beside} under {', '.join(models)}", flush=True)
    subprocess.run(command, cwd=root, env=env, check=False)
    if not any(records.glob("*.json")):
        raise RunError(
            f"Flask {spec.label}: no environment produced a record (did it install? see the tox output above)"
        )
    return records


def tox_environments(root: Path, label: str | None = None) -> list[str]:
    """Environments as tox lists them: its default list minus the report, or a label's (``tox l -m``)."""
    if label is None:
        return check_environments(root)
    listed = subprocess.run(
        [sys.executable, "-m", "tox", "l", "-m", label, "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    environments = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    if listed.returncode != 0 or not environments:
        raise RunError(f"tox lists no environment labelled {label!r}: {listed.stderr.strip()[:200]}")
    return environments


def lock_environments(root: Path, environments: list[str]) -> dict[str, list[str]]:
    """Build ``environments`` afresh at the newest releases (``tox --latest --notest
    --recreate``) and return what each installed, as exact pins. Recreated, because an existing
    environment keeps what it once installed: a distribution the project no longer asks for would
    stay in the lock. An environment whose interpreter is missing is left out with a line (tox
    skips it)."""
    from matrix.lock import LockError, freeze_pins

    command = [
        sys.executable,
        "-m",
        "tox",
        "p",
        "-p",
        "auto",
        "--latest",
        "--notest",
        "--recreate",
        "-e",
        ",".join(environments),
    ]
    subprocess.run(command, cwd=root, check=False)
    pins: dict[str, list[str]] = {}
    for name in environments:
        python = root / ".tox" / name / "bin" / "python"
        if not python.is_file():
            print(
                f"flask-matrix lock: {name} was not built (interpreter missing?); left as it was", flush=True
            )
            continue
        frozen = subprocess.run(
            [sys.executable, "-m", "uv", "pip", "freeze", "--python", str(python)],
            capture_output=True,
            text=True,
            check=False,
        )
        if frozen.returncode != 0:
            raise RunError(f"{name}: uv pip freeze failed: {frozen.stderr.strip()[:200]}")
        try:
            pins[name] = freeze_pins(frozen.stdout)
        except LockError as exc:
            raise RunError(f"{name}: {exc}") from None
    return pins
