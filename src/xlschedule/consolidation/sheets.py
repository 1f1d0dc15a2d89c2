"""The sheets of the consolidated workbook, after the UK Government Analysis Function's guidance on
releasing statistics in spreadsheets: a cover, contents and notes, then one titled table per sheet,
each marked up as an Excel table, with codes ([z], [x]) where there is no figure and colour that only
repeats a number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from openpyxl.styles import Alignment
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from ..layout import quote_sheet
from ..model import Finding, Mode, Return, ReturnStatus, Schedule
from ..streamsheet import Stream, StreamRow
from . import palette
from .kit import (
    BOLD,
    LINK,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    TOP,
    TOP_RIGHT,
    TOP_WRAP,
    Frame,
    align,
    area,
    excel_text,
    fit_height,
    fit_rows,
    header,
    print_setup,
    put,
    put_row,
    table,
    top,
    word_lines,
)
from .run import (
    SCORED_MODES,
    Run,
    force_name,
    latest_date,
    mismatches,
    not_conforming,
    scale_range,
    score_value,
    section_refs,
    thresholds,
)
from .run import figure as figure_of

SHEET_WORDS = {Mode.SCALE: "scale", Mode.YESNO: "yes-no", Mode.NARRATIVE: "written"}


@dataclass(frozen=True)
class Sheet:
    """A sheet as the contents lists it."""

    name: str
    description: str


def judgments_sheet(mode: Mode) -> str:
    return f"Judgments ({SHEET_WORDS[mode]})"


def items_sheet(mode: Mode) -> str:
    return f"Items ({SHEET_WORDS[mode]})"


def table_name(sheet: str) -> str:
    """A sheet's name as an Excel table name: letters, digits and underscores."""
    return "".join(ch if ch.isalnum() else "_" for ch in sheet).strip("_").replace("__", "_")


def what_figures_are(schedule: Schedule, mode: Mode, what: str) -> str:
    """What the numbers in a view are, in words, so nobody reads a share of Yes as a mean score."""
    na = schedule.schedule.not_applicable
    spec = schedule.modes[mode]
    if mode is Mode.SCALE:
        lo, hi = spec.options[0], spec.options[-1]
        scale = f"{lo} {spec.labels.get(lo, '')} to {hi} {spec.labels.get(hi, '')}".replace("  ", " ")
        return f"{spec.title}: mean {what} score ({scale}); {na} and unanswered excluded."
    if mode is Mode.YESNO:
        return f"{spec.title}: share of {spec.options[0]} among {'/'.join(spec.options)} {what} answers; " \
               f"{na} and unanswered excluded."
    return f"{spec.title}: returns with the {what} evidence written, of the force's returns."


def legend_keys(schedule: Schedule, mode: Mode) -> list[tuple[str, float]]:
    if mode is Mode.SCALE:
        lo, hi = scale_range(schedule)
        spec = schedule.modes[mode]
        return [(f"{o} {spec.labels.get(o, '')}".strip(), ((score_value(schedule, mode, o) or lo) - lo) / (hi - lo))
                for o in spec.options]
    if mode is Mode.YESNO:
        return [(f"{p}%", p / 100) for p in (0, 25, 50, 75, 100)]
    return [("None", 0.0), ("Half", 0.5), ("Most", 1.0)]


def heat_for(ws: Worksheet, run: Run, mode: Mode, cells: str) -> None:
    if mode is Mode.SCALE:
        palette.heat(ws, cells, *scale_range(run.schedule))
    elif mode is Mode.YESNO:
        palette.heat(ws, cells, 0, 1)
    else:
        palette.heat(ws, cells, 0)


def put_figure(ws: Worksheet, row: int, column: int, fig_cell: float | int | str, number_format: str) -> None:
    put(ws, row, column, fig_cell).number_format = number_format


# --- cover, contents, notes ----------------------------------------------------------------------


