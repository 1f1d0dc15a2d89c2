"""Writes the consolidated workbook and the tidy responses CSV from the returns of one ingest run.

Only accepted returns contribute data; every return, whatever its status, is listed with its issues.
Text that came from a return is written as inert text, never as a live formula, because returns come
from outside and a cell such as `=HYPERLINK(...)` must not run on an analyst's machine.
N/A is an answer but not a score: it is never averaged as 0 and never counted as missing.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from . import layout
from .model import (
    JUDGMENT_SUFFIX,
    Finding,
    Mode,
    Response,
    Return,
    ReturnStatus,
    Schedule,
    Section,
    is_judgment_ref,
)
from .packager import escape_cr, stamp, workbook_bytes, write_output
from .report import Report
from .styles import (
    BAND_FILL,
    BOLD,
    HEADER_ALIGN,
    HEADER_FILL,
    HEADER_FONT,
    LEFT,
    TITLE_FONT,
    WHITE,
    WRAP,
    row_height,
    wrapped_lines,
)

RESPONSE_COLUMNS = (
    "Force", "Return", "Section", "Ref", "Item", "Score", "Policy fit", "Evidence", "Source file", "Cell",
)
RESPONSE_WIDTHS = (18, 16, 28, 8, 60, 8, 10, 80, 30, 7)
RETURN_COLUMNS = (
    "File", "SHA-256", "Force", "Return reference", "Inspector", "Date", "Mode", "Status", "Errors", "Warnings",
    "Answered",
)
RETURN_WIDTHS = (40, 20, 18, 18, 20, 12, 10, 10, 8, 9, 9)
ISSUE_COLUMNS = ("File", "Sheet", "Cell", "Code", "Severity", "Message")
ISSUE_WIDTHS = (40, 22, 7, 26, 9, 100)

#: Blocks are laid out in this order wherever modes are shown side by side or one after another.
MODE_ORDER = (Mode.SCALE, Mode.YESNO, Mode.NARRATIVE)
SCORED_MODES = (Mode.SCALE, Mode.YESNO)
UNKNOWN_FORCE = "(force not recognised)"
NOT_ANSWERED = "Not answered"

# Heat-map colours: Excel's own red-yellow-green, and a single hue for counts.
RED, YELLOW, GREEN, BLUE, ORANGE = "F8696B", "FFEB84", "63BE7B", "5B9BD5", "F4B183"
NUMBER_FORMATS = {Mode.SCALE: "0.0", Mode.YESNO: "0%", Mode.NARRATIVE: "0"}
CHART_ROWS = 34  # rows a chart takes on the Summary, so stacked charts never overlap
CHART_HEIGHT_CM = 16.0


# --- text that is safe to put in a cell ------------------------------------------------------


def excel_text(text: str) -> str:
    """Control characters as Excel's own `_xHHHH_` escape: openpyxl refuses them, and dropping them loses text."""
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", escape_cr(text))


def put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write one value; any string is stored as a string, so `=...` from a return never becomes a formula."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = excel_text(value)
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


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


def header(ws: Worksheet, row: int, labels: Sequence[str], first_column: int = 1) -> None:
    for offset, label in enumerate(labels):
        cell = put(ws, row, first_column + offset, label)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGN


def set_widths(ws: Worksheet, widths: Sequence[float], first_column: int = 1) -> None:
    for offset, width in enumerate(widths):
        ws.column_dimensions[get_column_letter(first_column + offset)].width = width


def fit_height(ws: Worksheet, row: int, texts: Iterable[tuple[str, float]]) -> None:
    """Give a row of wrapped text the height it needs, from (text, column width) pairs."""
    set_lines(ws, row, max((wrapped_lines(text, width) for text, width in texts), default=1))


def set_lines(ws: Worksheet, row: int, lines: int) -> None:
    if lines > 1:
        ws.row_dimensions[row].height = row_height(lines)


def title(ws: Worksheet, row: int, text: str, note: str | None = None) -> int:
    """A bold title (and an optional note under it); returns the next free row."""
    put(ws, row, 1, text).font = TITLE_FONT
    if note:
        put(ws, row + 1, 1, note)
        return row + 3
    return row + 2


# --- the run: returns in report order, and their answers by ref --------------------------------


