"""Benchmarks: building all workbooks, ingesting the samples, ingesting N filled returns.

Run from the repository root: `python benchmarks/run.py [--runs 5] [--returns 100]`.
Prints the median (and min/max) wall time of each job over several runs, each in a fresh process,
so the numbers include start-up as a user feels it. Not part of the tests: these machines are noisy.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
XLSCHEDULE = [sys.executable, "-m", "xlschedule"]


def timed(cmd: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in ok:
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed


def series(label: str, cmd: list[str], cwd: Path, runs: int, ok: tuple[int, ...] = (0,)) -> None:
    times = [timed(cmd, cwd, ok) for _ in range(runs)]
    print(f"{label:<38} median {statistics.median(times):6.2f} s   min {min(times):6.2f}   max {max(times):6.2f}")


def make_returns(folder: Path, count: int) -> None:
    """`count` filled returns across the forces, as inspectors would send them."""
    sys.path.insert(0, str(ROOT / "src"))
    from xlschedule.build import build_workbook, workbook_bytes
    from xlschedule.samples import answers, fill
    from xlschedule.schedule import load_schedule

    schedule = load_schedule(ROOT / "schedule.toml")
    forces = schedule.forces.names
    blanks: dict[str, bytes] = {}
    mode = schedule.schedule.default_mode
    for i in range(count):
        force = forces[i % len(forces)]
        if force not in blanks:
            blanks[force] = workbook_bytes(build_workbook(schedule, force, mode))
        fill(blanks[force], answers(schedule, mode, i, f"R-{i:04d}"), folder / f"{force}-{i:04d}.xlsx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--returns", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "schedule.toml", work / "schedule.toml")
        series("build all 43 workbooks", [*XLSCHEDULE, "build", "--out", "out"], work, args.runs)
        series("ingest the 5 samples", [*XLSCHEDULE, "ingest", str(ROOT / "samples"), "--out", "c1.xlsx"],
               work, args.runs, ok=(0, 1))
        returns = work / "returns"
        returns.mkdir()
        make_returns(returns, args.returns)
        series(f"ingest {args.returns} returns", [*XLSCHEDULE, "ingest", str(returns), "--out", "c2.xlsx"],
               work, args.runs)


if __name__ == "__main__":
    main()