def write_cover(ws: Worksheet, run: Run, frame: Frame) -> None:
    info = run.schedule.schedule
    c = Counter(r.status for r in run.returns)
    forces_in = len({r.force for r in run.accepted if r.force})
    lines = [
        ("What this holds", f"The returns of one inspection round, consolidated: for each police force, what was "
                            f"returned and what it says. {len(run.returns)} files received: "
                            f"{c[ReturnStatus.ACCEPTED]} accepted, {c[ReturnStatus.REJECTED]} rejected, "
                            f"{c[ReturnStatus.DUPLICATE]} duplicate. {forces_in} of "
                            f"{len(run.schedule.forces.names)} forces have an accepted return."),
        ("Source", f"Returns completed by inspectors in workbooks built from the schedule {info.id} version "
                   f"{info.version}, read and checked by xlschedule. Only accepted returns give figures."),
        ("Dates of audit", date_span(run.returns)),
        ("Protective marking", f"{info.protective_marking}. Responses holds inspectors' evidence: handle and "
                               "share this workbook as its marking requires."),
        ("Date published", "[Add the date this workbook is sent on]"),
        ("Contact", "[Add the name and email address of the team that answers questions on it]"),
        ("How to use it", "Contents lists every sheet with a link. Notes explains the codes [z] and [x], how "
                          "figures are computed and what n means."),
    ]
    row = top(ws, frame, f"{info.title}: {info.inspection}", ["Consolidated returns"])
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 100
    for label, text in lines:
        row += 1
        put(ws, row, 1, label).font = BOLD
        put(ws, row, 2, text, TOP_WRAP)
        fit_rows(ws, row, [(text, 100)])
    print_setup(ws, frame, None, landscape=False)


def date_span(returns: Iterable[Return]) -> str:
    dates = sorted({d for r in returns if r.status is ReturnStatus.ACCEPTED and (d := latest_date([r]))})
    if not dates:
        return f"{NOT_AVAILABLE} no accepted return gives a date of audit"
    return f"{dates[0].isoformat()} to {dates[-1].isoformat()}, from the returns' covers"


def write_contents(ws: Worksheet, frame: Frame, sheets: Sequence[Sheet]) -> None:
    row = top(ws, frame, "Contents", ["Each sheet's name links to it."])
    head = row
    header(ws, head, ["Sheet", "What it holds"], [24, 110])
    for r, sheet in enumerate(sheets, start=head + 1):
        cell = put(ws, r, 1, sheet.name)
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"{quote_sheet(sheet.name)}!A1",
                                   display=sheet.name)
        cell.font = LINK
        put(ws, r, 2, sheet.description, TOP_WRAP)
        fit_rows(ws, r, [(sheet.description, 110)])
    table(ws, "Contents", head, 2, len(sheets), stripes=False)
    print_setup(ws, frame, head)


def notes(run: Run) -> list[str]:
    s = run.schedule
    na = s.schedule.not_applicable
    yes, *_, no = s.policy_fit.options
    spec = s.modes[Mode.SCALE]
    lo, hi = thresholds(s, Mode.SCALE)
    return [
        "Only accepted returns give figures. Rejected and duplicate returns are counted on Summary and listed, "
        "with every problem found, on Returns and Issues.",
        f"[z] means not applicable: every answer to it was {na}.",
        "[x] means not available: nothing to show, because the cell was left unanswered, or no accepted "
        "return gives it (a force with no return has [x] for its dates and answers).",
        f"Means: on the {spec.title} a judgment's figure is the mean of the scores given; {na} and unanswered "
        f"cells are left out, never counted as 0. On {s.modes[Mode.YESNO].title} the figure is the share of "
        f"{s.modes[Mode.YESNO].options[0]} among the answers that gave one of "
        f"{'/'.join(s.modes[Mode.YESNO].options)}. In the written mode it is the number of returns that wrote "
        "evidence.",
        "n is how many answers a figure rests on (scores given, N/A and unanswered left out), shown beside the "
        "figure as (n=3); in the written mode '2 of 3' means 2 of the force's 3 returns. The cell holds the "
        "number alone, so it can be sorted, averaged (AVERAGE ignores the [z] and [x] codes) and charted.",
        "A return is incomplete when it was accepted but at least one answer cell was left empty "
        f"({na} counts as an answer). Answered is the share of answer cells filled in accepted returns.",
        f"Policy fit: the shares of {'/'.join(s.policy_fit_options())} are of the judgments whose policy fit "
        f"was answered (n). Not conforming is the share of answers other than {yes} among "
        f"{'/'.join(s.policy_fit.options)}; {na} and unanswered are left out.",
        f"Mismatches: on the {spec.title} a high score is {int(hi)} or more and a low score {int(lo)} or less; "
        f"on {s.modes[Mode.YESNO].title} {s.modes[Mode.YESNO].options[0]} is high and the others low. A "
        f"mismatch is a high score with policy fit {no}, or a low score with policy fit {yes}.",
        "Colour in the heat maps runs from pale yellow (low) to dark blue (high), readable in greyscale and "
        "by colour-blind readers; it only repeats the number in the cell, which is always there.",
        f"On Responses a blank Score or Policy fit was not answered and {na} is not applicable; the Source file "
        "is the path given to xlschedule ingest.",
        "Latest date of audit is the latest date typed on the cover of a force's accepted returns.",
        f"The protective marking {s.schedule.protective_marking} is at the top of every sheet and in every "
        "printed page's header and footer.",
    ]