def force_name(ret: Return) -> str:
    return ret.force or UNKNOWN_FORCE


def return_key(ret: Return) -> tuple:
    """Forces alphabetically (unrecognised last), then return reference, then file: the same order every run."""
    force = ret.force or ""
    ref = ret.return_ref or ""
    return (ret.force is None, force.casefold(), force, ref.casefold(), ref, ret.file)


class Run:
    """The returns of one ingest, sorted once, with each return's responses indexed by ref."""

    def __init__(self, schedule: Schedule, returns: Iterable[Return]) -> None:
        self.schedule = schedule
        self.returns = sorted(returns, key=return_key)
        self._answers = {id(r): {resp.ref: resp for resp in r.responses} for r in self.returns}
        self.sections = {s.ref: s for s in schedule.sections}
        self.items = {i.ref: i.text for s in schedule.sections for i in s.items}
        self.order = {ref: n for n, ref in enumerate(ref for s in schedule.sections for ref in section_refs(s))}

    @property
    def accepted(self) -> list[Return]:
        return [r for r in self.returns if r.status is ReturnStatus.ACCEPTED]

    def answer(self, ret: Return, ref: str) -> Response | None:
        return self._answers[id(ret)].get(ref)

    def groups(self) -> dict[Mode, dict[str, list[Return]]]:
        """Accepted returns by mode, then force: a force scored in two modes gets a row in each block."""
        groups: dict[Mode, dict[str, list[Return]]] = {}
        for ret in self.accepted:
            if ret.mode is not None:
                groups.setdefault(ret.mode, {}).setdefault(force_name(ret), []).append(ret)
        return {mode: groups[mode] for mode in MODE_ORDER if mode in groups}

    def scored_groups(self) -> dict[Mode, dict[str, list[Return]]]:
        return {m: g for m, g in self.groups().items() if m in SCORED_MODES}


def section_refs(section: Section) -> list[str]:
    """The refs of a section in sheet order: the judgment at the top, then the items."""
    return [section.judgment_ref, *(i.ref for i in section.items)]


# --- aggregation -------------------------------------------------------------------------------


def score_value(schedule: Schedule, mode: Mode, score: str | None) -> float | None:
    """A score as a number to average, or None for N/A and unanswered (which must not count as 0).

    Scale: the option itself (1..5), or its position if the options are not numbers.
    Yes/No: the first option (Yes) is 1 and the others 0, so the mean is the share of Yes.
    """
    options = schedule.modes[mode].options
    if score is None or score not in options:
        return None
    if mode is Mode.YESNO:
        return 1.0 if score == options[0] else 0.0
    return float(score) if score.isdigit() else float(options.index(score) + 1)


def aggregate(run: Run, mode: Mode, returns: list[Return], ref: str) -> float | int | None:
    """One figure for one ref over a force's returns: the mean score, or in narrative the count written."""
    answers = [run.answer(r, ref) for r in returns]
    if mode is Mode.NARRATIVE:
        return sum(1 for a in answers if a is not None and a.evidence)
    values = [v for a in answers if a is not None and (v := score_value(run.schedule, mode, a.score)) is not None]
    return sum(values) / len(values) if values else None


def completion(run: Run, mode: Mode, returns: list[Return]) -> float | None:
    """Answered over answerable cells; N/A is an answer, so it counts as done."""
    answerable = len(layout.answer_cells(run.schedule, mode)) * len(returns)
    return sum(r.answered for r in returns) / answerable if answerable else None


def block_title(schedule: Schedule, mode: Mode, what: str) -> str:
    """What the numbers in a block are, in words, so nobody reads a share of Yes as a mean score."""
    na = schedule.schedule.not_applicable
    spec = schedule.modes[mode]
    if mode is Mode.SCALE:
        lo, hi = spec.options[0], spec.options[-1]
        scale = f"{lo} {spec.labels.get(lo, '')} to {hi} {spec.labels.get(hi, '')}".replace("  ", " ")
        return f"{spec.title}: mean {what} score ({scale}); {na} and unanswered excluded"
    if mode is Mode.YESNO:
        yes, *others = spec.options
        among = "/".join([yes, *others])
        return f"{spec.title}: share of {yes} among {among} {what} answers; {na} and unanswered excluded"
    return f"{spec.title}: number of returns with the {what} evidence written"


