"""The one map of where everything sits in a workbook.

The builder writes to these places and the reader reads from them, so the two cannot drift apart.
Change the layout and bump LAYOUT_VERSION: returns record the version they were built with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from openpyxl.utils.cell import column_index_from_string

from .model import COVER_SHEET, META_SHEET, Mode, Schedule, Section, is_judgment_ref

LAYOUT_VERSION = 2

# --- section sheets ------------------------------------------------------------------------
#
# Every section sheet: the title and the return's identity, the column headings (these two rows print
# on every page), the indicator, the guidance, the scoring key, one row per item, then the judgment on
# the indicator under its own heading. The Overall sheet then shows the judgments already given on the
# other sheets, directly below its own judgment, so the inspector reads them while giving it.

TITLE_ROW = 1  # the title in A:B; the return's identity and what is still to do beside it
HEADER_ROW = 2
PRINT_TITLE_ROWS = f"{TITLE_ROW}:{HEADER_ROW}"
INDICATOR_ROW = 3
GUIDANCE_ROW = 4
SCORING_ROW = 5
FIRST_ITEM_ROW = 6
#: Evidence longer than this many characters cannot show whole in one cell (a row is at most 409 points
#: tall); the workbook says so beside the cell, on screen and in print.
LONG_EVIDENCE = 3000

# --- the cover: label in column A, value in column B ---------------------------------------

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
#: The return's identity under the title; rows 1 to this one print on every page of the cover.
COVER_ID_ROW = 3
#: What is still to do, a row per section sheet under a heading; the instructions follow.
COVER_PROGRESS_ROW = 14
#: The dates of audit the cover's validation accepts.
COVER_DATE_FIRST = date(2000, 1, 1)
COVER_DATE_LAST = date(2099, 12, 31)
#: Day 0 of Excel's 1900 date system, as Excel counts it (it believes 1900 was a leap year).
EXCEL_EPOCH = date(1899, 12, 30)
RETURN_REF_MAX = 100
INSPECTOR_MAX = 200

# --- the hidden metadata sheet: key in column A, value in column B, one row each ------------

META_FORMAT = "xlschedule-return"  # the value of the "format" key
META_KEY_COL = "A"
META_VALUE_COL = "B"
META_KEYS = (
    "format",
    "layout_version",
    "schedule_id",
    "schedule_version",
    "schedule_fingerprint",
    "force",
    "mode",
    "tool_version",
    "content_fingerprint",
)


def meta_row(key: str) -> int:
    return META_KEYS.index(key) + 1


def meta_from_cells(cells: Mapping[str, object]) -> dict[str, str]:
    """The metadata sheet's cells (coordinate -> value) as key -> value, pairing the columns by row."""
    keys = {coord[len(META_KEY_COL):]: str(v) for coord, v in cells.items() if _column(coord) == META_KEY_COL}
    values = {coord[len(META_VALUE_COL):]: str(v) for coord, v in cells.items() if _column(coord) == META_VALUE_COL}
    return {key: values.get(row, "") for row, key in keys.items()}


def _column(coord: str) -> str:
    return coord.rstrip("0123456789")


Kind = Literal["score", "policy", "evidence", "cover"]


@dataclass(frozen=True)
class Columns:
    """Column letters of a section sheet in one mode; None where the mode has no such column."""

    ref: str
    text: str
    score: str | None
    policy: str | None  # on the judgment row only
    note: str  # on item rows: the note that evidence is too long to print whole (the policy column's place)
    evidence: str

    @property
    def last(self) -> str:
        return self.evidence

    @property
    def all(self) -> list[str]:
        """Every column of the sheet, left to right."""
        return list(dict.fromkeys(c for c in (self.ref, self.text, self.score, self.note, self.evidence) if c))

    @property
    def after_text(self) -> str:
        """The column after the text: the return's identity starts here in the title row."""
        return self.all[2]


def columns(mode: Mode) -> Columns:
    if mode is Mode.NARRATIVE:
        return Columns(ref="A", text="B", score=None, policy=None, note="C", evidence="D")
    return Columns(ref="A", text="B", score="C", policy="D", note="D", evidence="E")


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
        return is_judgment_ref(self.ref)