def write_notes(ws: Worksheet, run: Run, frame: Frame) -> None:
    row = top(ws, frame, "Notes", ["Notes on the codes and figures used in this workbook."])
    head = row
    header(ws, head, ["Note number", "Note text"], [10, 110])
    texts = notes(run)
    for r, text in enumerate(texts, start=head + 1):
        put(ws, r, 1, r - head)
        put(ws, r, 2, text, TOP_WRAP)
        fit_rows(ws, r, [(text, 110)])
    table(ws, "Notes", head, 2, len(texts), stripes=False)
    print_setup(ws, frame, head)


# --- Summary: every force, whatever it returned --------------------------------------------------


SUMMARY_COLUMNS = ("Force", "Position", "Returns received", "Accepted", "Rejected", "Duplicate", "Incomplete",
                   "Answered", "Latest date of audit", "Mode")
SUMMARY_WIDTHS = (28, 20, 10, 10, 10, 10, 11, 20, 14, 20)


def write_summary(ws: Worksheet, run: Run, frame: Frame) -> None:
    by_force: dict[str, list[Return]] = {}
    for ret in run.returns:
        by_force.setdefault(force_name(ret), []).append(ret)
    forces = run.forces()
    with_accepted = sum(1 for f in forces if any(r.status is ReturnStatus.ACCEPTED for r in by_force.get(f, [])))
    row = top(ws, frame, "Summary: returns by force", [
        f"Every force in the schedule: {with_accepted} of {len(forces)} have an accepted return. See Notes for "
        "[x], incomplete and answered.",
    ])
    head = row
    header(ws, head, SUMMARY_COLUMNS, SUMMARY_WIDTHS)
    for r, force in enumerate(forces, start=head + 1):
        summary_row(ws, run, r, force, by_force.get(force, []))
    table(ws, "Summary", head, len(SUMMARY_COLUMNS), len(forces))
    print_setup(ws, frame, head, name_columns="A:A")


def summary_row(ws: Worksheet, run: Run, r: int, force: str, returns: list[Return]) -> None:
    status = Counter(ret.status for ret in returns)
    accepted = [ret for ret in returns if ret.status is ReturnStatus.ACCEPTED]
    position = "Returned" if accepted else "None accepted" if returns else "No return received"
    put_row(ws, r, [force, position, len(returns), status[ReturnStatus.ACCEPTED], status[ReturnStatus.REJECTED],
                    status[ReturnStatus.DUPLICATE], sum(1 for ret in accepted if run.incomplete(ret))])
    answerable = sum(run.answerable(ret.mode) for ret in accepted if ret.mode)
    if answerable:
        share = sum(ret.answered for ret in accepted) / answerable
        put(ws, r, 8, share).number_format = f'0%" of {answerable} cells"'
    else:
        put(ws, r, 8, NOT_AVAILABLE)
    latest = latest_date(accepted)
    if latest:
        put(ws, r, 9, latest).number_format = "yyyy-mm-dd"
    else:
        put(ws, r, 9, NOT_AVAILABLE)
    modes = sorted({ret.mode for ret in accepted if ret.mode}, key=list(Mode).index)
    put(ws, r, 10, ", ".join(run.schedule.modes[m].title for m in modes) if modes else NOT_AVAILABLE)


# --- heat maps: force by section judgment, item by force ---------------------------------------------


