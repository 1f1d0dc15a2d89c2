"""Feedback to forces: an annotated copy of each return that needs attention, to fix and send back.

For every return of a run with a finding, `write_feedback` writes a copy: the return's answers carried
into a fresh blank of the return's own template (the blank it was issued, from the registry; without
one, the blank rebuilt from the current schedule), so protection, validations and metadata are those of
any blank and the copy is judged against the same blank when it comes back. Added to it:

- a first sheet, "Feedback", listing every finding: sheet, a link to the cell, code, what is wrong,
  what to do, and whether it stops the return being accepted; above it, which return and force this is
  feedback on, from the run of which date, with the counts;
- a note on each flagged cell and a highlight on it (a conditional format placed before the blank's,
  so it shows on a filled input too, and a border); a locked cell that was changed says what the blank
  has there (the copy has it back) and what the return had;
- values ingest could not accept (a score of 7, "Maybe") kept in their cells, so nothing typed is lost:
  the copy is accepted once each is replaced by an option.

The Feedback sheet is not part of the return: the metadata names it and records a digest of its text
(feedback_mark), so ingest passes over it while it is unchanged, and treats it as an added sheet
otherwise. A short text file beside the copies (`feedback.txt`), and `summary_rows` for the consolidated
workbook, say which forces have copies to go back and why, and which returns got none (those ingest
could not read): ready to send on. Messages never hold evidence; the copies do, and carry the marking.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from . import feedback_mark, layout
from .build import name_force, open_blank
from .codes import Code
from .consolidation.kit import LINK, TOP, TOP_WRAP, Frame, fit_rows, header, print_setup, put, table, top
from .ingest import Templates, read_answers
from .model import COVER_SHEET, META_SHEET, Finding, Return, ReturnStatus, Schedule, Severity
from .packager import excel_text, fit_name, make_folder, workbook_bytes, write_atomic
from .read import CellValue, WorkbookSnapshot, as_text, read_workbook
from .registry import Blank, Registry
from .report import SHOWN_VALUE, cut, printable, shown
from .upgrade import Answers, carry_into

FEEDBACK_SHEET = "Feedback"
SUMMARY_FILE = "feedback.txt"
COPY_SUFFIX = "-feedback"
AUTHOR = feedback_mark.AUTHOR

#: What the copy has already put right, and what is left to the inspector, for findings the fresh blank
#: itself settles (the message's own "what to do" speaks of the return as it was sent).
DONE_IN_COPY = {
    Code.LOCKED_CELL_CHANGED.code: "Nothing: this copy has the blank's content back (see the cell's note). If "
                                   "what the return had there belongs in an answer, type it into the evidence.",
    Code.FORCE_CHANGED.code: "Nothing: this copy names the force it was built for again.",
    Code.SHEET_UNPROTECTED.code: "Nothing: this copy is protected again.",
    Code.SHEET_ADDED.code: "This copy does not have that sheet. If it holds anything the return needs, type it "
                           "into the evidence cells (it is still in the file you sent).",
    Code.SHEET_MISSING.code: "This copy has the sheet back, with no answers on it: answer it.",
    Code.ROWS_INSERTED_OR_DELETED.code: "This copy has the blank's rows; the answers on this sheet could not be "
                                        "carried: type them again from the file you sent.",
    Code.FORMULA_IN_EVIDENCE.code: "This copy keeps it as text: check that it reads as you meant.",
    Code.VOLATILE_DATE.code: "This copy has that date typed in: check it is the date of audit.",
    Code.DATE_READ_FROM_TEXT.code: "This copy has that date typed in as a date: check it is the date of audit.",
}
MOVED_ROWS = Code.ROWS_INSERTED_OR_DELETED.code
INVALID = {Code.INVALID_SCORE.code, Code.INVALID_POLICY_FIT.code}


class FeedbackFor(StrEnum):
    """Which returns earn a feedback copy (--feedback-for): every return with a finding, or only those with an
    error (a return accepted with warnings alone then gets none, and feedback.txt names it)."""

    ALL = "all"
    ERRORS = "errors"


#: Where the copy says how to save it: the same file type in either application.
SAVE_AS_IT_IS = ("Save this workbook as it is, as .xlsx (in Excel: Excel Workbook; in LibreOffice Calc: answer Use "
                 "Excel 2007-365! when it asks).")


class CannotCopy(Exception):
    """A return whose copy cannot be made: why, in words for the summary."""


@dataclass
class Copy:
    """What became of one return that needs attention: its copy, or why it has none."""

    ret: Return
    out: Path | None = None  # where its copy goes
    reason: str = ""  # why there is no copy, when out is None
    kept: list[str] = field(default_factory=list)  # cells holding a value ingest could not accept, kept
    failed: str = ""  # why its copy could not be written to `out`, when it could not
    withheld: bool = False  # accepted with warnings alone, under --feedback-for errors: no copy, by choice

    @property
    def written(self) -> bool:
        return self.out is not None and not self.failed

    @property
    def errors(self) -> int:
        return len(self.ret.errors())

    @property
    def warnings(self) -> int:
        return len(self.ret.warnings())

    @property
    def codes(self) -> list[str]:
        return list(dict.fromkeys(f.code for f in self.ret.findings))


# --- the run's copies -------------------------------------------------------------------------------------


def needs_attention(ret: Return) -> bool:
    return bool(ret.findings) and ret.status is not ReturnStatus.WITHDRAWN


def warned_only(ret: Return) -> bool:
    """Accepted, with warnings and no error: the return counts as it is, with gaps only the force can fill."""
    return ret.status is ReturnStatus.ACCEPTED and not ret.errors()


def write_feedback(
    returns: Sequence[Return], schedule: Schedule, out_dir: Path, registry: Registry | None = None,
    open_password: str | None = None, run_date: date | None = None, for_: FeedbackFor = FeedbackFor.ALL,
) -> list[Copy]:
    """A feedback copy in `out_dir` for every return with a finding (`for_` errors: with an error), and the run's
    summary beside them: plan_feedback, then write_copies."""
    copies = plan_feedback(returns, out_dir, for_)
    write_copies(copies, schedule, out_dir, registry, open_password, run_date)
    return copies


def plan_feedback(returns: Sequence[Return], out_dir: Path, for_: FeedbackFor = FeedbackFor.ALL) -> list[Copy]:
    """Each return that needs attention, with where its copy goes or why it gets none (under `for_` errors, a
    return accepted with warnings alone is withheld). Nothing is written (the consolidation, which lists them,
    is written first)."""
    inputs = {Path(r.file).resolve() for r in returns}
    taken: set[str] = set()
    copies: list[Copy] = []
    for ret in returns:
        if not needs_attention(ret):
            continue
        if for_ is FeedbackFor.ERRORS and warned_only(ret):
            copies.append(Copy(ret, withheld=True))
            continue
        reason = no_copy_reason(ret)
        copies.append(Copy(ret, reason=reason) if reason else
                      Copy(ret, _target(out_dir, Path(ret.file), taken, inputs)))
    return copies


def write_copies(
    copies: Sequence[Copy], schedule: Schedule, out_dir: Path, registry: Registry | None = None,
    open_password: str | None = None, run_date: date | None = None,
) -> list[str]:
    """Write each planned copy on its own, then the summary (feedback.txt). A copy that cannot be made or
    written does not stop the others: it is marked (Copy.failed) and named in the summary. Returns a line
    for each file that could not be written, naming it (never evidence)."""
    run_date = run_date or date.today()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        for c in copies:
            c.failed = "" if c.out is None else f"the folder could not be made: {exc.strerror or exc}"
        return [f"{printable(str(out_dir))}: the feedback folder could not be made ({exc.strerror or exc}); "
                "no copy and no summary were written"]
    templates = Templates(schedule, registry)
    for c in copies:
        if c.out is not None:
            _write_copy(c, c.out, templates, schedule, run_date, open_password)
    problems = [f"{printable(str(c.out))}: the feedback copy of {printable(c.ret.file)} could not be written "
                f"({c.failed}); the run's other outputs do not depend on it" for c in copies if c.failed]
    summary = out_dir / SUMMARY_FILE
    try:
        write_atomic(summary, summary_text(copies, run_date).encode("utf-8"))
    except OSError as exc:
        problems.append(f"{printable(str(summary))}: could not be written ({exc.strerror or exc})")
    return problems


def _write_copy(c: Copy, out: Path, templates: Templates, schedule: Schedule, run_date: date,
                open_password: str | None) -> None:
    try:
        data, c.kept = annotated_copy(Path(c.ret.file), c.ret, templates, schedule, run_date, open_password)
    except CannotCopy as exc:
        c.out, c.reason = None, str(exc)
        return
    except Exception as exc:  # noqa: BLE001 - one copy must not stop the others; its message may hold evidence
        c.failed = f"{type(exc).__name__} while making it, a fault in xlschedule: please report it"
        return
    try:
        write_atomic(out, data)
    except OSError as exc:
        c.failed = exc.strerror or type(exc).__name__


def prepare_feedback(out_dir: Path | None) -> None:
    """Fail before any work if the feedback folder cannot be made or written."""
    if out_dir is not None:
        make_folder(out_dir, "--feedback")


def feedback_line(copies: Sequence[Copy], out_dir: Path) -> str:
    """What the console says of the copies: how many, where, and how many returns got none (never evidence)."""
    made = sum(1 for c in copies if c.written)
    line = (f"Feedback: {made} cop{'y' if made == 1 else 'ies'} to send back in {out_dir}"
            f" ({out_dir / SUMMARY_FILE} says which forces and why)")
    none = sum(1 for c in copies if c.out is None and not c.withheld)
    if none:
        line += f"; {none} return{'s' if none != 1 else ''} could not be copied (listed there, with what to do)"
    withheld = sum(1 for c in copies if c.withheld)
    if withheld:
        line += (f"; {withheld} return{'s' if withheld != 1 else ''} accepted with warnings alone got none "
                 "(--feedback-for errors)")
    return line + "."


def no_copy_reason(ret: Return) -> str | None:
    """Why a return that needs attention gets no copy, or None when it gets one."""
    twin = next((f for f in ret.findings if f.code == Code.DUPLICATE_FILE.code), None)
    if twin is not None:
        return f"{Code.DUPLICATE_FILE.code}: {twin.message}"
    if ret.force is None or ret.mode is None:
        first = ret.errors()[0] if ret.errors() else ret.findings[0]
        return f"it could not be read as a return of this round ({first.code}): {first.message}"
    return None


def _target(out_dir: Path, source: Path, taken: set[str], inputs: set[Path]) -> Path:
    """`<name>-feedback.xlsx` in `out_dir`, never a return of the run nor another copy of this run; a name too
    long for the file system cut short the same way every time (packager.fit_name)."""
    n = 1
    while True:
        ending = f"{COPY_SUFFIX}.xlsx" if n == 1 else f"{COPY_SUFFIX}-{n}.xlsx"
        name = fit_name(source.stem + ending, ending)
        target = out_dir / name
        if name.casefold() not in taken and target.resolve() not in inputs:
            taken.add(name.casefold())
            return target
        n += 1


# --- one copy -------------------------------------------------------------------------------------------------


def annotated_copy(
    path: Path, ret: Return, templates: Templates, schedule: Schedule, run_date: date,
    open_password: str | None = None,
) -> tuple[bytes, list[str]]:
    """The feedback copy of one return (judged as `ret`) as bytes, and the cells where a value ingest could not
    accept is kept. Raises CannotCopy when the file cannot be read again as the return it was judged to be."""
    from .errors import ReadError

    try:
        snap = read_workbook(path, open_password)
    except ReadError as exc:
        raise CannotCopy(f"it could not be read again ({exc.code.code})") from None
    blank, problems = templates.resolve(str(path), snap.meta() or {})
    if blank is None or ret.force is None:
        raise CannotCopy(problems[0].message if problems else "its blank could not be found")
    wb = open_blank(blank.data)
    name_force(wb, blank.schedule, ret.force)
    carry_into(_answers(ret, snap, blank), wb, blank.form)
    kept = _keep_invalid(wb, snap, ret.findings)
    marks = _marks(ret, snap, blank, kept)
    feedback_mark.mark_cells(wb, marks)
    frame = Frame(marking=schedule.schedule.protective_marking, title=printable(f"Feedback on {_which(ret)}"))
    _findings_sheet(wb, ret, frame, run_date, kept)
    _cover_note(wb, ret, run_date, blank.form.cover_cell("force"))
    return workbook_bytes(wb), sorted(f"{quote(s)}!{c}" for s, c in kept)


def _answers(ret: Return, snap: WorkbookSnapshot, blank: Blank) -> Answers:
    """The return's answers as its own blank puts them (its own refs, not the current schedule's); none from a
    sheet whose rows moved, since they would be read from the wrong rows."""
    own = Return(file=ret.file, force=ret.force, mode=blank.mode)
    read_answers(own, snap, blank)
    answers = Answers.of(own)
    moved = {f.sheet for f in ret.findings if f.code == MOVED_ROWS}
    sheet_of = {row.ref: row.sheet for row in blank.form.rows}
    answers.rows = {ref: a for ref, a in answers.rows.items() if sheet_of.get(ref) not in moved}
    return answers


def _keep_invalid(wb: Workbook, snap: WorkbookSnapshot, findings: list[Finding]) -> dict[tuple[str, str], object]:
    """Type back into the copy each value ingest could not accept as an option (a formula as its text), so it
    is not lost; the copy is rejected until it is replaced. Returns (sheet, cell) -> the value kept."""
    kept: dict[tuple[str, str], object] = {}
    for f in findings:
        if f.code not in INVALID or f.sheet is None or f.cell is None or f.sheet not in wb.sheetnames:
            continue
        sheet = snap.sheets.get(f.sheet)
        cv = sheet.cells.get(f.cell) if sheet else None
        if cv is None:
            continue
        value = cv.value
        cell = wb[f.sheet][f.cell]
        if isinstance(value, str) or cv.is_formula or cv.is_error:
            cell.value = excel_text(str(value) if not cv.is_formula or str(value).startswith("=") else f"={value}")
            cell.data_type = "s"
        else:
            cell.value = value
        kept[(f.sheet, f.cell)] = value
    return kept


def _marks(
    ret: Return, snap: WorkbookSnapshot, blank: Blank, kept: dict[tuple[str, str], object]
) -> dict[tuple[str, str], list[str]]:
    """(sheet, cell) -> the paragraphs of its note: each finding there, with what the copy did about it."""
    assert ret.force is not None
    locked = blank.locked(ret.force)
    evidence_of = {row.score: row.evidence for row in blank.form.rows if row.score}
    marks: dict[tuple[str, str], list[str]] = {}
    for f in ret.findings:
        if f.sheet is None or f.cell is None or f.sheet == META_SHEET:
            continue
        text = f"{f.code} ({_severity(f)}): {f.message}"
        if (f.sheet, f.cell) in kept:
            text += " What you typed is kept in this cell, so that it is not lost; the return is accepted once " \
                    "an option replaces it."
        elif f.code in (Code.LOCKED_CELL_CHANGED.code, Code.FORCE_CHANGED.code):
            text += " " + _what_blank_had(locked.get(f.sheet, {}).get(f.cell), snap, f.sheet, f.cell)
        elif f.code == Code.EVIDENCE_NOT_TEXT.code:
            text += " It is empty in this copy."
        marks.setdefault((f.sheet, f.cell), []).append(text)
        if f.code == Code.LOW_SCORE_NO_EVIDENCE.code and f.cell in evidence_of:
            marks.setdefault((f.sheet, evidence_of[f.cell]), []).append(
                f"{f.code}: write here the evidence behind the score in {f.cell}.")
    return marks


def _what_blank_had(want: CellValue | None, snap: WorkbookSnapshot, sheet: str, cell: str) -> str:
    had = snap.sheets[sheet].cells.get(cell) if sheet in snap.sheets else None
    blank = "nothing" if want is None else _shown(want)
    returned = "nothing" if had is None else _shown(had)
    return f"The blank has {blank} here, and so does this copy; the return you sent had {returned}."


def _shown(cv: CellValue) -> str:
    text = as_text(cv.value)
    return f"the formula {text if text.startswith('=') else '=' + text}" if cv.is_formula else f"“{text}”"


def _severity(f: Finding) -> str:
    return "stops the return being accepted" if f.severity is Severity.ERROR else "warning"


def _cover_note(wb: Workbook, ret: Return, run_date: date, force_cell: str) -> None:
    """The cover says, in a note on the force's name, that this is a feedback copy and where the findings are."""
    cover = wb[COVER_SHEET]
    cover[force_cell].comment = Comment(excel_text(
        f"{_headline(ret, run_date)} {_counts(ret)} The findings are listed on the '{FEEDBACK_SHEET}' sheet, and "
        "each flagged cell has a note like this one."), AUTHOR, height=120, width=320)
    wb.properties.subject = printable(_headline(ret, run_date))  # a property, where no escape is read


