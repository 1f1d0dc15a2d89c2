"""The look shared by every workbook we write: fills, fonts, borders, and how tall a row of text must be.

Every font names its face and size: a font without a name is drawn in whatever the reading application
substitutes, often a wide serif that clips labels."""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.differential import DifferentialStyle

# --- colours ---------------------------------------------------------------------------------

NAVY = "1F3864"
PALE_BLUE = "DDEBF7"
PALE_YELLOW = "FFF2CC"
PALE_GREY = "E7E6E6"
PALE_ORANGE = "F8CBAD"
LINE_GREY = "808080"
DARK_GREY = "404040"
WHITE = "FFFFFF"

# --- fonts: one face, named everywhere -------------------------------------------------------

FACE = "Calibri"
BODY_SIZE = 11
BODY = Font(name=FACE, size=BODY_SIZE)
TITLE_FONT = Font(name=FACE, size=14, bold=True)
BOLD = Font(name=FACE, size=BODY_SIZE, bold=True)
ITALIC = Font(name=FACE, size=BODY_SIZE, italic=True)
HEADER_FONT = Font(name=FACE, size=BODY_SIZE, bold=True, color=WHITE)
ID_FONT = Font(name=FACE, size=BODY_SIZE, bold=True, color=NAVY)  # the return's identity on every sheet
NOTE_FONT = Font(name=FACE, size=10, bold=True, color="C00000")  # evidence too long to print whole
SMALL = Font(name=FACE, size=10, color=DARK_GREY)
#: Header and footer text, as Excel's "&"font,style"&size" codes take it.
HEADER_FOOTER_FONT = f"{FACE},Regular"
HEADER_FOOTER_SIZE = 9

# --- cell styles -----------------------------------------------------------------------------

INPUT_FILL = PatternFill("solid", fgColor=PALE_YELLOW)
HEADER_FILL = PatternFill("solid", fgColor=NAVY)
BAND_FILL = PatternFill("solid", fgColor=PALE_BLUE)  # a judgment row; a band over a block of columns
UNUSED_FILL = PatternFill("solid", fgColor=PALE_GREY)
THIN = Side(style="thin", color=LINE_GREY)
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNDERLINE = Border(bottom=Side(style="medium", color=NAVY))
WRAP = Alignment(wrap_text=True, vertical="top")
CENTRE = Alignment(wrap_text=True, vertical="top", horizontal="center")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="bottom")
LEFT = Alignment(horizontal="left")
UNLOCKED = Protection(locked=False)

# Conditional formats: an input once filled turns white (yellow means still to do); evidence too long
# to print whole turns orange. Fills only: a differential font would be one without a name.
FILLED = DifferentialStyle(fill=PatternFill(bgColor=WHITE))
TOO_LONG = DifferentialStyle(fill=PatternFill(bgColor=PALE_ORANGE))

# --- row heights -------------------------------------------------------------------------------
#
# openpyxl cannot measure text and Excel does not refit rows on open, so rows of wrapped text get a
# height from an estimate: characters a column holds per line, lines of text, points per line.

LINE_HEIGHT = 15.0  # points per line of 11-point text
ROW_PADDING = 3.0
MAX_ROW_HEIGHT = 409.0  # Excel's limit, in points
CHARS_PER_WIDTH = 1.1  # characters of prose per unit of column width, roughly


def wrapped_lines(text: str, width: float) -> int:
    """Lines `text` takes when wrapped in a column `width` units wide (each line break starts a line)."""
    per_line = max(1, int(width * CHARS_PER_WIDTH))
    return sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))


def row_height(lines: int) -> float:
    """Points for `lines` lines of text, capped at Excel's maximum."""
    return min(MAX_ROW_HEIGHT, lines * LINE_HEIGHT + ROW_PADDING)


def text_height(text: str, width: float) -> float:
    return row_height(wrapped_lines(text, width))
