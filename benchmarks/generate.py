"""Sets of filled returns for the benchmarks, made fast: one blank per force and mode, built and filled
once with a marker in every input cell; each return is then that package with the markers' cells
rewritten in the sheet XML (varied scores, N/A, a few unanswered, evidence from a few words to 2,000
characters). Usage: python generate.py OUT_DIR COUNT [SEED]
"""

from __future__ import annotations

import random
import re
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from xlschedule import layout  # noqa: E402
from xlschedule.build import build_workbook  # noqa: E402
from xlschedule.model import Mode, Schedule  # noqa: E402
from xlschedule.packager import workbook_bytes  # noqa: E402
from xlschedule.samples import answers, fill  # noqa: E402
from xlschedule.schedule import load_schedule  # noqa: E402

MARK = re.compile(r'<c r="([A-Z]+\d+)" s="(\d+)" t="inlineStr"><is><t>XLSMARK(\d+)X</t></is></c>')
WORDS = ("the officer recorded the referral and spoke to the child within the hour; supervision was seen "
         "on the file but the strategy discussion was late and the risk assessment did not name the "
         "suspect; partners were told and safeguarding was reviewed after the arrest").split()


class Blank:
    """A force's blank in one mode, filled with a numbered marker in every input cell."""

    def __init__(self, schedule: Schedule, force: str, mode: Mode, tmp: Path) -> None:
        self.cells = [c for c in layout.input_cells(schedule, mode) if c.kind != "cover"]
        values: dict[tuple[str, str], object] = dict(answers(schedule, mode, 0, "XLSRETURNX"))  # the cover
        values.update({(c.sheet, c.cell): f"XLSMARK{n}X" for n, c in enumerate(self.cells)})
        path = tmp / "blank.xlsx"
        fill(workbook_bytes(build_workbook(schedule, force, mode)), values, path)
        with zipfile.ZipFile(path) as z:
            self.parts = [(i.filename, z.read(i.filename)) for i in z.infolist()]
        self.schedule, self.mode = schedule, mode

    def write(self, out: Path, rng: random.Random, return_ref: str) -> None:
        picks = [self.value(c, rng) for c in self.cells]

        def cell(m: re.Match[str]) -> str:
            value = picks[int(m.group(3))]
            if value is None:
                return f'<c r="{m.group(1)}" s="{m.group(2)}"/>'
            if isinstance(value, int):
                return f'<c r="{m.group(1)}" s="{m.group(2)}"><v>{value}</v></c>'
            return f'<c r="{m.group(1)}" s="{m.group(2)}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'

        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in self.parts:
                if name.startswith("xl/worksheets/sheet"):
                    text = MARK.sub(cell, data.decode("utf-8")).replace("XLSRETURNX", escape(return_ref))
                    data = text.encode("utf-8")
                z.writestr(name, data)

    def value(self, c: layout.InputCell, rng: random.Random) -> object:
        s = self.schedule
        if rng.random() < 0.02:
            return None  # unanswered
        if c.kind == "score":
            pick = s.schedule.not_applicable if rng.random() < 0.05 and not c.is_judgment else \
                rng.choice(s.modes[self.mode].options)
            return int(pick) if pick.isdigit() else pick
        if c.kind == "policy":
            return rng.choice(s.policy_fit_options())
        length = min(2000, int(rng.lognormvariate(4.5, 1.2)))  # median ~90 characters, a long tail to 2,000
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < length:
            words.append(rng.choice(WORDS))
        return " ".join(words)[:2000].capitalize() + "."


def mode_of(k: int) -> Mode:
    """Most returns yes/no; every 8th on the 1-5 scale, every 25th written only."""
    return Mode.NARRATIVE if k % 25 == 24 else Mode.SCALE if k % 8 == 7 else Mode.YESNO


def generate(out_dir: Path, count: int, seed: int = 13) -> int:
    schedule = load_schedule(ROOT / "schedule.toml")
    out_dir.mkdir(parents=True, exist_ok=True)
    forces = schedule.forces.names
    rng = random.Random(seed)
    blanks: dict[tuple[str, Mode], Blank] = {}
    for k in range(count):
        force, mode = forces[k % len(forces)], mode_of(k)
        if (force, mode) not in blanks:
            blanks[force, mode] = Blank(schedule, force, mode, out_dir)
        blanks[force, mode].write(out_dir / f"{force}-{k:05d}.xlsx", rng, f"R-{k:05d}")
    (out_dir / "blank.xlsx").unlink(missing_ok=True)
    return count


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 13)
