"""How every sheet of the consolidated workbook is framed: named fonts, the marking on screen and in
print, a title and notes above one table, the table marked up for Excel, and a print setup.

Text from a return is written as inert text, never as a live formula: returns come from outside, and a
cell such as `=HYPERLINK(...)` must not run on an analyst's machine.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from ..packager import excel_text

# --- fonts and fills: every font names its face and size, so no client substitutes a wide serif ----

FACE = "Calibri"
SIZE = 11
BODY = Font(name=FACE, size=SIZE)
BOLD = Font(name=FACE, size=SIZE, bold=True)
TITLE = Font(name=FACE, size=14, bold=True)
MARKING = Font(name=FACE, size=12, bold=True)
HEADER = Font(name=FACE, size=SIZE, bold=True, color="FFFFFF")
LINK = Font(name=FACE, size=SIZE, color="0563C1", underline="single")
NAVY = "1F3864"
HEADER_FILL = PatternFill("solid", fgColor=NAVY)

#: Vertical top everywhere, so a number reads on the same line as the text beside it.
TOP = Alignment(vertical="top")
TOP_WRAP = Alignment(vertical="top", wrap_text=True)
#: A figure or code stands right, one indent in from its cell's edge, so it never prints run together with
#: left-aligned text in the next column ("2missing-inspector").
TOP_RIGHT = Alignment(vertical="top", horizontal="right", indent=1)
TOP_CENTRE = Alignment(vertical="top", horizontal="center")
HEAD_ALIGN = Alignment(vertical="top", wrap_text=True)

#: Analysis Function codes for a cell that holds no figure.
NOT_APPLICABLE = "[z]"
NOT_AVAILABLE = "[x]"

LINE_POINTS = 15.0
#: Room for the filter button an Excel table puts in each header cell.
FILTER_BUTTON = 3


# --- text that is safe to put in a cell ------------------------------------------------------


def put(ws: Worksheet, row: int, column: int, value: Any, alignment: Alignment = TOP) -> Cell:
    """Write one value, top-aligned; any string is stored as a string, so `=...` never becomes a formula.

    A number, and a code ([z], [x]) where the number it stands in for would be, is right-aligned one indent in
    (TOP_RIGHT), and a date centred, unless another alignment is asked for: none prints run together with text
    beside it."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = excel_text(value)
        cell.data_type = "s"
        if value in (NOT_APPLICABLE, NOT_AVAILABLE):
            alignment = TOP_RIGHT
    else:
        cell.value = value
        if alignment is TOP and isinstance(value, date):
            alignment = TOP_CENTRE  # LibreOffice prints a date at its cell's right edge whatever the indent
        elif alignment is TOP and isinstance(value, int | float) and not isinstance(value, bool):
            alignment = TOP_RIGHT
    align(cell, alignment)
    return cell


#: Per workbook, each alignment object's index in its style table (id(alignment): (alignment, index)).
_ALIGNMENT_IDS: weakref.WeakKeyDictionary[Workbook, dict[int, tuple[Alignment, int]]] = weakref.WeakKeyDictionary()


def align(cell: Cell, alignment: Alignment) -> None:
    """`cell.alignment = alignment`, as openpyxl does it (the alignment's index in the workbook's style table,
    added there the first time), with the index looked up once per alignment and workbook: openpyxl hashes
    every field of the alignment for every cell, the most of a small sheet's time."""
    wb = cell.parent.parent
    known = _ALIGNMENT_IDS.get(wb)
    if known is None:
        known = _ALIGNMENT_IDS[wb] = {}
    found = known.get(id(alignment))
    if found is None or found[0] is not alignment:
        found = known[id(alignment)] = (alignment, wb._alignments.add(alignment))
    if not cell._style:  # a new cell has none yet
        cell._style = StyleArray()
    cell._style.alignmentId = found[1]


def inert(ws: Worksheet, value: Any) -> Any:
    """A value for ws.append that can never become a formula: what put() does, for whole rows."""
    if not isinstance(value, str):
        return value
    text = excel_text(value)
    if not text.startswith("="):
        return text  # openpyxl stores any other string as a string
    cell = Cell(ws, value=text)
    cell.data_type = "s"
    return cell


def put_row(ws: Worksheet, row: int, values: Sequence[Any], first_column: int = 1) -> None:
    for offset, value in enumerate(values):
        put(ws, row, first_column + offset, value)


def area(first_col: int, first_row: int, last_col: int, last_row: int) -> str:
    return f"{get_column_letter(first_col)}{first_row}:{get_column_letter(last_col)}{last_row}"


# --- how tall a row of wrapped text must be ------------------------------------------------------