def _which(ret: Return) -> str:
    ref = f"return {cut(ret.return_ref)}" if ret.return_ref else "a return with no return reference"
    return f"{ref} of {ret.force}"


def _headline(ret: Return, run_date: date) -> str:
    return f"Feedback on {_which(ret)}, from the xlschedule run of {run_date.isoformat()}."


def _counts(ret: Return) -> str:
    errors, warnings = len(ret.errors()), len(ret.warnings())
    findings = f"{len(ret.findings)} finding{'s' if len(ret.findings) != 1 else ''}"
    return (f"{findings}: {errors} stop{'s' if errors == 1 else ''} the return being accepted, "
            f"{warnings} {'is a warning' if warnings == 1 else 'are warnings'}.")


def quote(sheet: str) -> str:
    return layout.quote_sheet(sheet)


# --- the Feedback sheet -----------------------------------------------------------------------------------

FINDING_HEADERS = ("Sheet", "Cell", "Code", "Stops acceptance", "What is wrong", "What to do")
FINDING_WIDTHS = (18.0, 12.0, 22.0, 12.0, 60.0, 60.0)


def finding_row(f: Finding) -> tuple[str, str, str, str, str, str]:
    """A finding's row of the Feedback sheet: its problem and its fix as the code made them (or what the copy
    has already done about it), never a message split back into parts."""
    stops = "Yes" if f.severity is Severity.ERROR else "No"
    return (f.sheet or "", f.cell or "", f.code, stops, f.problem, DONE_IN_COPY.get(f.code, f.fix))


