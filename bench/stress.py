"""Flakiness hunt: run the matrix N times with the other core kept busy; report every cell that
ever changed outcome.

    python bench/stress.py [--runs 20] [--no-load] [--envs flask31-threads,flask31-asgi] [--parallel 6]

Each run writes its records to .matrix/stress/run-K; the load generator is one busy process per
spare core (cores - 1, at least one), started before the first run and killed at the end (also on
Ctrl-C). Exit 1 if any cell flipped. A flipped cell is fixed at its root, never by loosening it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".matrix" / "stress"


def burn(until: float) -> None:
    """Keep one core busy until ``until`` (monotonic), bounded so it can never outlive the run."""
    x = 0
    while time.monotonic() < until:
        x = (x * 31 + 7) % 1_000_003


def run_tox(command: list[str], records: Path) -> None:
    """Run one matrix in a process group of its own and wait for it. Interrupted (Ctrl-C, or a
    signal to this script alone), the whole group is asked to stop as a Ctrl-C would ask it
    (SIGINT: tox stops its environments, and each fan-out its servers), then SIGKILLed after a
    bound: killing tox alone, as subprocess.run does, would leave its environments running."""
    tox = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "FLASK_MATRIX_RECORDS": str(records)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        tox.wait()
    except BaseException:
        from matrix.launch.hygiene import stop_group

        stop_group(tox, signal.SIGINT, 60.0)
        raise


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-load", action="store_true", help="do not keep the other core(s) busy")
    parser.add_argument("--envs", help="comma-separated environments (default: the default matrix)")
    parser.add_argument("--parallel", type=int, default=6)
    parser.add_argument("--max-hours", type=float, default=6.0, help="bound on the load generator")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from matrix.records import read_records

    shutil.rmtree(WORK, ignore_errors=True)
    load = []
    if not args.no_load:
        until = time.monotonic() + args.max_hours * 3600
        for _ in range(max(1, (os.cpu_count() or 2) - 1)):
            proc = multiprocessing.Process(target=burn, args=(until,), daemon=True)
            proc.start()
            load.append(proc)
    if not args.envs:
        # The check environments only (tox's default list minus `report`), as bench.py does, so
        # that a stress run never rewrites the committed COMPATIBILITY.md / compatibility.json.
        from matrix.runner import check_environments

        args.envs = ",".join(check_environments(ROOT))
    select = ["-e", args.envs]
    outcomes: dict[str, dict[int, str]] = defaultdict(dict)
    started = time.monotonic()
    try:
        for run in range(1, args.runs + 1):
            records = WORK / f"run-{run}"
            run_tox([sys.executable, "-m", "tox", "p", "-p", str(args.parallel), *select], records)
            for record in read_records([records]):
                for check in record.checks:
                    outcomes[f"{check.check} @ {record.environment}/{record.server}"][run] = check.outcome
            flipped = sum(len(set(v.values())) > 1 for v in outcomes.values())
            print(
                f"run {run}/{args.runs}: {len(outcomes)} cells, {flipped} flipped so far "
                f"({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    finally:
        for proc in load:
            proc.kill()
            proc.join()
    flipped_cells = {cell: runs for cell, runs in outcomes.items() if len(set(runs.values())) > 1}
    missing = {cell: runs for cell, runs in outcomes.items() if len(runs) != args.runs}
    loaded = "off" if args.no_load else f"{len(load)} busy core(s)"
    print(f"\n{args.runs} runs, {len(outcomes)} cells, load: {loaded}")
    print(f"flipped cells: {len(flipped_cells)}; cells missing from some run: {len(missing)}")
    for cell, runs in sorted(flipped_cells.items()):
        print(f"  FLIPPED {cell}: " + ", ".join(f"run {k}={v}" for k, v in sorted(runs.items())))
    for cell in sorted(missing):
        print(f"  MISSING {cell}: present in {len(missing[cell])} of {args.runs} runs")
    return 1 if flipped_cells or missing else 0


if __name__ == "__main__":
    sys.exit(main())