def write_judgments(ws: Worksheet, run: Run, frame: Frame, mode: Mode, forces: dict[str, list[Return]]) -> None:
    sections = run.schedule.sections
    row = top(ws, frame, f"Judgments by force: {run.schedule.modes[mode].title}", [
        what_figures_are(run.schedule, mode, "judgment"),
        "Forces with an accepted return in this mode; every force is on Summary. [z] and [x]: see Notes.",
    ])
    labels = ["Force", "Returns", *(s.label for s in sections)]
    head = row + 2
    header(ws, head, labels, [28, 9, *([13] * len(sections))])
    palette.legend(ws, row, legend_keys(run.schedule, mode), first_column=3)
    last = head
    for last, (force, returns) in enumerate(forces.items(), start=head + 1):
        put_row(ws, last, [force, len(returns)])
        for c, section in enumerate(sections, start=3):
            fig = figure_of(run, mode, returns, section.judgment_ref)
            put_figure(ws, last, c, fig.cell, fig.number_format)
    heat_for(ws, run, mode, area(3, head + 1, 2 + len(sections), max(last, head + 1)))
    table(ws, table_name(ws.title), head, len(labels), len(forces), stripes=False)
    print_setup(ws, frame, head, name_columns="A:A", freeze=f"B{head + 1}")


def write_items(ws: Worksheet, run: Run, frame: Frame, mode: Mode, forces: dict[str, list[Return]]) -> None:
    row = top(ws, frame, f"Items by force: {run.schedule.modes[mode].title}", [
        what_figures_are(run.schedule, mode, "item"),
        "One row per judgment and item in schedule order, one column per force. [z] and [x]: see Notes.",
    ])
    labels = ["Section", "Ref", "Item", *forces]
    head = row + 2
    header(ws, head, labels, [22, 7, 55, *([12] * len(forces))])
    palette.legend(ws, row, legend_keys(run.schedule, mode), first_column=4)
    r = head
    for section in run.schedule.sections:
        for ref in section_refs(section):
            r += 1
            text = run.item_text(ref)
            put_row(ws, r, [section.label, ref])
            put(ws, r, 3, text, TOP_WRAP)
            align(ws.cell(r, 1), TOP_WRAP)
            if ref == section.judgment_ref:
                for c in (1, 2, 3):
                    ws.cell(r, c).font = BOLD
            fit_rows(ws, r, [(text, 55), (section.label, 22)])
            for c, returns in enumerate(forces.values(), start=4):
                fig = figure_of(run, mode, returns, ref)
                put_figure(ws, r, c, fig.cell, fig.number_format)
    heat_for(ws, run, mode, area(4, head + 1, 3 + len(forces), r))
    table(ws, table_name(ws.title), head, len(labels), r - head, stripes=False)
    print_setup(ws, frame, head, name_columns="A:C", freeze=f"D{head + 1}")


# --- practice against policy -------------------------------------------------------------------------


def policy_keys(run: Run) -> list[str]:
    """The policy fit options with N/A, then any other value actually seen, so no answer is dropped."""
    known = run.schedule.policy_fit_options()
    return [*known, *sorted(run.tally.policies_seen - set(known))]


def write_policy(ws: Worksheet, run: Run, frame: Frame) -> None:
    s = run.schedule
    returns = [r for r in run.accepted if r.mode in SCORED_MODES]
    keys = policy_keys(run)
    row = top(ws, frame, "Policy fit by section", [
        s.policy_fit.question,
        f"Share of each answer among the judgments whose policy fit was answered (n), accepted returns in the "
        f"scored modes. {NOT_AVAILABLE}: none answered.",
    ])
    head = row
    labels = ["Section", *keys, "Answered (n)", "Not answered"]
    header(ws, head, labels, [30, *([10] * len(keys)), 10, 10])
    for r, section in enumerate(s.sections, start=head + 1):
        given = run.stats(returns, section.judgment_ref).policy
        n = sum(given.values())
        put(ws, r, 1, section.label, TOP_WRAP)
        for c, key in enumerate(keys, start=2):
            if n:
                put(ws, r, c, given[key] / n).number_format = "0%"
            else:
                put(ws, r, c, NOT_AVAILABLE)
        put_row(ws, r, [n, len(returns) - n], 2 + len(keys))
        fit_rows(ws, r, [(section.label, 30)])
    table(ws, "Policy_fit", head, len(labels), len(s.sections))
    print_setup(ws, frame, head, name_columns="A:A")