def _findings_sheet(
    wb: Workbook, ret: Return, frame: Frame, run_date: date, kept: dict[tuple[str, str], object]
) -> Worksheet:
    name = FEEDBACK_SHEET
    while name in wb.sheetnames:
        name = f"{name}_"
    cover = wb[COVER_SHEET]
    ws = wb.create_sheet(name, 0)
    notes = [
        _headline(ret, run_date)[:-1] + f", on the file {Path(ret.file).name}.",
        _counts(ret),
        "This is your return, every answer in it, in a fresh blank. Each cell listed below is marked where it "
        "sits (a red highlight and a note); click its cell to go there.",
        _what_to_do(ret),
        SAVE_AS_IT_IS,
    ]
    if kept:
        notes.append("Scores and policy fits that are not one of the options are kept in their cells, so nothing "
                     "you typed is lost: pick an option from the dropdown in their place.")
    head = top(ws, frame, f"Feedback on {_which(ret)}", notes) + 1
    header(ws, head, FINDING_HEADERS, FINDING_WIDTHS)
    for offset, f in enumerate(ret.findings, start=1):
        row = head + offset
        values = finding_row(f)
        for col, value in enumerate(values, start=1):
            put(ws, row, col, value, TOP_WRAP)
        if f.sheet and f.sheet in wb.sheetnames and f.sheet != META_SHEET:
            where = f"{quote(f.sheet)}!{f.cell or 'A1'}"
            link = ws.cell(row=row, column=2 if f.cell else 1)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=where, display=str(link.value))
            link.font = LINK
        fit_rows(ws, row, [(str(v), w - 1) for v, w in zip(values, FINDING_WIDTHS, strict=True)])
    table(ws, "Findings", head, len(FINDING_HEADERS), len(ret.findings))
    print_setup(ws, frame, head)
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet is ws
    wb.active = 0
    ws.protection = copy(cover.protection)
    _record(wb, ws)
    return ws