def heat_map(ws: Worksheet, schedule: Schedule, mode: Mode, cells: str) -> None:
    """Colour the figures: red-yellow-green over the score range, one hue for narrative counts."""
    if mode is Mode.NARRATIVE:
        rule = ColorScaleRule(start_type="num", start_value=0, start_color=WHITE,
                              end_type="max", end_color=BLUE)
    else:
        low, high = (0, 1) if mode is Mode.YESNO else _scale_range(schedule)
        rule = ColorScaleRule(start_type="num", start_value=low, start_color=RED,
                              mid_type="num", mid_value=(low + high) / 2, mid_color=YELLOW,
                              end_type="num", end_value=high, end_color=GREEN)
    ws.conditional_formatting.add(cells, rule)


def _scale_range(schedule: Schedule) -> tuple[float, float]:
    values = [v for o in schedule.modes[Mode.SCALE].options if (v := score_value(schedule, Mode.SCALE, o)) is not None]
    return min(values), max(values)


def area(first_col: int, first_row: int, last_col: int, last_row: int) -> str:
    return f"{get_column_letter(first_col)}{first_row}:{get_column_letter(last_col)}{last_row}"


# --- Summary -----------------------------------------------------------------------------------


SUMMARY_FIXED = ("Force", "Returns", "Completion")


def write_summary(ws: Worksheet, run: Run) -> None:
    """Force by section judgment, one block per mode, heat-mapped, each with a chart to its right."""
    schedule = run.schedule
    row = title(ws, 1, f"{schedule.schedule.title}: {schedule.schedule.inspection}",
                f"Schedule {schedule.schedule.id} version {schedule.schedule.version}. Accepted returns only; "
                f"{schedule.schedule.not_applicable} is never counted as 0, and a blank means nothing to average.")
    set_widths(ws, [24, 9, 11, *([13] * len(schedule.sections))])
    groups = run.groups()
    if not groups:
        put(ws, row, 1, "No accepted returns.")
        return
    chart_row = row
    for mode, forces in groups.items():
        first, last = summary_block(ws, run, mode, forces, row)
        anchor = f"{get_column_letter(len(SUMMARY_FIXED) + len(schedule.sections) + 2)}{max(row, chart_row)}"
        ws.add_chart(block_chart(ws, run, mode, first, last, "judgment"), anchor)
        chart_row = max(row, chart_row) + CHART_ROWS
        row = last + 3
    ws.freeze_panes = "B1"


def summary_block(ws: Worksheet, run: Run, mode: Mode, forces: dict[str, list[Return]], row: int) -> tuple[int, int]:
    """Writes one mode's block from `row`; returns its header row and last row."""
    sections = run.schedule.sections
    put(ws, row, 1, block_title(run.schedule, mode, "judgment")).font = BOLD
    head = row + 1
    header(ws, head, [*SUMMARY_FIXED, *(s.label for s in sections)])
    ws.row_dimensions[head].height = 48
    r = head
    for r, (force, returns) in enumerate(forces.items(), start=head + 1):
        put_row(ws, r, [force, len(returns), completion(run, mode, returns)])
        ws.cell(r, 3).number_format = "0%"
        for c, section in enumerate(sections, start=len(SUMMARY_FIXED) + 1):
            put(ws, r, c, aggregate(run, mode, returns, section.judgment_ref)).number_format = NUMBER_FORMATS[mode]
    first_fig = len(SUMMARY_FIXED) + 1
    heat_map(ws, run.schedule, mode, area(first_fig, head + 1, first_fig + len(sections) - 1, r))
    return head, r


def block_chart(ws: Worksheet, run: Run, mode: Mode, head: int, last: int, what: str) -> BarChart:
    """Clustered columns: one cluster per force, one bar per section, so steps compare within a force."""
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = f"{short_title(run.schedule, mode, what)}, by force"
    first_fig = len(SUMMARY_FIXED) + 1
    data = Reference(ws, min_col=first_fig, max_col=first_fig + len(run.schedule.sections) - 1,
                     min_row=head, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=head + 1, max_row=last))
    chart.y_axis.number_format = NUMBER_FORMATS[mode]
    chart.y_axis.title = {Mode.SCALE: "Mean score", Mode.YESNO: "Share of Yes"}.get(mode, "Returns")
    if mode is Mode.SCALE:
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, _scale_range(run.schedule)[1]
    elif mode is Mode.YESNO:
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.x_axis.delete = False  # openpyxl 3.1 hides axes in current Excel unless told otherwise
    chart.y_axis.delete = False
    chart.legend.position = "b"  # eleven long section names beside the plot would squeeze it to nothing
    chart.height = CHART_HEIGHT_CM
    chart.width = max(18.0, 2.0 * (last - head))
    return chart


