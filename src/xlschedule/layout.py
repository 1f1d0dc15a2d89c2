"""The one map of where everything sits in a workbook.

The builder writes to these places and the reader reads from them, so the two cannot drift apart.
Change the layout and bump LAYOUT_VERSION: returns record the version they were built with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .model import COVER_SHEET, META_SHEET, Mode, Schedule, Section

LAYOUT_VERSION = 1

# Section sheets: rows.
TITLE_ROW = 1
INDICATOR_ROW = 2
GUIDANCE_ROW = 3
JUDGMENT_HEADER_ROW = 5
JUDGMENT_ROW = 6
ITEM_HEADER_ROW = 8
FIRST_ITEM_ROW = 9

# Cover sheet: label in column A, value in column B.
COVER_LABEL_COL = "A"
COVER_VALUE_COL = "B"
COVER_ROWS = {
    "force": 4,
    "inspection": 5,
    "mode": 6,
    "marking": 7,
    "return_ref": 9,
    "inspector": 10,
    "date": 11,
    "completion": 12,
}
COVER_INPUTS = ("return_ref", "inspector", "date")
COVER_INSTRUCTIONS_ROW = 14

Kind = Literal["score", "policy", "evidence", "cover"]


@dataclass(frozen=True)
class Columns:
    """Column letters of a section sheet in one mode; None where the mode has no such column."""

    ref: str
    text: str
    score: str | None
    policy: str | None
    evidence: str

    @property
    def last(self) -> str:
        return self.evidence


def columns(mode: Mode) -> Columns:
    if mode is Mode.NARRATIVE:
        return Columns(ref="A", text="B", score=None, policy=None, evidence="C")
    return Columns(ref="A", text="B", score="C", policy="D", evidence="E")


@dataclass(frozen=True)
class InputCell:
    """One cell an inspector fills in, and what it means."""

    sheet: str
    cell: str
    kind: Kind
    section: str  # section ref, or "cover"
    ref: str  # item ref, judgment ref, or cover field name

    @property
    def is_judgment(self) -> bool:
        return self.ref.endswith(".J")


def item_row(index: int) -> int:
    """Row of the item at 0-based `index` within its section."""
    return FIRST_ITEM_ROW + index


def steps_block_start(section: Section) -> int:
    """Overall sheet: first row of the block that repeats the step judgments (after a blank and a header)."""
    return item_row(len(section.items)) + 2


def cover_cell(field: str) -> str:
    return f"{COVER_VALUE_COL}{COVER_ROWS[field]}"


def section_inputs(section: Section, mode: Mode) -> list[InputCell]:
    cols = columns(mode)
    cells: list[InputCell] = []

    def add(col: str | None, row: int, kind: Kind, ref: str) -> None:
        if col is not None:
            cells.append(InputCell(section.sheet, f"{col}{row}", kind, section.ref, ref))

    add(cols.score, JUDGMENT_ROW, "score", section.judgment_ref)
    add(cols.policy, JUDGMENT_ROW, "policy", section.judgment_ref)
    add(cols.evidence, JUDGMENT_ROW, "evidence", section.judgment_ref)
    for i, item in enumerate(section.items):
        add(cols.score, item_row(i), "score", item.ref)
        add(cols.evidence, item_row(i), "evidence", item.ref)
    return cells


def input_cells(schedule: Schedule, mode: Mode) -> list[InputCell]:
    """Every unlocked cell of a workbook, in sheet order."""
    cells = [InputCell(COVER_SHEET, cover_cell(f), "cover", "cover", f) for f in COVER_INPUTS]
    for section in schedule.sections:
        cells.extend(section_inputs(section, mode))
    return cells


def answer_cells(schedule: Schedule, mode: Mode) -> list[InputCell]:
    """The cells that count towards completion: scores in the scored modes, evidence in narrative."""
    kind = "evidence" if mode is Mode.NARRATIVE else "score"
    return [c for c in input_cells(schedule, mode) if c.kind == kind]


def sheet_names(schedule: Schedule) -> list[str]:
    """Visible sheets in order, then the hidden metadata sheet."""
    return [COVER_SHEET, *(s.sheet for s in schedule.sections), META_SHEET]