def write_policy_by_force(ws: Worksheet, run: Run, frame: Frame) -> None:
    s = run.schedule
    by_force: dict[str, list[Return]] = {}
    for ret in run.accepted:
        if ret.mode in SCORED_MODES:
            by_force.setdefault(force_name(ret), []).append(ret)
    row = top(ws, frame, "Policy fit by force: share not conforming", [
        f"Share of policy fit answers other than {s.policy_fit.options[0]} (so "
        f"{' or '.join(s.policy_fit.options[1:])}), with its n; {s.schedule.not_applicable} and unanswered "
        "left out. Higher and darker is further from policy.",
    ])
    head = row + 2
    labels = ["Force", "Returns", *(sec.label for sec in s.sections)]
    header(ws, head, labels, [28, 9, *([13] * len(s.sections))])
    palette.legend(ws, row, [(f"{p}%", p / 100) for p in (0, 25, 50, 75, 100)], first_column=3)
    last = head
    for last, (force, returns) in enumerate(by_force.items(), start=head + 1):
        put_row(ws, last, [force, len(returns)])
        for c, section in enumerate(s.sections, start=3):
            fig = not_conforming(run, returns, section.judgment_ref)
            put_figure(ws, last, c, fig.cell, fig.number_format)
    palette.heat(ws, area(3, head + 1, 2 + len(s.sections), max(last, head + 1)), 0, 1)
    table(ws, "Policy_by_force", head, len(labels), len(by_force), stripes=False)
    print_setup(ws, frame, head, name_columns="A:A", freeze=f"B{head + 1}")


MISMATCH_COLUMNS = ("Force", "Return", "Section", "Ref", "Score", "Policy fit", "Mismatch", "Source file", "Cell")
MISMATCH_WIDTHS = (24, 14, 28, 7, 8, 9, 26, 40, 7)


def write_mismatches(ws: Worksheet, run: Run, frame: Frame) -> None:
    found = mismatches(run)
    row = top(ws, frame, "Mismatches between judgment and policy fit", [
        "A high score with policy fit No (good practice that falls short of policy), or a low score with Yes "
        "(poor practice that conforms to it). Thresholds: see Notes.",
        f"{len(found)} found in {len(run.accepted)} accepted returns.",
    ])
    head = row
    header(ws, head, MISMATCH_COLUMNS, MISMATCH_WIDTHS)
    for r, m in enumerate(found, start=head + 1):
        put_row(ws, r, [m.force, m.return_ref or NOT_AVAILABLE, m.section, m.ref, m.score, m.policy, m.kind, m.file,
                        m.cell or NOT_AVAILABLE])
        for c in (3, 8):
            align(ws.cell(r, c), TOP_WRAP)
        fit_rows(ws, r, [(m.section, 28), (m.file, 40)])
    if not found:
        put_row(ws, head + 1, ["None found", *([NOT_APPLICABLE] * (len(MISMATCH_COLUMNS) - 1))])
    table(ws, "Mismatches", head, len(MISMATCH_COLUMNS), len(found))
    print_setup(ws, frame, head)


# --- Returns and Issues ------------------------------------------------------------------------------


RETURN_COLUMNS = (
    "File", "SHA-256", "Force", "Return reference", "Inspector", "Date", "Mode", "Status", "Saved by",
    "Application changes", "Errors", "Warnings", "Answered",
)
RETURN_WIDTHS = (40, 18, 18, 14, 18, 13, 9, 10, 12, 22, 8, 10, 10)
RETURN_DATE = RETURN_COLUMNS.index("Date") + 1
#: The Returns table's column of what the application changed, which wraps.
CHANGES_COLUMN = RETURN_COLUMNS.index("Application changes") + 1
ISSUE_COLUMNS = ("File", "Sheet", "Cell", "Code", "Severity", "Message")
ISSUE_WIDTHS = (40, 18, 7, 24, 10, 80)
WRAPPED = Alignment(vertical="top", wrap_text=True)
#: Columns of the Issues table that wrap (by number): the file and the message.
ISSUE_WRAPPED = (1, 6)
#: Columns of the Issues table whose strings repeat, kept once in the shared-string table: all of them.
ISSUE_SHARED = (True, True, True, True, True, True)
#: The codes that may stand in the Issues table, right-aligned where a figure would be (as put aligns them).
ISSUE_CODES = frozenset((NOT_APPLICABLE, NOT_AVAILABLE))