def word_lines(text: str, width: float, bold: bool = False) -> int:
    """Lines `text` takes when word-wrapped in a column `width` units wide (a long word is broken).

    Greedy, as a client wraps: each line takes as many whole words as fit, one space between them (any run
    of whitespace counts as one); a word longer than a line starts a line of its own and runs on over as
    many lines as it needs, and the next word may join its last line. Every line break starts a line."""
    per_line = max(1, int(width * (1.0 if bold else 1.15)))
    if "\n" in text:
        return sum(_paragraph_lines(paragraph, per_line) for paragraph in text.split("\n"))
    return _paragraph_lines(text, per_line)


def _paragraph_lines(paragraph: str, per_line: int) -> int:
    """word_lines for text with no line break: found a line at a time (the last space that fits), not a word
    at a time, so long evidence costs one search per line."""
    if len(paragraph) <= per_line:
        return 1  # the words and single spaces between them are no longer than the paragraph
    words = " ".join(paragraph.split())
    start, lines = 0, 1
    while len(words) - start > per_line:
        space = words.rfind(" ", start, start + per_line + 1)
        if space > start:  # the line ends after the last word that fits
            start = space + 1
            lines += 1
            continue
        # A word longer than a line (it starts this one): its full lines, then its rest starts the next.
        stop = words.find(" ", start)
        full = ((len(words) if stop < 0 else stop) - start - 1) // per_line
        start += full * per_line
        lines += full
    return lines


def fit_rows(ws: Worksheet, row: int, texts: Sequence[tuple[str, float]], bold: bool = False) -> None:
    """Give a row of wrapped text the height its tallest cell needs, from (text, column width) pairs."""
    height = fit_height(max((word_lines(t, w, bold) for t, w in texts), default=1))
    if height is not None:
        ws.row_dimensions[row].height = height


def fit_height(lines: int) -> float | None:
    """The height fit_rows gives a row whose tallest cell wraps to `lines` lines; None (the default) for one."""
    return min(409.0, lines * LINE_POINTS + 4) if lines > 1 else None


def header_width(label: str, least: float) -> float:
    """A column wide enough that its header's longest word and the filter button never clip."""
    longest = max((len(w) for w in label.split()), default=0)
    return max(least, round(longest * 1.05) + FILTER_BUTTON + 1)


# --- one sheet: marking, title, notes, table, print setup ----------------------------------------------


@dataclass(frozen=True)
class Frame:
    """What every sheet shows above its table and in its header and footer."""

    marking: str
    title: str  # the workbook's title, for the print header


def top(ws: Worksheet, frame: Frame, title: str, notes: Sequence[str] = ()) -> int:
    """The marking (row 1), the sheet's title (row 2) and its notes, one short line each; the next free row."""
    put(ws, 1, 1, frame.marking).font = MARKING
    put(ws, 2, 1, title).font = TITLE
    ws.row_dimensions[2].height = 20
    row = 3
    for note in notes:
        put(ws, row, 1, note)
        row += 1
    return row


def header(ws: Worksheet, row: int, labels: Sequence[str], widths: Sequence[float], first_column: int = 1) -> None:
    """A table's header row: bold white on navy, wrapped whole, columns wide enough for their longest word."""
    fitted = [header_width(label, width) for label, width in zip(labels, widths, strict=True)]
    for offset, (label, width) in enumerate(zip(labels, fitted, strict=True)):
        cell = put(ws, row, first_column + offset, label, HEAD_ALIGN)
        cell.font = HEADER
        cell.fill = HEADER_FILL
        letter = get_column_letter(first_column + offset)
        ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, width)
    fit_rows(ws, row, [(label, w - 1) for label, w in zip(labels, fitted, strict=True)], bold=True)


def table(ws: Worksheet, name: str, head: int, columns: int, rows: int, first_column: int = 1,
          stripes: bool = True) -> None:
    """Mark up a block as an Excel table (header row, filter buttons); a table needs one body row at least."""
    last = head + max(1, rows)
    t = Table(displayName=name, ref=area(first_column, head, first_column + columns - 1, last))
    t.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=stripes)
    ws.add_table(t)


def print_setup(ws: Worksheet, frame: Frame, head: int | None, landscape: bool = True,
                name_columns: str | None = None, freeze: str | None = None) -> None:
    """Marking top and bottom of every printed page; fit to the page's width; the header row repeated."""
    marking = frame.marking.replace("&", "&&")
    ws.oddHeader.center.text = marking
    ws.oddHeader.center.font = f"{FACE},Bold"
    ws.oddHeader.left.text = "&A"  # the sheet's name
    ws.oddFooter.center.text = marking
    ws.oddFooter.center.font = f"{FACE},Bold"
    ws.oddFooter.left.text = frame.title.replace("&", "&&")
    ws.oddFooter.right.text = "Page &P of &N"
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.25
    if head is not None:
        ws.print_title_rows = f"{head}:{head}"
    if name_columns:
        ws.print_title_cols = name_columns
    ws.freeze_panes = freeze or (f"A{head + 1}" if head is not None else None)
