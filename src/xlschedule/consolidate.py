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

import csv
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .consolidation import charts, sheets
from .consolidation.kit import (
    TOP,
    TOP_WRAP,
    Frame,
    excel_text,
    header,
    inert,
    print_setup,
    table,
    top,
    word_lines,
)
from .consolidation.run import Run, force_name
from .model import Mode, Response, Return, Schedule
from .packager import stamp, workbook_bytes, write_output
from .report import Report
from .styles import row_height

__all__ = ["RESPONSE_COLUMNS", "consolidation_workbook", "excel_text", "write_consolidation", "write_outputs",
           "write_responses_csv"]

RESPONSE_COLUMNS = (
    "Force", "Return", "Section", "Ref", "Item", "Score", "Policy fit", "Evidence", "Source file", "Cell",
    "Schedule version", "Release", "Item status", "Wording answered",
)
RESPONSE_WIDTHS = (16, 12, 20, 7, 45, 8, 9, 70, 28, 7, 10, 9, 10, 10)
#: Columns of the Responses table that wrap: the item, the evidence and the source file.
RESPONSE_WRAPPED = ("Section", "Item", "Evidence", "Source file")


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
    version: str | None = None
    release: str | None = None
    status: str = ""
    worded_as: str | None = None

    def values(self) -> list[Any]:
        return [self.force, self.return_ref, self.section, self.ref, self.item, self.score, self.policy,
                self.evidence, self.file, self.cell, self.version, self.release, self.status, self.worded_as]


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
        item=run.item_text(answer.ref) or answer.asked or "",
        score=score_cell_value(answer.score),
        policy=answer.policy,
        evidence=answer.evidence,
        file=ret.file,
        cell=answer.score_cell or answer.evidence_cell or None,
        version=answer.schedule_version,
        release=answer.release,
        status=answer.status.value,
        worded_as=answer.worded_as,
    )


def score_cell_value(score: str | None) -> int | str | None:
    """Scale scores as numbers so analysts can average them; N/A and Yes/No stay text; unanswered blank."""
    return int(score) if score is not None and score.isdigit() else score


def write_responses(ws: Worksheet, rows: list[ResponseRow], frame: Frame, na: str) -> None:
    """The long table, as an Excel table so it filters and sorts, header frozen and printed on every page."""
    head = top(ws, frame, "Responses: every answer of every accepted return", [
        f"One row per judgment and item. A blank Score or Policy fit was not answered; {na} is not applicable.",
    ])
    header(ws, head, RESPONSE_COLUMNS, RESPONSE_WIDTHS)
    widths = dict(zip(RESPONSE_COLUMNS, (ws.column_dimensions[chr(65 + i)].width for i in range(len(RESPONSE_COLUMNS))),
                      strict=True))
    wrapped = [RESPONSE_COLUMNS.index(name) for name in RESPONSE_WRAPPED]
    lines = functools.lru_cache(maxsize=None)(word_lines)  # items, sections and files repeat for every return
    for r, row in enumerate(rows, start=head + 1):
        ws.append([inert(ws, v) for v in row.values()])  # append: the fast path for tens of thousands of rows
        cells = ws[r]
        for cell in cells:
            cell.alignment = TOP
        for c in wrapped:
            cells[c].alignment = TOP_WRAP
        height = max(lines(row.item, widths["Item"]), lines(row.section, widths["Section"]),
                     lines(row.file, widths["Source file"]), word_lines(row.evidence or "", widths["Evidence"]))
        if height > 1:
            ws.row_dimensions[r].height = row_height(height)
    table(ws, "Responses", head, len(RESPONSE_COLUMNS), len(rows))
    print_setup(ws, frame, head)


def write_responses_csv(schedule: Schedule, returns: list[Return], path: Path) -> None:
    """The Responses rows as CSV for analysts' own tools: raw text, BOM so Excel reads UTF-8, written atomically."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RESPONSE_COLUMNS)
    for row in response_rows(Run(schedule, returns)):
        writer.writerow(["" if v is None else v for v in row.values()])
    write_output(path, out.getvalue().encode("utf-8-sig"))


# --- the workbook ------------------------------------------------------------------------------------


def plan(run: Run) -> list[sheets.Sheet]:
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
    return out


def consolidation_workbook(schedule: Schedule, returns: list[Return]) -> Workbook:
    """The consolidated workbook as an openpyxl object (not yet saved)."""
    run = Run(schedule, returns)
    info = schedule.schedule
    frame = Frame(marking=info.protective_marking, title=f"{info.title}: consolidated returns")
    wb = Workbook()
    wb.remove(wb.active)
    contents = plan(run)
    groups = run.groups()
    for sheet in contents:
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
        "Responses": lambda: write_responses(ws, response_rows(run), frame, run.schedule.schedule.not_applicable),
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
