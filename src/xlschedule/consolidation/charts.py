"""The Charts sheet: for each scored mode, the overall judgment by force (sorted, on the scale's own axis)
and the step profile (the mean judgment of each section), each chart beside the table it draws.

One series, one colour, the value on every bar: nothing is read from colour or a legend.
"""

from __future__ import annotations

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Font, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from ..model import Mode, Return
from . import palette
from .kit import BOLD, FACE, NOT_AVAILABLE, Frame, fit_rows, header, print_setup, put, table, top
from .run import Figure, Run, figure, scale_range

CM_PER_ROW = 0.53  # a 15-point row
CHART_COLUMN = "D"


def text_properties(size: int = 900, bold: bool = False) -> RichText:
    """Chart text in the workbook's face at `size` hundredths of a point: no client picks its own."""
    props = CharacterProperties(latin=Font(typeface=FACE), sz=size, b=bold)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def title_of(text: str, size: int = 1200, bold: bool = True) -> Title:
    """A chart or axis title in the workbook's face."""
    props = CharacterProperties(latin=Font(typeface=FACE), sz=size, b=bold)
    para = Paragraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=text)])
    return Title(tx=Text(rich=RichText(p=[para])), overlay=False)


def bar_chart(ws: Worksheet, mode: Mode, run: Run, head: int, last: int, title: str) -> BarChart:
    """Horizontal bars in table order (first row at the top), the value at each bar's end."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = title_of(title)
    chart.style = 2
    chart.add_data(Reference(ws, min_col=2, min_row=head, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=head + 1, max_row=last))
    series = chart.series[0]
    series.graphicalProperties.solidFill = palette.BAR
    series.graphicalProperties.line.solidFill = palette.BAR
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False,
                                     showPercent=False, txPr=text_properties())
    chart.legend = None
    chart.gapWidth = 40
    chart.x_axis.scaling.orientation = "maxMin"  # the table's first row at the top
    chart.x_axis.delete = False  # openpyxl 3.1 hides axes in current Excel unless told otherwise
    chart.y_axis.delete = False
    chart.y_axis.crosses = "max"  # with the categories reversed, the value axis along the bottom
    if mode is Mode.SCALE:
        lo, hi = scale_range(run.schedule)
        chart.y_axis.scaling.min, chart.y_axis.scaling.max, chart.y_axis.majorUnit = lo, hi, 1
        chart.y_axis.number_format = "0"
        chart.y_axis.title = title_of("Mean judgment score", 900)
    else:
        chart.y_axis.scaling.min, chart.y_axis.scaling.max, chart.y_axis.majorUnit = 0, 1, 0.25
        chart.y_axis.number_format = "0%"
        chart.y_axis.title = title_of(f"Share of {run.schedule.modes[mode].options[0]}", 900)
    chart.y_axis.majorGridlines = None
    for axis in (chart.x_axis, chart.y_axis):
        axis.txPr = text_properties()
    chart.height = max(6.0, 0.6 * (last - head) + 3)
    chart.width = 16.0
    return chart


def data_table(ws: Worksheet, row: int, name: str, labels: tuple[str, str], rows: list[tuple[str, Figure]],
               widths: tuple[float, float]) -> tuple[int, int]:
    """A two-column table (label, figure) from `row`; its header row and last row."""
    header(ws, row, list(labels), list(widths))
    last = row
    for last, (label, fig) in enumerate(rows, start=row + 1):
        put(ws, last, 1, label)
        put(ws, last, 2, fig.cell).number_format = fig.number_format
        fit_rows(ws, last, [(label, widths[0])])
    table(ws, name, row, 2, len(rows), stripes=False)
    return row, max(last, row + 1)


def sorted_forces(run: Run, mode: Mode, forces: dict[str, list[Return]]) -> list[tuple[str, Figure]]:
    """Forces by their overall judgment, highest first (ties by name); those without a figure last."""
    figs = [(force, figure(run, mode, returns, run.schedule.overall.judgment_ref)) for force, returns in forces.items()]
    return sorted(figs, key=lambda f: (f[1].value is None, -(f[1].value or 0), f[0].casefold()))


def write_charts(ws: Worksheet, run: Run, frame: Frame) -> None:
    groups = run.scored_groups()
    row = top(ws, frame, "Charts: overall judgment by force, and the step profile", [
        "Each chart draws the table to its left; the figures and their n are in the table. [z] and [x]: see Notes.",
    ])
    ws.column_dimensions["C"].width = 3
    if not groups:
        put(ws, row + 1, 1, f"{NOT_AVAILABLE} No accepted return in a scored mode: nothing to chart.")
    for mode, forces in groups.items():
        row = mode_charts(ws, run, mode, forces, row + 1)
    print_setup(ws, frame, None)


def mode_charts(ws: Worksheet, run: Run, mode: Mode, forces: dict[str, list[Return]], row: int) -> int:
    """One mode's two tables and charts from `row`; the next free row."""
    schedule = run.schedule
    title = schedule.modes[mode].title
    word = "mean score" if mode is Mode.SCALE else f"share of {schedule.modes[mode].options[0]}"
    overall = schedule.overall.label
    put(ws, row, 1, f"{title}: {overall.lower()}, {word}, by force (sorted)").font = BOLD
    head, last = data_table(ws, row + 1, f"Chart_overall_{mode.value}", ("Force", overall),
                            sorted_forces(run, mode, forces), (28, 16))
    drawn = [r for r in range(head + 1, last + 1) if not isinstance(ws.cell(r, 2).value, str)]
    chart = bar_chart(ws, mode, run, head, max(drawn, default=head + 1),
                      f"{overall}: {word} by force ({title})")
    ws.add_chart(chart, f"{CHART_COLUMN}{row}")
    row = max(last, row + int(chart.height / CM_PER_ROW)) + 3
    ws.row_breaks.append(Break(id=row - 1))  # each chart starts a printed page
    put(ws, row, 1, f"{title}: step profile, {word} by section").font = BOLD
    returns = [r for rs in forces.values() for r in rs]
    profile = [(s.label, figure(run, mode, returns, s.judgment_ref)) for s in schedule.sections]
    head, last = data_table(ws, row + 1, f"Chart_steps_{mode.value}", ("Section", "All forces"), profile, (34, 16))
    chart = bar_chart(ws, mode, run, head, last, f"Step profile: {word} by section ({title})")
    ws.add_chart(chart, f"{CHART_COLUMN}{row}")
    row = max(last, row + int(chart.height / CM_PER_ROW)) + 3
    ws.row_breaks.append(Break(id=row - 1))
    return row