def _what_to_do(ret: Return) -> str:
    """The copy's one instruction: what becomes of the return, and what the inspector does."""
    if warned_only(ret):
        return ("Your return was accepted, with the gaps listed below: fill each as the last column says, save it "
                "and send it back, to take the place of the one you sent.")
    return "Your return was not accepted: do what the last column says for each line, save it and send it back."


def _record(wb: Workbook, ws: Worksheet) -> None:
    """Name the Feedback sheet and its digest in the metadata, below the blank's own keys."""
    cells = feedback_mark.as_read((c.coordinate, c.value) for row in ws.iter_rows() for c in row)
    digest = feedback_mark.sheet_digest(cells)
    feedback_mark.record(wb, {feedback_mark.SHEET_KEY: ws.title, feedback_mark.DIGEST_KEY: digest})


# --- the run's summary, for the central team -------------------------------------------------------------

SUMMARY_HEADERS = ("Force", "Return", "File", "Status", "Errors", "Warnings", "Codes", "Feedback copy", "Next step")
SUMMARY_WIDTHS = (16.0, 12.0, 30.0, 11.0, 8.0, 10.0, 30.0, 30.0, 60.0)
#: The return reference's column: its cell keeps the whole reference, but its row is as tall as the first
#: SHOWN_VALUE characters need, so a pasted one (past the cover's limit) cannot fill the page.
SUMMARY_REF = SUMMARY_HEADERS.index("Return")


