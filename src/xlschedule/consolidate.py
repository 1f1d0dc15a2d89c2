"""Writes the consolidated workbook and the tidy responses CSV from the returns of one ingest run.

The workbook follows the UK Government Analysis Function's guidance on releasing statistics in
spreadsheets: a cover, contents and notes; then one titled table per sheet (every force on Summary,
judgments and items by force as heat maps, charts, policy fit, mismatches, the responses, the returns
and their issues), each carrying the protective marking on screen and in print. The sheets themselves
are in `xlschedule.consolidation`.

Only accepted returns contribute figures; every return, whatever its status, is counted and listed.
Text that came from a return is written as inert text, never as a live formula, because returns come
from outside and a cell such as `=HYPERLINK(...)` must not run on an analyst's machine.
N/A is an answer but not a score: it is never averaged as 0 and never counted as missing.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from . import streamsheet
from .consolidation import charts, sheets
from .consolidation.kit import (
    TOP,
    TOP_CENTRE,
    TOP_WRAP,
    Frame,
    excel_text,
    header,
    header_width,
    print_setup,
    table,
    top,
    word_lines,
)
from .consolidation.run import RESPONSE_COLUMNS, Row, Rows, Run
from .feedback import FEEDBACK_SHEET, Copy, add_summary_sheet
from .model import Mode, Return, Schedule
from .packager import output, stamp, workbook_bytes
from .report import Report
from .styles import row_height

#: The run's feedback copies and its date, for the Feedback sheet.
Feedback = tuple[Sequence[Copy], date]

__all__ = ["RESPONSE_COLUMNS", "Rows", "consolidation_workbook", "csv_text", "excel_text", "write_consolidation",
           "write_outputs", "write_responses_csv"]

RESPONSE_WIDTHS = (16, 12, 20, 7, 45, 8, 9, 70, 28, 7, 10, 9, 10, 10)
#: Columns of the Responses table that wrap: the item, the evidence and the source file.
RESPONSE_WRAPPED = ("Section", "Item", "Evidence", "Source file")
#: Columns centred: a score is a number in one mode and a word in another, and a policy fit beside it would
#: otherwise print run together with a score right-aligned in its cell ("5Partly").
RESPONSE_CENTRED = ("Score", "Policy fit")
#: Columns whose strings repeat from return to return, kept once in the shared-string table; the
#: evidence is written inline, where it is.
RESPONSE_SHARED = tuple(name != "Evidence" for name in RESPONSE_COLUMNS)
_ITEM, _SECTION, _EVIDENCE, _FILE = (RESPONSE_COLUMNS.index(n) for n in ("Item", "Section", "Evidence", "Source file"))


# --- Responses (sheet and CSV) -------------------------------------------------------------------


def write_responses(ws: Worksheet, frame: Frame, na: str) -> None:
    """The long table's frame, header and one template row: its rows are streamed in when the workbook is
    saved (see streamsheet), as an Excel table so it filters and sorts, header frozen and printed on
    every page. The template row's cells carry each column's alignment."""
    head = top(ws, frame, "Responses: every answer of every accepted return", [
        f"One row per judgment and item. A blank Score or Policy fit was not answered; {na} is not applicable.",
    ])
    header(ws, head, RESPONSE_COLUMNS, RESPONSE_WIDTHS)
    for c, name in enumerate(RESPONSE_COLUMNS, start=1):
        ws.cell(head + 1, c).alignment = (TOP_WRAP if name in RESPONSE_WRAPPED else TOP_CENTRE if name in
                                          RESPONSE_CENTRED else TOP)
    table(ws, "Responses", head, len(RESPONSE_COLUMNS), 1)
    print_setup(ws, frame, head)


#: What a spreadsheet may read as the start of a formula at the start of a CSV field: OWASP's list (= + - @,
#: tab, carriage return, line feed), NUL (OWASP's ASVS), and the full-width = + - @ that Excel in an East Asian
#: locale takes for their ASCII forms.
FORMULA_START = frozenset("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20")


def csv_text(text: str) -> str:
    """Text for a CSV field that no spreadsheet opens as a formula: a `'` before text that starts with one of
    FORMULA_START (OWASP's advice: Excel and LibreOffice then show it as text, the `'` with it), and before
    text that already starts with `'`s and then one of them, so that taking one `'` off any field that
    starts with `'`s and one of them always gives the exact text back."""
    first = text[:1]
    if first in FORMULA_START or (first == "'" and text.lstrip("'")[:1] in FORMULA_START):
        return "'" + text
    return text


class CsvLines:
    """The CSV of the response rows into `out`, with a BOM so Excel reads UTF-8, exactly as csv.writer writes
    them (the excel dialect, CRLF): text made inert (csv_text) as csv.writer quotes it, any other value as
    csv.writer writes it (so numbers stay numbers),
    each field made once for each value that repeats (see streamsheet.Memo).
    Lines are written a batch at a time; `close` writes the last."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")
        self.writer.writerow(RESPONSE_COLUMNS)
        self.batch = ["\ufeff", self.buffer.getvalue()]
        ends = [","] * (len(RESPONSE_COLUMNS) - 1) + ["\r\n"]
        self.fields = streamsheet.Memo(lambda c, value: self.field(value) + ends[c], RESPONSE_SHARED)

    def field(self, value: Any) -> str:
        if type(value) is str:  # inert, then quoted, its quotes doubled, if it holds a comma, a quote or a line break
            value = csv_text(value)
            quoted = "," in value or '"' in value or "\r" in value or "\n" in value
            return '"' + value.replace('"', '""') + '"' if quoted else value
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow((value, ""))  # not alone: a row of one empty field is written as ""
        return self.buffer.getvalue()[:-len(",\r\n")]

    def add(self, row: Row) -> None:
        self.batch.append("".join(self.fields.row(row)))
        if len(self.batch) >= streamsheet.BATCH:
            self.close()

    def close(self) -> None:
        self.out.write("".join(self.batch).encode("utf-8"))
        self.batch.clear()


def stream_rows(rows: Rows, csv_file: IO[bytes] | None) -> Iterator[streamsheet.StreamRow]:
    """Each response row as a sheet row (its values as they are: streamsheet makes the text inert), with the
    height its wrapped text needs, writing the CSV row beside it (its text inert, see csv_text)."""
    widths = [header_width(name, w) for name, w in zip(RESPONSE_COLUMNS, RESPONSE_WIDTHS, strict=True)]
    # Items and sections repeat for every return, files for every answer of one: each is measured once.
    by_item: dict[tuple[str | None, str | None], int] = {}
    by_file: dict[str | None, int] = {}
    lines = CsvLines(csv_file) if csv_file else None
    for row in rows():
        if lines:
            lines.add(row)
        item, section, file, evidence = row[_ITEM], row[_SECTION], row[_FILE], row[_EVIDENCE]
        height = by_item.get((item, section))
        if height is None:
            height = by_item[item, section] = max(word_lines(item or "", widths[_ITEM]),
                                                  word_lines(section or "", widths[_SECTION]))
        width = by_file.get(file)
        if width is None:
            width = by_file[file] = word_lines(file or "", widths[_FILE])
        height = max(height, width, word_lines(evidence, widths[_EVIDENCE]) if evidence else 1)
        yield row, row_height(height) if height > 1 else None
    if lines:
        lines.close()


def write_responses_csv(schedule: Schedule, returns: list[Return], path: Path, rows: Rows | None = None) -> None:
    """The Responses rows alone, as CSV, written atomically."""
    run = Run(schedule, returns, rows)
    with output(path) as fh:
        for _ in stream_rows(run.rows, fh):
            pass


# --- the workbook ------------------------------------------------------------------------------------


def plan(run: Run, feedback: bool = False) -> list[sheets.Sheet]:
    """The sheets, in order, with what each holds: the contents sheet lists exactly these."""
    s = run.schedule
    out = [
        sheets.Sheet("Cover", "What this workbook holds, its source, dates, marking and contact."),
        sheets.Sheet("Contents", "This list."),
        sheets.Sheet("Notes", "The codes [z] and [x], how figures are computed, what n means, thresholds."),
        sheets.Sheet("Summary", "Every force in the schedule: returns received, accepted, rejected, duplicate, "
                                "incomplete, share answered and latest date of audit."),
    ]
    groups = run.groups()
    for mode in groups:
        out.append(sheets.Sheet(sheets.judgments_sheet(mode),
                                f"{s.modes[mode].title}: each force's judgment of each section, with its n "
                                "(heat map)."))
    if run.scored_groups():
        out.append(sheets.Sheet("Charts", "Overall judgment by force, sorted; the step profile."))
    for mode in groups:
        out.append(sheets.Sheet(sheets.items_sheet(mode),
                                f"{s.modes[mode].title}: every judgment and item by force, with its n (heat map)."))
    out += [
        sheets.Sheet("Policy fit", "Each section's shares of policy fit answers, with n."),
        sheets.Sheet("Policy by force", "Each force's share not conforming to policy, by section, with n."),
        sheets.Sheet("Mismatches", "Judgments whose score and policy fit disagree, with force, return and file."),
        sheets.Sheet("Responses", "Every answer of every accepted return, one row each, evidence included."),
        sheets.Sheet("Returns", "Every file received, whatever its status."),
        sheets.Sheet("Issues", "Every problem found in the returns, down to the cell."),
    ]
    if feedback:
        out.append(sheets.Sheet(FEEDBACK_SHEET, "Returns that need attention: their feedback copies, next steps."))
    return out


def consolidation_workbook(run: Run, feedback: Feedback | None = None) -> Workbook:
    """The consolidated workbook as an openpyxl object, its Responses sheet a template (see write_responses).
    With `feedback` (the run's feedback copies and date), a last sheet lists them for the central team."""
    schedule = run.schedule
    info = schedule.schedule
    frame = Frame(marking=info.protective_marking, title=f"{info.title}: consolidated returns")
    wb = Workbook()
    wb.remove(wb.active)
    contents = plan(run, feedback is not None)
    groups = run.groups()
    for sheet in contents:
        if feedback is not None and sheet.name == FEEDBACK_SHEET:
            add_summary_sheet(wb, frame, *feedback)
            continue
        ws = wb.create_sheet(sheet.name)
        write_sheet(ws, run, frame, contents, groups)
    first = wb.worksheets[0]
    first.sheet_view.tabSelected = True  # the sheet the workbook opens on is the one selected
    wb.active = 0
    stamp(wb)  # same returns, same bytes
    wb.properties.title = frame.title
    return wb


def write_sheet(ws: Worksheet, run: Run, frame: Frame, contents: list[sheets.Sheet],
                groups: dict[Mode, dict[str, list[Return]]]) -> None:
    name = ws.title
    fixed = {
        "Cover": lambda: sheets.write_cover(ws, run, frame),
        "Contents": lambda: sheets.write_contents(ws, frame, contents),
        "Notes": lambda: sheets.write_notes(ws, run, frame),
        "Summary": lambda: sheets.write_summary(ws, run, frame),
        "Charts": lambda: charts.write_charts(ws, run, frame),
        "Policy fit": lambda: sheets.write_policy(ws, run, frame),
        "Policy by force": lambda: sheets.write_policy_by_force(ws, run, frame),
        "Mismatches": lambda: sheets.write_mismatches(ws, run, frame),
        "Responses": lambda: write_responses(ws, frame, run.schedule.schedule.not_applicable),
        "Returns": lambda: sheets.write_returns(ws, run, frame),
        "Issues": lambda: sheets.write_issues(ws, run, frame),
    }
    if name in fixed:
        fixed[name]()
        return
    for mode, forces in groups.items():
        if name == sheets.judgments_sheet(mode):
            sheets.write_judgments(ws, run, frame, mode, forces)
        elif name == sheets.items_sheet(mode):
            sheets.write_items(ws, run, frame, mode, forces)


def write_workbook(
    run: Run, out: IO[bytes], csv_file: IO[bytes] | None = None, feedback: Feedback | None = None
) -> None:
    """The consolidated workbook into `out` (a seekable file), its Responses rows streamed from the run's
    rows, and the CSV of them into `csv_file` in the same pass; its Issues rows streamed from the returns'
    findings (when there are none, openpyxl has written the row that says so)."""
    package = workbook_bytes(consolidation_workbook(run, feedback))  # every sheet but the long ones: small
    streams = [streamsheet.Stream("Responses", "Responses", stream_rows(run.rows, csv_file), run.tally.count,
                                  RESPONSE_SHARED, excel_text)]
    issues = sheets.issues_stream(run)
    if issues:
        streams.append(issues)
    streamsheet.replace_rows(package, streams, out)


def write_consolidation(schedule: Schedule, returns: list[Return], path: Path, rows: Rows | None = None) -> None:
    """Write the consolidated workbook to `path` atomically: a reader never sees half a file."""
    with output(path) as fh:
        write_workbook(Run(schedule, returns, rows), fh)


def write_outputs(
    schedule: Schedule, report: Report, out: Path, csv_path: Path | None = None, json_path: Path | None = None,
    rows: Rows | None = None, feedback: Feedback | None = None,
) -> None:
    """Everything an ingest run writes: the consolidated workbook, and the CSV and JSON when asked for.

    `rows`, when given, is called for a fresh iterator of every accepted answer as a tuple in
    RESPONSE_COLUMNS order, in the Responses sheet's order: accepted returns sorted as
    consolidation.run.return_key sorts them, each return's answers in schedule order. It is called twice
    (once for the figures, once for the Responses sheet and the CSV), and nothing holds the rows: memory
    grows with forces and refs, not with answers. Without it, the rows come from each return's responses.
    The returns themselves (report.returns) give the Summary, Returns and Issues sheets; their responses
    may be empty when `rows` is given (Return.drop_responses keeps their counts)."""
    run = Run(schedule, report.returns, rows)
    with output(out) as fh, (output(csv_path) if csv_path else contextlib.nullcontext()) as csv_file:
        write_workbook(run, fh, csv_file, feedback)
    if json_path:
        report.write_json(json_path)