def short_title(schedule: Schedule, mode: Mode, what: str) -> str:
    """The block title without its caveats, for a chart title or a narrow band: room for a few words only."""
    spec = schedule.modes[mode]
    if mode is Mode.SCALE:
        return f"{spec.title}: mean {what} score"
    if mode is Mode.YESNO:
        return f"{spec.title}: share of {spec.options[0]}"
    return f"{spec.title}: returns with {what} evidence"


# --- Items -------------------------------------------------------------------------------------


ITEM_FIXED = ("Section", "Ref", "Item")
ITEM_WIDTHS = (30, 8, 60)


def write_items(ws: Worksheet, run: Run) -> None:
    """One row per judgment and item in schedule order, one column per force, grouped under a mode band."""
    band, head = 1, 2
    header(ws, head, ITEM_FIXED)
    set_widths(ws, ITEM_WIDTHS)
    column = len(ITEM_FIXED) + 1
    for mode, forces in run.groups().items():
        items_band(ws, run, mode, forces, column, band, head)
        column += len(forces)
    row = head + 1
    for section in run.schedule.sections:
        for ref in section_refs(section):
            put_row(ws, row, [section.label, ref, item_text(run, ref)])
            for c in range(1, len(ITEM_FIXED) + 1):
                ws.cell(row, c).alignment = WRAP
                if ref == section.judgment_ref:
                    ws.cell(row, c).font = BOLD
            fit_height(ws, row, [(item_text(run, ref), ITEM_WIDTHS[2]), (section.label, ITEM_WIDTHS[0])])
            row += 1
    ws.freeze_panes = ws.cell(head + 1, len(ITEM_FIXED) + 1).coordinate


def items_band(ws: Worksheet, run: Run, mode: Mode, forces: dict[str, list[Return]], first: int,
               band: int, head: int) -> None:
    """The figures of one mode: a labelled band over its force columns, then one column per force."""
    last = first + len(forces) - 1
    cell = put(ws, band, first, short_title(run.schedule, mode, "item"))
    cell.font, cell.fill, cell.alignment = BOLD, BAND_FILL, WRAP
    if last > first:  # a one-cell merge is one Excel may offer to repair
        ws.merge_cells(start_row=band, start_column=first, end_row=band, end_column=last)
    ws.row_dimensions[band].height = 48
    header(ws, head, list(forces), first)
    ws.row_dimensions[head].height = 32
    refs = [ref for s in run.schedule.sections for ref in section_refs(s)]
    for c, returns in enumerate(forces.values(), start=first):
        ws.column_dimensions[get_column_letter(c)].width = 12
        for r, ref in enumerate(refs, start=head + 1):
            put(ws, r, c, aggregate(run, mode, returns, ref)).number_format = NUMBER_FORMATS[mode]
    heat_map(ws, run.schedule, mode, area(first, head + 1, last, head + len(refs)))


def item_text(run: Run, ref: str) -> str:
    """What a ref asks: the item text, or for a judgment 'Judgment: ' and the section's indicator."""
    if is_judgment_ref(ref):
        section = run.sections.get(ref.removesuffix(JUDGMENT_SUFFIX))
        return f"Judgment: {section.indicator if section else ref}"
    return run.items.get(ref, "")


# --- Responses (sheet and CSV) -------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseRow:
    """One row of the long table: one accepted return's answer to one item or judgment."""

    force: str
    return_ref: str | None
    section: str
    ref: str
    item: str
    score: int | str | None
    policy: str | None
    evidence: str | None
    file: str
    cell: str | None

    def values(self) -> list[Any]:
        return [self.force, self.return_ref, self.section, self.ref, self.item, self.score, self.policy,
                self.evidence, self.file, self.cell]