def summary_rows(copies: Sequence[Copy]) -> list[tuple[str, str, str, str, int, int, str, str, str]]:
    """One row per return that needs attention: who it is from, why, its copy, and what happens next."""
    rows = []
    for c in copies:
        ret = c.ret
        if c.failed:
            step = f"The copy could not be written ({c.failed}): make room, or clear what is in the way, and run again."
        elif c.withheld:
            step = ("Accepted with warnings; no copy (--feedback-for errors): it counts as it is, gaps and all. "
                    "Nothing to send.")
        elif c.out is not None:
            step = ("Send the copy back to the force: they fix what its Feedback sheet lists and send it back."
                    if not warned_only(ret) else
                    "Accepted with warnings: send the copy back to the force; they fill the gaps its Feedback sheet "
                    "lists and send it back, to take the place of this return.")
        else:
            step = f"No copy: {c.reason}"
        rows.append((ret.force or "", ret.return_ref or "", ret.file, ret.status.value, c.errors, c.warnings,
                     ", ".join(c.codes), c.out.name if c.out else "", step))
    return rows


def summary_text(copies: Sequence[Copy], run_date: date) -> str:
    """The short text file beside the copies: which forces have copies to go back and why. No evidence; names
    and references escaped as the console shows them (report.printable), so the file reads the same anywhere."""
    with_copy = [c for c in copies if c.written]
    failed = [c for c in copies if c.failed]
    without = [c for c in copies if c.out is None and not c.withheld]
    withheld = [c for c in copies if c.withheld]
    lines = [f"Feedback from the xlschedule run of {run_date.isoformat()}: {len(copies)} return(s) need attention, "
             f"{len(with_copy)} with a feedback copy to send back.", ""]
    if with_copy:
        lines.append("Copies to send back (each is the return with its findings marked; the force fixes them and "
                     "sends the copy back as it is):")
        for c in with_copy:
            assert c.out is not None
            lines.append(f"- {_who(c)}: {printable(c.out.name)} (from {printable(c.ret.file)}): {c.ret.status.value}, "
                         f"{c.errors} error(s), {c.warnings} warning(s): {', '.join(c.codes)}")
        lines.append("")
    if failed:
        lines.append("Copies that could not be written (make room, or clear what is in the way, and run again):")
        for c in failed:
            assert c.out is not None
            lines.append(f"- {_who(c)}: {printable(c.out.name)} (from {printable(c.ret.file)}) could not be written "
                         f"({printable(c.failed)})")
        lines.append("")
    if without:
        lines.append("No copy (do what each reason says: most often, the force sends the return again):")
        for c in without:
            lines.append(f"- {printable(c.ret.file)}: {printable(c.reason)}")
        lines.append("")
    if withheld:
        lines.append("Accepted with warnings, no copy (--feedback-for errors: warnings alone earn none); each counts "
                     "as it is, and nothing goes back:")
        for c in withheld:
            lines.append(f"- {_who(c)} (from {printable(c.ret.file)}): {c.warnings} warning(s): {', '.join(c.codes)}")
        lines.append("")
    return "\n".join(lines)


