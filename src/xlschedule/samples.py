"""Completed sample returns, filled into freshly built blanks, so they stay in step with the schedule.

`xlschedule samples` writes them to samples/. They are for trying ingest and for training; their
evidence is invented and says so.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from . import layout
from .build import build_workbook, open_blank
from .model import COVER_SHEET, Mode, Schedule
from .packager import workbook_bytes, write_atomic

Cells = Mapping[tuple[str, str], Any]  # (sheet, cell) -> value


@dataclass(frozen=True)
class Sample:
    file: str
    force: str
    mode: Mode
    return_ref: str
    seed: int
    problems: bool = False


SAMPLES = (
    Sample("Kent-K-001.xlsx", "Kent", Mode.YESNO, "K-001", 1),
    Sample("Kent-K-002.xlsx", "Kent", Mode.YESNO, "K-002", 2),
    Sample("Essex-E-001.xlsx", "Essex", Mode.SCALE, "E-001", 3),
    Sample("Cumbria-C-001.xlsx", "Cumbria", Mode.NARRATIVE, "C-001", 4),
    Sample("Essex-E-002-with-problems.xlsx", "Essex", Mode.SCALE, "E-002", 5, problems=True),
)


def answers(schedule: Schedule, mode: Mode, seed: int, return_ref: str = "R-1") -> dict[tuple[str, str], Any]:
    """A complete, plausible set of answers: every input cell filled, with a few N/A."""
    rng = random.Random(seed)
    options = schedule.modes[mode].options
    policy = schedule.policy_fit_options()
    values: dict[tuple[str, str], Any] = {
        (COVER_SHEET, layout.cover_cell("return_ref")): return_ref,
        (COVER_SHEET, layout.cover_cell("inspector")): f"Sample inspector {seed}",
        (COVER_SHEET, layout.cover_cell("date")): date(2026, 11, 2) + timedelta(days=seed % 28),
    }
    for cell in layout.input_cells(schedule, mode):
        key = (cell.sheet, cell.cell)
        if cell.kind == "score":
            na = rng.random() < 0.05 and not cell.is_judgment  # an N/A step would need N/A items too
            pick = schedule.schedule.not_applicable if na else rng.choice(options)
            values[key] = int(pick) if pick.isdigit() else pick
        elif cell.kind == "policy":
            values[key] = rng.choice(policy)
        elif cell.kind == "evidence":
            values[key] = f"Sample evidence for {cell.ref} (invented for training; case {return_ref})."
    return values


def fill(blank: bytes | Path, values: Cells, out: Path) -> None:
    """Type `values` into a blank's cells, keeping its protection, validations and hidden sheet."""
    wb = open_blank(blank if isinstance(blank, bytes) else blank.read_bytes())
    for (sheet, cell), value in values.items():
        wb[sheet][cell].value = value
    write_atomic(out, workbook_bytes(wb))


def make_samples(schedule: Schedule, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for sample in SAMPLES:
        values = answers(schedule, sample.mode, sample.seed, sample.return_ref)
        if sample.problems:
            first = schedule.steps[0]
            cols = layout.columns(sample.mode)
            values[(first.sheet, f"{cols.score}{layout.item_row(0)}")] = 7  # pasted past the dropdown
            values[(first.sheet, f"{cols.score}{layout.item_row(1)}")] = 1  # a low score ...
            values[(first.sheet, f"{cols.evidence}{layout.item_row(1)}")] = None  # ... with no evidence
            del values[(COVER_SHEET, layout.cover_cell("inspector"))]
        blank = workbook_bytes(build_workbook(schedule, sample.force, sample.mode))
        path = out_dir / sample.file
        fill(blank, values, path)
        written.append(path)
    return written