def write_returns(ws: Worksheet, run: Run, frame: Frame) -> None:
    """Every return of the run, whatever its status, with its file hash to trace it back."""
    row = top(ws, frame, "Returns: every file received", [
        "Status accepted, rejected or duplicate; errors reject a return, warnings do not. Details on Issues.",
        "Saved by: the application that saved the file last (Excel or LibreOffice), where the file names it. "
        "Application changes: what it changed that no check depends on (metadata-sheet-shown, structure-unlocked).",
    ])
    head = row
    header(ws, head, RETURN_COLUMNS, RETURN_WIDTHS)
    for r, ret in enumerate(run.returns, start=head + 1):
        changes = ", ".join(ret.client_changes) or "None"
        put_row(ws, r, [
            ret.file, ret.sha256 or NOT_AVAILABLE, ret.force or NOT_AVAILABLE, ret.return_ref or NOT_AVAILABLE,
            ret.inspector or NOT_AVAILABLE, ret.date or NOT_AVAILABLE,
            ret.mode.value if ret.mode else NOT_AVAILABLE, ret.status.value, ret.saved_by or "Not known", changes,
            len(ret.errors()), len(ret.warnings()), ret.answered,
        ])
        day = latest_date([ret])  # a date read (from a date cell, a serial or a text) is a date here too
        if day is not None:
            put(ws, r, RETURN_DATE, day).number_format = "yyyy-mm-dd"
        for c in (1, 2, CHANGES_COLUMN):
            align(ws.cell(r, c), WRAPPED)
        fit_rows(ws, r, [(ret.file, RETURN_WIDTHS[0]), (ret.sha256, RETURN_WIDTHS[1]),
                         (changes, RETURN_WIDTHS[CHANGES_COLUMN - 1])])
    table(ws, "Returns", head, len(RETURN_COLUMNS), len(run.returns))
    print_setup(ws, frame, head)


def write_issues(ws: Worksheet, run: Run, frame: Frame) -> None:
    """Every finding of every return, in return order, located down to the cell where known. The findings'
    rows are streamed in when the workbook is saved (see issues_stream): here, a template row carries each
    column's alignment, and where a code ([z], [x]) is among the values a second one carries a code's
    alignment (right, as put aligns it; the file and message wrap whatever they hold). With no findings,
    one row says so."""
    row = top(ws, frame, "Issues: every problem found in the returns", [
        f"Sheet and Cell {NOT_APPLICABLE} when a finding is about the whole file.",
    ])
    head = row
    header(ws, head, ISSUE_COLUMNS, ISSUE_WIDTHS)
    stream = issues_stream(run)
    if stream:
        for c in range(1, len(ISSUE_COLUMNS) + 1):
            align(ws.cell(head + 1, c), WRAPPED if c in ISSUE_WRAPPED else TOP)
            if stream.codes:
                align(ws.cell(head + 2, c), WRAPPED if c in ISSUE_WRAPPED else TOP_RIGHT)
    else:
        put_row(ws, head + 1, ["None found", *([NOT_APPLICABLE] * (len(ISSUE_COLUMNS) - 1))])
    table(ws, "Issues", head, len(ISSUE_COLUMNS), 1)
    print_setup(ws, frame, head)


def issue_values(f: Finding) -> tuple[str, ...]:
    """A finding's row of the Issues table, as it is (streamsheet makes the text inert)."""
    return f.file, f.sheet or NOT_APPLICABLE, f.cell or NOT_APPLICABLE, f.code, f.severity.value, f.message


def issues_stream(run: Run) -> Stream | None:
    """The Issues table's rows to stream into the saved workbook (see write_issues); None without findings."""
    count = sum(len(ret.findings) for ret in run.returns)
    if not count:
        return None
    has_codes = any(v in ISSUE_CODES for ret in run.returns for f in ret.findings for v in issue_values(f))
    return Stream("Issues", "Issues", issue_rows(run), count, ISSUE_SHARED, excel_text,
                  ISSUE_CODES if has_codes else ())


def issue_rows(run: Run) -> Iterator[StreamRow]:
    """Each finding as a row of the Issues sheet, with the height its wrapped file and message need."""
    widths: dict[str, int] = {}  # lines of each file's name, measured once per file
    for ret in run.returns:
        for f in ret.findings:
            lines = widths.get(f.file)
            if lines is None:
                lines = widths[f.file] = word_lines(f.file, ISSUE_WIDTHS[0])
            yield issue_values(f), fit_height(max(lines, word_lines(f.message, ISSUE_WIDTHS[-1])))
