"""Speed figures of the matrix, measured in one run, printed as a table.

    python bench/bench.py [--parallel 6] [--column-runs 3] [--pip] [--envs flask31-threads,...]

Measures, with its own tox work folders under .matrix/bench (your .tox is left alone; the package
cache stays warm, as on any machine that ran the matrix once):
  cold      `tox p` of the default matrix with no environments built yet
  warm      the same again, environments built, nothing changed
  floor     sum of per-environment check time / cores + environment install time / cores
  column    one server under one Flask version (the full catalog, server start included), median
  start     of that: the server's start until it answers (and is stopped again), median
  pip       (with --pip) the same matrix by plain tox with pip and virtualenv, sequential, cold
Speed never comes from doing less: the same checks and request counts run in every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".matrix" / "bench"


def tox(args: list[str], workdir: Path, result: Path | None = None) -> float:
    command = [sys.executable, "-m", "tox", *args, "--workdir", str(workdir)]
    if result is not None:
        command += ["--result-json", str(result)]
    env = {**os.environ, "FLASK_MATRIX_RECORDS": str(workdir / "records"), "NO_COLOR": "1"}
    start = time.monotonic()
    subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.monotonic() - start


def env_times(result: Path) -> dict[str, tuple[float, float]]:
    """Per environment: (setup seconds, command seconds) from tox's --result-json."""
    data = json.loads(result.read_text())
    times = {}
    for name, env in data.get("testenvs", {}).items():
        setup = sum(s.get("elapsed", 0.0) for s in env.get("setup", []))
        commands = sum(c.get("elapsed", 0.0) for c in env.get("test", []))
        times[name] = (setup, commands)
    return times


def column_runs(workdir: Path, env: str, model: str, server: str, runs: int) -> float:
    python = workdir / env / "bin" / "python"
    walls = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run(
            [
                str(python),
                "-m",
                "pytest",
                "tests/checks",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--flask-model={model}",
                f"--flask-server={server}",
                "--flask-strict-catalog",
                f"--flask-logs={workdir / 'logs'}",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        walls.append(time.monotonic() - start)
    return statistics.median(walls)


START = """
import sys, time
from pathlib import Path
from matrix.launch.parent import serve_in_subprocess
began = time.monotonic()
server = serve_in_subprocess(
    sys.argv[1], "apps:create_app", Path(sys.argv[3]), server=sys.argv[2], calibration_timeout=None
)
print(time.monotonic() - began)
server.stop()
"""


def start_runs(workdir: Path, env: str, model: str, server: str, runs: int) -> float:
    """Median seconds from launching the server to its first answer (readiness)."""
    python = workdir / env / "bin" / "python"
    log = workdir / "logs" / f"start-{server}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    starts = []
    for _ in range(runs):
        done = subprocess.run(
            [str(python), "-c", START, model, server, str(log)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        starts.append(float(done.stdout.strip()))
    return statistics.median(starts)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parallel", type=int, default=6, help="tox p -p N (default 6)")
    parser.add_argument("--column-runs", type=int, default=3)
    parser.add_argument("--pip", action="store_true", help="also time plain tox with pip (slow)")
    parser.add_argument("--envs", help="comma-separated subset of environments (default: all)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from matrix.launch.servers import SERVERS

    if not args.envs:
        # The check environments only (tox's own default list, minus `report`), so a benchmark
        # never rewrites the committed COMPATIBILITY.md / compatibility.json.
        from matrix.runner import check_environments

        args.envs = ",".join(check_environments(ROOT))
    select = ["-e", args.envs]
    cores = os.cpu_count() or 1
    fast = WORK / "uv"
    shutil.rmtree(fast, ignore_errors=True)
    cold = tox(["p", "-p", str(args.parallel), *select], fast, WORK / "cold.json")
    warm = tox(["p", "-p", str(args.parallel), *select], fast, WORK / "warm.json")
    per_env = env_times(WORK / "cold.json")
    warm_env = env_times(WORK / "warm.json")
    checks = sum(c for _, c in warm_env.values())
    installs = sum(s for s, _ in per_env.values())
    floor = checks / cores + installs / cores
    rows = [
        ("full matrix, cold (tox p)", cold),
        ("full matrix, warm (tox p)", warm),
        ("floor: checks/cores + installs/cores", floor),
    ]
    columns: dict[str, tuple[float, float]] = {}
    for server, info in SERVERS.items():
        env = f"flask31-{info.model}"
        if (fast / env).is_dir():
            columns[f"column {env}/{server}"] = (
                column_runs(fast, env, info.model, server, args.column_runs),
                start_runs(fast, env, info.model, server, args.column_runs),
            )
    pip = None
    if args.pip:
        slow = WORK / "pip"
        shutil.rmtree(slow, ignore_errors=True)
        pip = tox(["--runner", "virtualenv", *select], slow)
    print(f"{'figure':45} {'seconds':>9}")
    for name, value in rows:
        print(f"{name:45} {value:9.1f}")
    for name, (wall, start) in columns.items():
        print(f"{name:45} {wall:9.1f}   (server start {start:.2f})")
    print(f"{'ratio cold / floor':45} {cold / floor:9.2f}")
    print(f"{'ratio warm / floor':45} {warm / floor:9.2f}")
    if pip is not None:
        print(f"{'plain tox + pip, sequential, cold':45} {pip:9.1f}")
        print(f"{'speed-up over plain tox + pip (cold)':45} {pip / cold:9.2f}x")
    ran = len(args.envs.split(","))
    print(f"{'environments':45} {ran:9d}   cores {cores}, tox p -p {args.parallel}")
    print("per environment (cold install s / warm checks s):")
    for name in sorted(per_env):
        if name in args.envs.split(","):  # tox's result also lists environments it did not run
            print(f"  {name:30} {per_env[name][0]:6.1f} {warm_env.get(name, (0, 0))[1]:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
