"""Peak memory and time of ingesting a decompression bomb beside a good return.

Run from the repository root: `python benchmarks/bomb.py [--gigabytes 2]`. It makes a small file
whose zip inflates to the given size, puts a good return beside it, and runs
`/usr/bin/time -v xlschedule ingest` on both. Prints the bomb's size on disk, its declared size, the
wall time, the peak resident memory and the finding. The goal is under 300 MB and a few seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_bomb(good: bytes, path: Path, size: int) -> None:
    """Stream zeros into a deflated part: the file stays small and making it costs no memory."""
    path.write_bytes(good)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        info = zipfile.ZipInfo("xl/worksheets/sheet99.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            block = b"\0" * 2**24
            for _ in range(size // len(block)):
                fh.write(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gigabytes", type=float, default=2.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from xlschedule.build import build_workbook
    from xlschedule.model import Mode
    from xlschedule.packager import workbook_bytes
    from xlschedule.samples import answers, fill
    from xlschedule.schedule import load_schedule

    schedule = load_schedule(ROOT / "schedule.toml")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        good = work / "Kent-good.xlsx"
        blank = workbook_bytes(build_workbook(schedule, "Kent", Mode.YESNO))
        fill(blank, answers(schedule, Mode.YESNO, 1, "K-1"), good)
        bomb = work / "Essex-bomb.xlsx"
        make_bomb(good.read_bytes(), bomb, int(args.gigabytes * 2**30))
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "xlschedule", "ingest", str(bomb), str(good),
               "--out", str(work / "c.xlsx"), "--report", str(work / "r.json")]
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
        peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
        wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", result.stderr).group(1)
        report = json.loads((work / "r.json").read_text())
        codes = {Path(r["file"]).name: [f["code"] for f in r["findings"]] or r["status"] for r in report["returns"]}
        print(f"bomb on disk {bomb.stat().st_size / 2**20:.1f} MB, declared {args.gigabytes:.1f} GB")
        print(f"ingest exit {result.returncode}, wall {wall}, peak RSS {peak_kb / 1024:.0f} MB")
        print(f"findings: {codes}")


if __name__ == "__main__":
    main()