def response_rows(run: Run) -> list[ResponseRow]:
    """Accepted returns in report order, each return's answers in schedule order (unknown refs last)."""
    rows: list[ResponseRow] = []
    for ret in run.accepted:
        answers = sorted(ret.responses, key=lambda a: run.order.get(a.ref, len(run.order)))
        rows.extend(response_row(run, ret, a) for a in answers)
    return rows


def response_row(run: Run, ret: Return, answer: Response) -> ResponseRow:
    section = run.sections.get(answer.section)
    return ResponseRow(
        force=force_name(ret),
        return_ref=ret.return_ref,
        section=section.label if section else answer.section,
        ref=answer.ref,
        item=item_text(run, answer.ref),
        score=score_cell_value(answer.score),
        policy=answer.policy,
        evidence=answer.evidence,
        file=ret.file,
        cell=answer.score_cell or answer.evidence_cell,
    )


def score_cell_value(score: str | None) -> int | str | None:
    """Scale scores as numbers so analysts can average them; N/A and Yes/No stay text; unanswered blank."""
    return int(score) if score is not None and score.isdigit() else score


def write_responses(ws: Worksheet, rows: list[ResponseRow]) -> None:
    """The long table, as an Excel table so it filters and sorts, header frozen."""
    header(ws, 1, RESPONSE_COLUMNS)
    set_widths(ws, RESPONSE_WIDTHS)
    item, evidence = RESPONSE_COLUMNS.index("Item"), RESPONSE_COLUMNS.index("Evidence")
    item_lines = functools.lru_cache(maxsize=None)(lambda text: wrapped_lines(text, RESPONSE_WIDTHS[item]))
    for r, row in enumerate(rows, start=2):
        ws.append([inert(ws, v) for v in row.values()])  # append: the fast path for tens of thousands of rows
        for c in (item, evidence):
            ws.cell(r, c + 1).alignment = WRAP
        set_lines(ws, r, max(item_lines(row.item), wrapped_lines(row.evidence or "", RESPONSE_WIDTHS[evidence])))
    last = max(2, len(rows) + 1)  # a table needs one body row, even an empty one
    table = Table(displayName="Responses", ref=area(1, 1, len(RESPONSE_COLUMNS), last))
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "A2"


def write_responses_csv(schedule: Schedule, returns: list[Return], path: Path) -> None:
    """The Responses rows as CSV for analysts' own tools: raw text, BOM so Excel reads UTF-8, written atomically."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RESPONSE_COLUMNS)
    for row in response_rows(Run(schedule, returns)):
        writer.writerow(["" if v is None else v for v in row.values()])
    write_output(path, out.getvalue().encode("utf-8-sig"))


# --- Policy fit ------------------------------------------------------------------------------------


def write_policy_fit(ws: Worksheet, run: Run) -> None:
    """Per section, judgment score against policy fit: where good practice falls short of policy, or poor conforms."""
    schedule = run.schedule
    row = title(ws, 1, "Policy fit against judgment score",
                f"{schedule.policy_fit.question} Counts of accepted returns. High scores with No are good practice "
                "that falls short of policy; low scores with Yes are poor practice that conforms to it.")
    groups = run.scored_groups()
    if not groups:
        put(ws, row, 1, "No accepted returns in a scored mode.")
        return
    width = len(schedule.policy_fit_options()) + 3  # score, options, not answered, total
    for n in range(len(groups)):
        set_widths(ws, [14, *([9] * (width - 1))], 1 + n * (width + 1))
    for section in schedule.sections:
        heights = [
            crosstab(ws, run, mode, [r for rs in forces.values() for r in rs], section, row, 1 + n * (width + 1))
            for n, (mode, forces) in enumerate(groups.items())
        ]
        row += max(heights) + 1


def crosstab(ws: Worksheet, run: Run, mode: Mode, returns: list[Return], section: Section, row: int,
             column: int) -> int:
    """One section's cross-tab for one mode at (row, column); returns the rows it used."""
    schedule = run.schedule
    counts = Counter(
        (a.score, a.policy) for r in returns if (a := run.answer(r, section.judgment_ref)) is not None
    )
    scores = keys_with_extras(schedule.options(mode), (s for s, _ in counts))
    policies = keys_with_extras(schedule.policy_fit_options(), (p for _, p in counts))
    put(ws, row, column, f"{section.label}: {schedule.modes[mode].title}").font = BOLD
    header(ws, row + 1, ["Judgment score", *(p or NOT_ANSWERED for p in policies), "Total"], column)
    ws.row_dimensions[row + 1].height = 32
    for r, score in enumerate(scores, start=row + 2):
        figures = [counts[(score, p)] for p in policies]
        put_row(ws, r, [score_cell_value(score) if score else NOT_ANSWERED, *figures, sum(figures)], column)
        ws.cell(r, column).alignment = LEFT  # 1..5 and N/A line up as labels, not as figures
    last = row + 1 + len(scores)
    ws.conditional_formatting.add(
        area(column + 1, row + 2, column + len(policies), last),
        ColorScaleRule(start_type="num", start_value=0, start_color=WHITE, end_type="max", end_color=ORANGE),
    )
    return last - row + 1


