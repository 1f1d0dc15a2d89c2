"""Benchmarks, side by side on one machine: xlschedule against what one would write without it.

Run from the repository root: `python benchmarks/run.py [--runs 3]`. Prints a Markdown table:

- build: all 43 workbooks, against bare_build.py writing the same cell values with bare openpyxl;
- ingest: N = 86 and N = 430 filled returns (two and ten per force), against plain_ingest.py, the
  analyst's script that reads every return's values with openpyxl and stacks them with no checks;
- peak memory of each, and the cost per extra return between N = 86 and N = 430 (the slope),
  which projects 3,000 returns.

Every job runs as a fresh process (start-up included, as a user feels it), `--runs` times; the
median is reported. Not part of the tests: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
XLSCHEDULE = [sys.executable, "-m", "xlschedule"]
TIME = shutil.which("time") and Path("/usr/bin/time").exists()


def run(cmd: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float | None]:
    """Wall seconds and peak resident MB of one fresh process."""
    full = ["/usr/bin/time", "-f", "PEAK_KB %M", *cmd] if TIME else cmd
    started = time.perf_counter()
    result = subprocess.run(full, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in ok:
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    peak = re.search(r"PEAK_KB (\d+)", result.stderr)
    return elapsed, (int(peak.group(1)) / 1024 if peak else None)


def median_of(cmd: list[str], cwd: Path, runs: int) -> tuple[float, float | None]:
    results = [run(cmd, cwd) for _ in range(runs)]
    peaks = [p for _, p in results if p is not None]
    return statistics.median(t for t, _ in results), (max(peaks) if peaks else None)


def bare_values(folder: Path, out: Path) -> None:
    """The built workbooks' cell values, for the bare-openpyxl baseline to write (not timed)."""
    from openpyxl import load_workbook

    values = {}
    for path in sorted(folder.glob("*.xlsx")):
        wb = load_workbook(path)
        values[path.name] = {
            ws.title: [[c.row, c.column, c.value] for row in ws.iter_rows() for c in row if c.value is not None]
            for ws in wb.worksheets
        }
    out.write_text(json.dumps(values, default=str), encoding="utf-8")


def make_returns(folder: Path, per_force: int) -> int:
    """`per_force` filled returns for every force, as inspectors would send them (every 10th scored 1-5)."""
    sys.path.insert(0, str(ROOT / "src"))
    from xlschedule.build import build_workbook
    from xlschedule.model import Mode
    from xlschedule.packager import workbook_bytes
    from xlschedule.samples import answers, fill
    from xlschedule.schedule import load_schedule

    schedule = load_schedule(ROOT / "schedule.toml")
    folder.mkdir()
    blanks: dict[tuple[str, Mode], bytes] = {}
    count = 0
    for force in schedule.forces.names:
        for k in range(per_force):
            mode = Mode.SCALE if count % 10 == 9 else Mode.YESNO
            if (force, mode) not in blanks:
                blanks[force, mode] = workbook_bytes(build_workbook(schedule, force, mode))
            values = answers(schedule, mode, count, f"R-{count:04d}")
            fill(blanks[force, mode], values, folder / f"{force}-{k:02d}.xlsx")
            count += 1
    return count


def fmt_mb(mb: float | None) -> str:
    return f"{mb:.0f} MB" if mb is not None else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    print(f"Machine: {cpu}, {os.cpu_count()} cores; {platform.python_implementation()} {platform.python_version()}; "
          f"median of {args.runs} runs, each a fresh process.\n")
    rows: list[tuple[str, float, float | None, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "schedule.toml", work / "schedule.toml")
        build = median_of([*XLSCHEDULE, "build", "--out", "built"], work, args.runs)
        bare_values(work / "built", work / "values.json")
        bare = median_of([sys.executable, str(HERE / "bare_build.py"), "values.json", "bare"], work, args.runs)
        rows.append(("build 43 workbooks", *build, *bare))
        per_return = {}
        for per_force in (2, 10):
            folder = work / f"returns{per_force}"
            n = make_returns(folder, per_force)
            ours = median_of([*XLSCHEDULE, "ingest", str(folder), "--out", f"c{n}.xlsx"], work, args.runs)
            plain_cmd = [sys.executable, str(HERE / "plain_ingest.py"), str(folder), f"p{n}.xlsx"]
            plain = median_of(plain_cmd, work, args.runs)
            rows.append((f"ingest {n} returns", *ours, *plain))
            per_return[n] = (ours[0], plain[0])
    print("| job | xlschedule | peak memory | baseline | peak memory | ratio |")
    print("|---|---|---|---|---|---|")
    for job, t, mem, base_t, base_mem in rows:
        print(f"| {job} | {t:.2f} s | {fmt_mb(mem)} | {base_t:.2f} s | {fmt_mb(base_mem)} | {t / base_t:.2f}x |")
    (n1, (a1, p1)), (n2, (a2, p2)) = sorted(per_return.items())
    slope, plain_slope = (a2 - a1) / (n2 - n1), (p2 - p1) / (n2 - n1)
    print(f"\nCost per extra return (slope, N={n1} to {n2}): xlschedule {slope * 1000:.1f} ms, "
          f"plain script {plain_slope * 1000:.1f} ms.")
    print(f"Projected 3,000 returns: xlschedule {a2 + slope * (3000 - n2):.0f} s, "
          f"plain script {p2 + plain_slope * (3000 - n2):.0f} s.")


if __name__ == "__main__":
    main()
