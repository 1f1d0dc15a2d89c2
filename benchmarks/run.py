"""Benchmarks, side by side on one machine: xlschedule against what one would write without it.

Run from the repository root: `python benchmarks/run.py [--sets 1000,3000] [--runs 1]`. Prints a
Markdown table:

- build: all 43 workbooks, against bare_build.py writing the same cell values with bare openpyxl;
- ingest, cold: each set of filled returns (made by generate.py: varied scores, N/A, a few unanswered,
  evidence from a few words to 2,000 characters), every check on, with the consolidated workbook and
  CSV written, against plain_ingest.py, the analyst's script that reads every return's values with
  openpyxl and stacks them with no checks;
- the wall time and peak resident memory of each, and the CPU they ran on (with the load average, as
  these machines are shared).

Every job runs as a fresh process (start-up included, as a user feels it), `--runs` times; the
median time and the highest peak are reported. Not part of the tests: timings are noisy.
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
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}  # this tree's xlschedule
    result = subprocess.run(full, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode not in ok:
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    peak = re.search(r"PEAK_KB (\d+)", result.stderr)
    return elapsed, (int(peak.group(1)) / 1024 if peak else None)


def median_of(
    cmd: list[str], cwd: Path, runs: int, ok: tuple[int, ...] = (0,), fresh: Path | None = None
) -> tuple[float, float | None]:
    """The median time and highest peak of `runs` runs; with `fresh`, that ledger is removed before each
    run, so every run is cold."""
    results = []
    for _ in range(runs):
        if fresh is not None:
            fresh.unlink(missing_ok=True)
        results.append(run(cmd, cwd, ok))
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


def make_sets(work: Path, sizes: list[int]) -> dict[int, Path]:
    """One generated set of the largest size; each smaller set is its first returns (hard links)."""
    sys.path.insert(0, str(HERE))
    from generate import generate

    biggest = work / f"returns{max(sizes)}"
    generate(biggest, max(sizes))
    files = sorted(biggest.glob("*.xlsx"), key=lambda p: p.stem.rsplit("-", 1)[1])
    sets = {max(sizes): biggest}
    for n in sizes:
        if n != max(sizes):
            folder = sets[n] = work / f"returns{n}"
            folder.mkdir()
            for f in files[:n]:
                os.link(f, folder / f.name)
    return sets


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        name = platform.processor() or "unknown CPU"
    return f"{name}, {os.cpu_count()} cores"


def fmt_mb(mb: float | None) -> str:
    return f"{mb:.0f} MB" if mb is not None else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--sets", default="1000,3000", help="sizes of the return sets, comma-separated")
    parser.add_argument("--no-build", action="store_true", help="skip build against bare openpyxl")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain script (the slowest job)")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.sets.split(","))
    print(f"Machine: {cpu_name()}; {platform.python_implementation()} {platform.python_version()}; "
          f"median of {args.runs} run(s), each a fresh process; load average at start "
          f"{os.getloadavg()[0]:.1f} (a shared machine).\n", flush=True)
    rows: list[tuple[str, float, float | None, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "schedule.toml", work / "schedule.toml")
        if not args.no_build:
            build = median_of([*XLSCHEDULE, "build", "--out", "built"], work, args.runs)
            bare_values(work / "built", work / "values.json")
            bare = median_of([sys.executable, str(HERE / "bare_build.py"), "values.json", "bare"], work, args.runs)
            rows.append(("build 43 workbooks", *build, *bare))
            print(f"build: {build[0]:.1f} s; bare openpyxl {bare[0]:.1f} s", flush=True)
        started = time.perf_counter()
        sets = make_sets(work, sizes)
        print(f"generated {', '.join(map(str, sizes))} returns in {time.perf_counter() - started:.0f} s", flush=True)
        for n, folder in sorted(sets.items()):
            ledger = work / f"ledger{n}.sqlite"  # one per set: the smaller sets share the bigger one's files
            cmd = [*XLSCHEDULE, "ingest", str(folder), "--out", f"c{n}.xlsx", "--csv", f"c{n}.csv",
                   "--db", str(ledger)]
            ours = median_of(cmd, work, args.runs, ok=(0, 1), fresh=ledger)
            print(f"ingest {n}: {ours[0]:.1f} s, {fmt_mb(ours[1])}", flush=True)
            spare = sorted(sets[max(sizes)].glob("*.xlsx"), key=lambda p: p.stem.rsplit("-", 1)[1])
            if n < len(spare):  # one new return arrives: the next run reads it alone
                os.link(spare[n], folder / spare[n].name)
                again = run(cmd, work, ok=(0, 1))
                print(f"re-run {n} + 1 new: {again[0]:.1f} s, {fmt_mb(again[1])}", flush=True)
                rows.append((f"ingest {n:,} + 1 new return, after a run", *again, *ours))
            if args.no_plain:
                continue
            plain = median_of([sys.executable, str(HERE / "plain_ingest.py"), str(folder), f"p{n}.xlsx"], work,
                              args.runs)
            print(f"plain {n}: {plain[0]:.1f} s, {fmt_mb(plain[1])}", flush=True)
            rows.append((f"ingest {n:,} returns, cold", *ours, *plain))
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.\n")
    print("| job | xlschedule | peak memory | baseline | peak memory | ratio |")
    print("|---|---|---|---|---|---|")
    for job, t, mem, base_t, base_mem in rows:
        print(f"| {job} | {t:.1f} s | {fmt_mb(mem)} | {base_t:.1f} s | {fmt_mb(base_mem)} | {t / base_t:.2f}x |")


if __name__ == "__main__":
    main()