def keys_with_extras(known: list[str], seen: Iterable[str | None]) -> list[str | None]:
    """The known options, any other value actually seen (so no answer is silently dropped), then unanswered."""
    extras = sorted({s for s in seen if s is not None and s not in known})
    return [*known, *extras, None]


# --- Returns and Issues ------------------------------------------------------------------------------


def write_returns(ws: Worksheet, run: Run) -> None:
    """Every return of the run, whatever its status, with its file hash to trace it back."""
    header(ws, 1, RETURN_COLUMNS)
    set_widths(ws, RETURN_WIDTHS)
    for r, ret in enumerate(run.returns, start=2):
        put_row(ws, r, [
            ret.file, ret.sha256, ret.force, ret.return_ref, ret.inspector, ret.date,
            ret.mode.value if ret.mode else None, ret.status.value,
            len(ret.errors()), len(ret.warnings()), ret.answered,
        ])
    filtered(ws, len(RETURN_COLUMNS), len(run.returns))


def write_issues(ws: Worksheet, run: Run) -> None:
    """Every finding of every return, in return order, located down to the cell where known."""
    header(ws, 1, ISSUE_COLUMNS)
    set_widths(ws, ISSUE_WIDTHS)
    findings: list[Finding] = [f for ret in run.returns for f in ret.findings]
    for r, f in enumerate(findings, start=2):
        put_row(ws, r, [f.file, f.sheet, f.cell, f.code, f.severity.value, f.message])
        ws.cell(r, len(ISSUE_COLUMNS)).alignment = WRAP
        fit_height(ws, r, [(f.message, ISSUE_WIDTHS[-1])])
    filtered(ws, len(ISSUE_COLUMNS), len(findings))


def filtered(ws: Worksheet, columns: int, rows: int) -> None:
    ws.auto_filter.ref = area(1, 1, columns, rows + 1)
    ws.freeze_panes = "A2"


# --- the workbook ------------------------------------------------------------------------------------


def consolidation_workbook(schedule: Schedule, returns: list[Return]) -> Workbook:
    """The consolidated workbook as an openpyxl object (not yet saved)."""
    run = Run(schedule, returns)
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    summary.sheet_view.tabSelected = True  # the sheet the workbook opens on is the one selected
    write_summary(summary, run)
    write_items(wb.create_sheet("Items"), run)
    write_responses(wb.create_sheet("Responses"), response_rows(run))
    write_policy_fit(wb.create_sheet("Policy fit"), run)
    write_returns(wb.create_sheet("Returns"), run)
    write_issues(wb.create_sheet("Issues"), run)
    stamp(wb)  # same returns, same bytes
    wb.properties.title = f"{schedule.schedule.title}: consolidated returns"
    return wb


def write_consolidation(schedule: Schedule, returns: list[Return], path: Path) -> None:
    """Write the consolidated workbook to `path` atomically: a reader never sees half a file."""
    write_output(path, workbook_bytes(consolidation_workbook(schedule, returns)))


def write_outputs(
    schedule: Schedule, report: Report, out: Path, csv_path: Path | None = None, json_path: Path | None = None
) -> None:
    """Everything an ingest run writes: the consolidated workbook, and the CSV and JSON when asked for."""
    write_consolidation(schedule, report.returns, out)
    if csv_path:
        write_responses_csv(schedule, report.returns, csv_path)
    if json_path:
        report.write_json(json_path)
