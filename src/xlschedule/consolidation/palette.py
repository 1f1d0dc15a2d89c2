"""Colour that repeats a number and never replaces it: one sequential palette, light to dark.

Pale yellow through green-blue to blue (ColorBrewer's YlGnBu): its lightness falls steadily from the
low end to the high end, so it survives printing in greyscale, and it runs along the blue-yellow axis
that deuteranopes and protanopes see, never red against green. Black text stays readable on every step.
A legend of coloured, labelled cells sits above each heat map.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from .kit import BOLD, LINE_POINTS, TOP_WRAP, put, word_lines

LOW, MID, HIGH = "FFFFCC", "7FCDBB", "2C7FB8"
KEY_ALIGN = Alignment(vertical="top", horizontal="center", wrap_text=True)
#: The one colour of a chart's bars: the palette's high end.
BAR = HIGH


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[0:2], 16), int(hex_colour[2:4], 16), int(hex_colour[4:6], 16)


def colour_at(t: float) -> str:
    """The colour a three-point scale gives at `t` (0 low, 1 high), interpolated as Excel does."""
    t = min(1.0, max(0.0, t))
    a, b, u = (LOW, MID, t * 2) if t <= 0.5 else (MID, HIGH, (t - 0.5) * 2)
    return "".join(f"{round(x + (y - x) * u):02X}" for x, y in zip(_rgb(a), _rgb(b), strict=True))


def luminance(hex_colour: str) -> float:
    """Relative luminance (WCAG): what the colour prints as in greyscale."""
    def linear(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in _rgb(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def heat(ws: Worksheet, cells: str, low: float, high: float | None = None) -> None:
    """Colour the numbers in `cells` from `low` (pale) to `high` (dark), or to the largest value if None."""
    if high is None:
        rule = ColorScaleRule(start_type="num", start_value=low, start_color=LOW,
                              mid_type="percentile", mid_value=50, mid_color=MID,
                              end_type="max", end_color=HIGH)
    else:
        rule = ColorScaleRule(start_type="num", start_value=low, start_color=LOW,
                              mid_type="num", mid_value=(low + high) / 2, mid_color=MID,
                              end_type="num", end_value=high, end_color=HIGH)
    ws.conditional_formatting.add(cells, rule)


def legend(ws: Worksheet, row: int, keys: Sequence[tuple[str, float]], first_column: int = 2) -> int:
    """A colour key on one row: 'Colour key' and a cell per (label, position 0..1); the next free row."""
    put(ws, row, 1, "Colour key (the colour only repeats the number):", TOP_WRAP).font = BOLD
    lines = 1
    for offset, (label, t) in enumerate(keys):
        cell = put(ws, row, first_column + offset, label, KEY_ALIGN)
        cell.fill = PatternFill("solid", fgColor=colour_at(t))
        width = ws.column_dimensions[cell.column_letter].width or 13
        lines = max(lines, word_lines(label, width))
    ws.row_dimensions[row].height = lines * LINE_POINTS + 4
    return row + 1