@dataclass(frozen=True)
class AnswerRow:
    """The input cells of one judgment or item row; None where the mode has no such cell."""

    sheet: str
    section: str
    ref: str
    score: str | None
    policy: str | None
    evidence: str


def item_row(index: int) -> int:
    """Row of the item at 0-based `index` within its section."""
    return FIRST_ITEM_ROW + index


def judgment_header_row(section: Section) -> int:
    """The heading of the judgment row, straight after the last item."""
    return item_row(len(section.items))


def judgment_row(section: Section) -> int:
    """The judgment on the indicator: after the items, which it sums up."""
    return judgment_header_row(section) + 1


def steps_block_start(section: Section) -> int:
    """Overall sheet: first row of the block that repeats the step judgments, under its heading, straight
    below the overall judgment it is read against."""
    return judgment_row(section) + 2


def cover_cell(field: str) -> str:
    return f"{COVER_VALUE_COL}{COVER_ROWS[field]}"


def answer_rows(section: Section, mode: Mode) -> list[AnswerRow]:
    """The judgment row, then one row per item. Policy fit is asked of the judgment only."""
    cols = columns(mode)

    def row(ref: str, r: int, policy: bool) -> AnswerRow:
        return AnswerRow(
            sheet=section.sheet, section=section.ref, ref=ref,
            score=f"{cols.score}{r}" if cols.score else None,
            policy=f"{cols.policy}{r}" if cols.policy and policy else None,
            evidence=f"{cols.evidence}{r}",
        )

    return [
        row(section.judgment_ref, judgment_row(section), policy=True),
        *(row(item.ref, item_row(i), policy=False) for i, item in enumerate(section.items)),
    ]


def section_inputs(section: Section, mode: Mode) -> list[InputCell]:
    cells: list[InputCell] = []
    for row in answer_rows(section, mode):
        kinds: tuple[tuple[Kind, str | None], ...] = (
            ("score", row.score), ("policy", row.policy), ("evidence", row.evidence)
        )
        for kind, cell in kinds:
            if cell is not None:
                cells.append(InputCell(section.sheet, cell, kind, section.ref, row.ref))
    return cells


def input_cells(schedule: Schedule, mode: Mode) -> list[InputCell]:
    """Every unlocked cell of a workbook, in sheet order."""
    cells = [InputCell(COVER_SHEET, cover_cell(f), "cover", "cover", f) for f in COVER_INPUTS]
    for section in schedule.sections:
        cells.extend(section_inputs(section, mode))
    return cells


def answer_kind(mode: Mode) -> Kind:
    """What makes a row answered: its score in the scored modes, its evidence in narrative."""
    return "evidence" if mode is Mode.NARRATIVE else "score"


def answer_cells(schedule: Schedule, mode: Mode) -> list[InputCell]:
    """The cells that count towards completion."""
    kind = answer_kind(mode)
    return [c for c in input_cells(schedule, mode) if c.kind == kind]


def to_do_cells(section: Section, mode: Mode) -> list[str]:
    """The cells of a section sheet that must be filled for it to be done: its answer cells and the
    judgment's policy fit."""
    kinds = {answer_kind(mode), "policy"}
    return [c.cell for c in section_inputs(section, mode) if c.kind in kinds]


def cell_ranges(cells: list[str]) -> list[str]:
    """Cells as the fewest column ranges: ['C6', 'C9', 'C10', 'C11'] -> ['C6', 'C9:C11']."""
    by_column: dict[str, list[int]] = {}
    for cell in cells:
        by_column.setdefault(_column(cell), []).append(int(cell[len(_column(cell)):]))
    ranges: list[str] = []
    for col in sorted(by_column, key=column_index_from_string):
        rows = sorted(by_column[col])
        start = prev = rows[0]
        for r in [*rows[1:], None]:
            if r is not None and r == prev + 1:
                prev = r
                continue
            ranges.append(f"{col}{start}" if start == prev else f"{col}{start}:{col}{prev}")
            if r is not None:
                start = prev = r
    return ranges


def quote_sheet(name: str) -> str:
    """A sheet name as a formula reference: 'It''s here'."""
    return "'" + name.replace("'", "''") + "'"


def sheet_names(schedule: Schedule) -> list[str]:
    """Visible sheets in order, then the hidden metadata sheet."""
    return [COVER_SHEET, *(s.sheet for s in schedule.sections), META_SHEET]

