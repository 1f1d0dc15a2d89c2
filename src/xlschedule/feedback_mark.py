"""How xlschedule marks a copy of a return it writes, and how ingest recognises what it added.

Two kinds of copy are a fresh blank with a return's answers typed in: a feedback copy (feedback.py),
and an upgraded return (upgrade.py). Both mark cells the same way (`mark_cells`: a note and a red
highlight), which no check reads. What they add as text is recorded in the metadata sheet with a digest,
so that ingest can tell it, unchanged, from an edit:

- a feedback copy's sheet of findings: its name and digest; the sheet is not part of the return and is
  passed over (`recognised`); anything else (the sheet edited, or another sheet) is `sheet-added`;
- an upgraded return's line on the cover saying what to re-check: its cells and their digest; those
  cells are passed over while unchanged (`added_cover_cells`), and are locked cells changed otherwise.

The blank's own sheets are checked cell by cell as always.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Border, PatternFill, Side
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.worksheet.worksheet import Worksheet

from . import layout
from .model import COVER_SHEET, META_SHEET
from .packager import excel_read, excel_text
from .read import WorkbookSnapshot, as_text

#: The metadata keys a feedback copy adds below the blank's own (layout.META_KEYS).
SHEET_KEY = "feedback_sheet"
DIGEST_KEY = "feedback_digest"
#: The metadata keys an upgraded return adds: the cover cells of its re-check line, and their digest.
COVER_CELLS_KEY = "cover_added_cells"
COVER_DIGEST_KEY = "cover_added_digest"
KEYS = (SHEET_KEY, DIGEST_KEY, COVER_CELLS_KEY, COVER_DIGEST_KEY)

#: Who the notes are from.
AUTHOR = "xlschedule"
#: The highlight on a marked cell: Excel's light red "bad" fill, and a dark red border.
FLAG_RED = "C00000"
FLAG_FILL = "FFC7CE"
FLAG = DifferentialStyle(fill=PatternFill(bgColor=FLAG_FILL))
FLAG_SIDE = Side(style="medium", color=FLAG_RED)
FLAG_BORDER = Border(left=FLAG_SIDE, right=FLAG_SIDE, top=FLAG_SIDE, bottom=FLAG_SIDE)


def sheet_digest(cells: Mapping[str, object]) -> str:
    """A digest of a sheet's text, cell by cell (coordinate -> value), as any client saves it back:
    white space runs (line breaks written as CR LF or LF) read as one space, empty cells not at all."""
    digest = hashlib.sha256()
    for coord in sorted(cells):
        text = " ".join(as_text(cells[coord]).split()) if cells[coord] is not None else ""
        if text:
            digest.update(f"{coord}\0{text}\0".encode())
    return digest.hexdigest()


def recognised(snap: WorkbookSnapshot) -> str | None:
    """The name of the feedback sheet xlschedule added to this workbook, if it is there unchanged; else None."""
    meta = snap.meta() or {}
    name, want = meta.get(SHEET_KEY), meta.get(DIGEST_KEY)
    sheet = snap.sheets.get(name or "")
    if sheet is None or not want:
        return None
    got = sheet_digest({coord: cv.value for coord, cv in sheet.cells.items() if not cv.is_formula})
    formulas = any(cv.is_formula for cv in sheet.cells.values())
    return name if got == want and not formulas else None


def added_cover_cells(snap: WorkbookSnapshot) -> set[str]:
    """The cover cells xlschedule added to this workbook (an upgraded return's re-check line), if they are
    there unchanged; else none."""
    meta = snap.meta() or {}
    coords, want = (meta.get(COVER_CELLS_KEY) or "").split(), meta.get(COVER_DIGEST_KEY)
    cover = snap.sheets.get(COVER_SHEET)
    if not coords or not want or cover is None:
        return set()
    there = {coord: cover.cells[coord] for coord in coords if coord in cover.cells}
    if any(cv.is_formula for cv in there.values()):
        return set()
    return set(coords) if sheet_digest({c: cv.value for c, cv in there.items()}) == want else set()


def record(wb: Workbook, entries: Mapping[str, str]) -> None:
    """Add `entries` to the metadata sheet, below what it has (the blank's own keys come first)."""
    meta = wb[META_SHEET]
    row = meta.max_row + 1
    for offset, (key, value) in enumerate(entries.items()):
        meta[f"{layout.META_KEY_COL}{row + offset}"] = key
        meta[f"{layout.META_VALUE_COL}{row + offset}"] = value


def as_read(cells: Iterable[tuple[str, object]]) -> dict[str, object]:
    """Cells (coordinate, value written) as ingest will read them back, for a digest."""
    return {coord: excel_read(value) if isinstance(value, str) else value for coord, value in cells
            if value is not None}


def record_cover_cells(wb: Workbook, coords: list[str]) -> None:
    """Record cells xlschedule wrote on the blank's cover (cells the blank leaves empty), so that ingest passes
    over them while they are unchanged."""
    cover = wb[COVER_SHEET]
    digest = sheet_digest(as_read((coord, cover[coord].value) for coord in coords))
    record(wb, {COVER_CELLS_KEY: " ".join(coords), COVER_DIGEST_KEY: digest})


def mark_cells(wb: Workbook, marks: Mapping[tuple[str, str], list[str]]) -> None:
    """A note on each marked cell ((sheet, cell) -> its paragraphs), a border round it, and a fill from a
    conditional format placed before the blank's own (which turn a filled input white), so the highlight
    shows whatever the cell holds. No check reads notes, borders or conditional formats."""
    by_sheet: dict[str, list[str]] = {}
    for (sheet, coord), paragraphs in marks.items():
        if sheet not in wb.sheetnames:
            continue
        cell = wb[sheet][coord]
        text = "\n\n".join(paragraphs)
        cell.comment = Comment(excel_text(text), AUTHOR, height=min(400, 60 + 15 * (len(text) // 45)), width=320)
        cell.border = FLAG_BORDER
        by_sheet.setdefault(sheet, []).append(coord)
    for sheet, coords in by_sheet.items():
        _flag_first(wb[sheet], " ".join(layout.cell_ranges(coords)))


def _flag_first(ws: Worksheet, cells: str) -> None:
    """The highlight as the sheet's first conditional format, by priority (Excel) and in order (LibreOffice,
    which applies the first of overlapping formats)."""
    existing = ws.conditional_formatting
    fresh = ConditionalFormattingList()
    fresh.add(cells, Rule(type="expression", dxf=FLAG, formula=["TRUE"], stopIfTrue=True))
    for cf in existing:
        for rule in cf.rules:
            rule.priority = fresh.max_priority + 1
            fresh.add(cf, rule)
    ws.conditional_formatting = fresh