def _who(c: Copy) -> str:
    return f"{shown(c.ret.force or '')}, return {shown(c.ret.return_ref or '(no reference)')}"


def add_summary_sheet(wb: Workbook, frame: Frame, copies: Sequence[Copy], run_date: date) -> Worksheet:
    """The run's feedback summary as a sheet of a workbook (the consolidated one), framed as its other sheets."""
    ws = wb.create_sheet(FEEDBACK_SHEET)
    with_copy = sum(1 for c in copies if c.out is not None)
    head = top(ws, frame, "Feedback to forces", [
        f"Returns of the run of {run_date.isoformat()} that need attention: {len(copies)}; "
        f"{with_copy} with a feedback copy to send back to the force.",
        "A copy is the return with every finding marked on its cell; the force fixes them and sends the copy back.",
        f"The copies are written after this workbook, each on its own: {SUMMARY_FILE} beside them names any that "
        "could not be written.",
    ]) + 1
    header(ws, head, SUMMARY_HEADERS, SUMMARY_WIDTHS)
    for offset, values in enumerate(summary_rows(copies), start=1):
        for col, value in enumerate(values, start=1):
            put(ws, head + offset, col, value, TOP_WRAP if isinstance(value, str) else TOP)  # counts stand right
        measured = [str(v)[:SHOWN_VALUE] if col == SUMMARY_REF else str(v) for col, v in enumerate(values)]
        fit_rows(ws, head + offset, [(v, w - 1) for v, w in zip(measured, SUMMARY_WIDTHS, strict=True)])
    table(ws, "Feedback", head, len(SUMMARY_HEADERS), len(copies))
    print_setup(ws, frame, head)
    return ws
