"""Writes one blank, protected workbook per force from the schedule model and the layout."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Font
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.dimensions import RowDimension
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.protection import SheetProtection
from openpyxl.worksheet.worksheet import Worksheet

from . import __version__, layout, parallel
from .errors import OutputError, ScheduleError, UsageError
from .model import COVER_SHEET, META_SHEET, Mode, Schedule, Section, safe_filename
from .packager import make_folder, stamp, workbook_bytes, write_atomic
from .protection import PasswordHash, hash_password
from .registry import Registry, workbook_fingerprint
from .schedule import check_history
from .styles import (
    BAND_FILL,
    BODY,
    BOLD,
    BOX,
    CENTRE,
    FILLED,
    HEADER_FILL,
    HEADER_FONT,
    HEADER_FOOTER_FONT,
    HEADER_FOOTER_SIZE,
    ID_FONT,
    INPUT_FILL,
    ITALIC,
    LEFT,
    LINE_HEIGHT,
    NOTE_FONT,
    ROW_PADDING,
    TITLE_FONT,
    TOO_LONG,
    UNDERLINE,
    UNLOCKED,
    WRAP,
    row_height,
    text_height,
    wrapped_lines,
)

# Excel's limits on list validations and their messages.
LIST_FORMULA_MAX = 255
TITLE_MAX = 32
PROMPT_MAX = 255
ERROR_MAX = 225

#: Judgment and item rows start at least this many lines tall, or as tall as their text, and grow as
#: evidence is typed: room to start writing, and a blank return that prints compactly.
START_LINES = 2
#: Column widths of a section sheet. The evidence column is wide enough for 2,000 characters of
#: evidence to fit in well under Excel's 409-point row limit.
REF_WIDTH, TEXT_WIDTH, SCORE_WIDTH, NOTE_WIDTH, EVIDENCE_WIDTH = 10, 54, 12, 12, 105
#: Bold text is wider: a column holds this share of the characters it holds in regular text.
BOLD_SHRINK = 0.9
COVER_WIDTHS = (24, 100)
#: The Overall sheet shows this much of each step judgment's summary evidence.
EXCERPT = 250
#: Below this many workbooks, starting worker processes costs more than it saves.
POOL_THRESHOLD = 8


@dataclass(frozen=True)
class Built:
    force: str
    path: Path


@dataclass
class BuildResult:
    """What one build wrote: the mode, whether a password protects it, and each force's workbook."""

    mode: Mode
    out_dir: Path
    protected: bool
    workbooks: list[Built] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.workbooks)

    def summary(self, schedule: Schedule) -> str:
        noun = "workbook" if self.count == 1 else "workbooks"
        protected = "password-protected" if self.protected else "protected"
        return (
            f"Built {self.count} {protected} {noun} ({self.mode.value}, schedule {schedule.schedule.id} "
            f"v{schedule.schedule.version}) in {self.out_dir}"
        )


# --- validations -----------------------------------------------------------------------------


def _fit(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        raise ScheduleError(f"the {what} {text!r} is {len(text)} characters; Excel allows {limit}. Shorten it.")
    return text


def _validation(kind: str, title: str, prompt: str, error_title: str, error: str, **criteria: str) -> DataValidation:
    """A validation with a stop alert and an input message, its texts held to Excel's limits."""
    return DataValidation(
        type=kind, allow_blank=True, showErrorMessage=True, errorStyle="stop", showInputMessage=True,
        promptTitle=_fit(title, TITLE_MAX, "prompt title"), prompt=_fit(prompt, PROMPT_MAX, "prompt"),
        errorTitle=_fit(error_title, TITLE_MAX, "error title"), error=_fit(error, ERROR_MAX, "error message"),
        **criteria,
    )


def list_validation(options: list[str], prompt_title: str, prompt: str, error: str) -> DataValidation:
    """A dropdown that refuses anything else: literal list on the same sheet, stop alert, input message."""
    formula = '"' + ",".join(options) + '"'
    if len(formula) > LIST_FORMULA_MAX:
        raise ScheduleError(
            f"the options {options} make a list of {len(formula)} characters; Excel allows {LIST_FORMULA_MAX}"
        )
    dv = _validation("list", prompt_title, prompt, "Not one of the options", error, formula1=formula)
    dv.showDropDown = False  # openpyxl's name is inverted: False shows the arrow
    return dv


def score_prompt(schedule: Schedule, mode: Mode) -> str:
    spec = schedule.modes[mode]
    if spec.labels:
        scale = ", ".join(f"{o} {spec.labels[o]}" if o in spec.labels else o for o in spec.options)
        return f"{scale}. {spec.prompt}"
    return spec.prompt


def _pick_one(options: list[str]) -> str:
    return f"Pick one of {', '.join(options)} from the list, or clear the cell if not yet assessed."


def score_validation(schedule: Schedule, mode: Mode) -> DataValidation:
    options = schedule.options(mode)
    title = f"Score: {schedule.modes[mode].title}"
    return list_validation(options, title, score_prompt(schedule, mode), _pick_one(options))


def policy_validation(schedule: Schedule) -> DataValidation:
    options = schedule.policy_fit_options()
    prompt = f"{schedule.policy_fit.question} {' / '.join(options)}."
    return list_validation(options, "Policy fit", prompt, _pick_one(options))


def _excel_date(day: date) -> str:
    return f"DATE({day.year},{day.month},{day.day})"


def cover_validations() -> dict[str, DataValidation]:
    """The cover's three inputs: a short reference, a name, a date in the accepted range."""
    first, last = layout.COVER_DATE_FIRST, layout.COVER_DATE_LAST
    ref_max, who_max = layout.RETURN_REF_MAX, layout.INSPECTOR_MAX
    return {
        "return_ref": _validation(
            "textLength", "Return reference", "Your reference for this return, e.g. the case number audited.",
            "Reference too long", f"Keep the reference to {ref_max} characters or fewer.",
            operator="between", formula1="1", formula2=str(ref_max),
        ),
        "inspector": _validation(
            "textLength", "Inspector", "The name of the inspector completing this return.",
            "Name too long", f"Keep the name to {who_max} characters or fewer.",
            operator="between", formula1="1", formula2=str(who_max),
        ),
        "date": _validation(
            "date", "Date of audit", "The date of the audit, e.g. 2026-11-26.",
            "Not a date", f"Type a date between {first.year} and {last.year}, e.g. 2026-11-26.",
            operator="between", formula1=_excel_date(first), formula2=_excel_date(last),
        ),
    }


# --- cell styling ----------------------------------------------------------------------------


class _GrowingRow(RowDimension):
    """A row with a starting height but no custom height, so it grows with its text: Excel refits it
    when the inspector types into it, LibreOffice fits it on opening. (openpyxl marks every row with a
    height as custom, which freezes it at that height.)"""

    @property
    def customHeight(self) -> bool:
        return False


def _grow(ws: Worksheet, row: int, height: float) -> None:
    ws.row_dimensions[row] = _GrowingRow(ws, index=row, ht=height)


def open_blank(data: bytes) -> Workbook:
    """A built blank (its bytes) opened to be filled and saved again, with exactly its row behaviour.

    Reading a workbook, openpyxl marks every row with a height as custom (fixed at that height), so a
    row that grows with its text would stop growing in every copy. The rows the blank itself leaves free
    (no `customHeight` in its sheet XML) are made to grow again; the others keep their fixed height.
    The one way to reopen a blank: samples, upgrades and feedback copies use it."""
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    for title, rows in _growing_rows(data).items():
        if title in wb.sheetnames:
            ws = wb[title]
            for row in rows:
                _grow(ws, row, ws.row_dimensions[row].ht)
    return wb


def fit_row_to(ws: Worksheet, coord: str, text: str) -> None:
    """Make the growing row of `coord` tall enough for `text` wrapped in its column (never shorter than it is).

    Neither Excel nor LibreOffice refits a row on opening, so evidence typed into a copy by us would show cut
    at the blank's starting height until someone edits it. A fixed row (customHeight) stays as it is."""
    cell = ws[coord]
    dim = ws.row_dimensions[cell.row]
    if dim.customHeight:
        return
    height = text_height(text, ws.column_dimensions[cell.column_letter].width or EVIDENCE_WIDTH)
    if height > (dim.ht or 0):
        _grow(ws, cell.row, height)


def _growing_rows(data: bytes) -> dict[str, list[int]]:
    """Sheet name -> its rows that have a height but no custom height: those that grow with their text."""
    import io
    import zipfile

    from defusedxml.ElementTree import iterparse

    from .read import workbook_sheets

    out: dict[str, list[int]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for title, _state, part in workbook_sheets(zf):
            with zf.open(part) as xml:
                out[title] = [
                    int(el.get("r", "")) for _event, el in iterparse(xml)
                    if el.tag.endswith("}row") and el.get("r", "").isdigit() and el.get("ht") is not None
                    and el.get("customHeight", "0").strip().lower() not in ("1", "true")
                ]
    return out


def _input(cell: Cell) -> None:
    cell.fill = INPUT_FILL
    cell.border = BOX
    cell.alignment = WRAP
    cell.font = BODY
    cell.protection = UNLOCKED


def _header(ws: Worksheet, row: int, labels: list[str | None]) -> None:
    """A row of column headings, as tall as its longest heading needs."""
    lines = 1
    for i, label in enumerate(labels, start=1):
        cell = ws.cell(row=row, column=i, value=label)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = WRAP
        width = ws.column_dimensions[cell.column_letter].width
        lines = max(lines, wrapped_lines(label or "", width * BOLD_SHRINK))
    _grow(ws, row, row_height(lines))


def _text(ws: Worksheet, coord: str, value: object, font: Font = BODY, alignment: Alignment = WRAP) -> Cell:
    cell = ws[coord]
    cell.value, cell.font, cell.alignment = value, font, alignment
    return cell


def _protect(ws: Worksheet, pw: PasswordHash | None) -> None:
    ws.protection = SheetProtection(
        sheet=True,
        formatRows=False,  # False means allowed: inspectors resize rows to read long evidence
        formatColumns=False,
        selectLockedCells=False,
        selectUnlockedCells=False,
    )
    if pw is not None:
        ws.protection.algorithmName = pw.algorithm
        ws.protection.hashValue = pw.hash_value
        ws.protection.saltValue = pw.salt_value
        ws.protection.spinCount = pw.spin_count


def _print_setup(ws: Worksheet, schedule: Schedule, title_rows: str, orientation: str = "landscape") -> None:
    """A4 (landscape for the tables), fit to the page's width; the title rows (the return's identity and the
    column headings) on every page; the marking in the header and footer, the page in the footer."""
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_title_rows = title_rows
    marking = schedule.schedule.protective_marking.replace("&", "&&")
    ws.oddHeader.center.text = marking
    ws.oddFooter.center.text = marking
    ws.oddFooter.right.text = "Page &P of &N"
    for part in (ws.oddHeader.center, ws.oddFooter.left, ws.oddFooter.center, ws.oddFooter.right):
        part.font, part.size = HEADER_FOOTER_FONT, HEADER_FOOTER_SIZE


# --- formulas the inspector reads ------------------------------------------------------------


def _string(text: str) -> str:
    """Text as a formula's string literal."""
    return '"' + text.replace('"', '""') + '"'


def _cover_ref(field: str) -> str:
    col, row = layout.COVER_VALUE_COL, layout.COVER_ROWS[field]
    return f"{layout.quote_sheet(COVER_SHEET)}!${col}${row}"


#: The most of a cover value the identity line shows: a reference or name pasted past the cover's validation
#: (ingest refuses it) would otherwise take lines at the top of every printed page.
IDENTITY_CHARS = 40


def _identity(extra: str | None = None) -> str:
    """The force, the return reference and the inspector, from the cover: which return a page belongs to."""

    def given(field: str) -> str:
        ref = _cover_ref(field)
        cut = f'IF(LEN({ref})>{IDENTITY_CHARS},LEFT({ref},{IDENTITY_CHARS - 1})&"…",{ref})'
        return f'IF({ref}="","(not yet given on the Cover)",{cut})'

    parts = [_cover_ref("force"), '"  ·  Return "', given("return_ref"), '"  ·  Inspector "', given("inspector")]
    if extra:
        parts.append(extra)
    return "=" + "&".join(parts)


def _to_do(schedule: Schedule, section: Section, mode: Mode, sheet: str = "") -> str:
    """What is still to give on a section sheet, what was given but is not one of the options (a score
    pasted past the dropdown), and how much evidence is too long to print whole, as an expression of text.
    `sheet` prefixes the references when the formula is on another sheet."""
    cells = layout.to_do_cells(section, mode)
    total = len(cells)
    ranges = ",".join(f"{sheet}{r}" for r in layout.cell_ranges(cells))
    left = f"({total}-COUNTA({ranges}))"
    still = f'{left}&" of {total} answers still to give"'
    answered = f'IF({left}=0,"all {total} answers given",{still})'
    if mode is not Mode.NARRATIVE:
        bad = f"(COUNTA({ranges})-({_valid_count(schedule, section, mode, sheet)}))"
        answered = (
            f'IF({bad}>0,{bad}&IF({bad}=1," answer is"," answers are")&" not one of the options"'
            f'&IF({left}>0,"; "&{still},""),{answered})'
        )
    ev = layout.columns(mode).evidence
    evidence = f"{sheet}{ev}{layout.FIRST_ITEM_ROW}:{ev}{layout.judgment_row(section)}"
    # (...)*1, not --(...): Gnumeric saves a double minus as -(-(...)), which would read as a changed formula
    long = f"SUMPRODUCT((LEN({evidence})>{layout.LONG_EVIDENCE})*1)"
    return f'{answered}&IF({long}>0,"; "&{long}&" evidence too long to print whole (see the red notes)","")'


def _valid_count(schedule: Schedule, section: Section, mode: Mode, sheet: str = "", policy: bool = True) -> str:
    """How many of a section's score cells (and, with `policy`, its policy-fit cell) hold one of their
    options, as ingest reads them: a number or text, spaces around it and case ignored (3 and "3" and
    " n/a" count; "Good" and "three" do not). Comparisons one option at a time, not an array constant,
    so that every application saves the formula as it was written."""
    kinds = {"score": schedule.options(mode)}
    if policy:
        kinds["policy"] = schedule.policy_fit_options()
    inputs = layout.section_inputs(section, mode)
    counts = []
    for kind, options in kinds.items():
        for cell_range in layout.cell_ranges([c.cell for c in inputs if c.kind == kind]):
            value = f'TRIM({sheet}{cell_range}&"")'
            counts.append("SUMPRODUCT(" + "+".join(f"({value}={_string(o)})" for o in options) + ")")
    return "+".join(counts)


def _long_note(evidence: str, before: str = "") -> str:
    """Said beside evidence too long to show whole in its cell: how long it is, and where it reads in full.
    `before` (an expression) goes in front of the note, when there is one."""
    note = (
        f'"Too long to print whole: "&TEXT(LEN({evidence}),"#,##0")&" characters; only the start shows. '
        f'The full text is in cell {evidence}: select it and read it in the formula bar."'
    )
    return f'IF(LEN({evidence})>{layout.LONG_EVIDENCE},{before + "&" if before else ""}{note},"")'



def _score_words(source: str, schedule: Schedule, mode: Mode) -> str:
    """A score with its label from the schedule ('2 – Requires improvement'), or as it is where it has none."""
    value = f'{source}&""'
    words = value
    for option, label in reversed(list(schedule.modes[mode].labels.items())):
        words = f"IF({value}={_string(option)},{_string(f'{option} – {label}')},{words})"
    return f'=IF({source}="","",{words})'


# --- the cover -------------------------------------------------------------------------------


def _write_cover(ws: Worksheet, schedule: Schedule, mode: Mode) -> None:
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = COVER_WIDTHS
    info = schedule.schedule
    _text(ws, "A1", info.title, TITLE_FONT, LEFT)
    _text(ws, "A2", info.inspection, BOLD, LEFT)
    identity = f"A{layout.COVER_ID_ROW}"
    _text(ws, identity, _identity(), ID_FONT)
    ws.merge_cells(f"{identity}:B{layout.COVER_ID_ROW}")
    ws.row_dimensions[layout.COVER_ID_ROW].height = 2 * LINE_HEIGHT + ROW_PADDING
    _cover_fields(ws, schedule, mode)
    for name, dv in cover_validations().items():
        dv.add(layout.cover_cell(name))
        ws.add_data_validation(dv)
    _filled_format(ws, [layout.cover_cell(f) for f in layout.COVER_INPUTS])
    _cover_progress(ws, schedule, mode)
    _cover_instructions(ws, schedule, mode)


def _scoring_text(schedule: Schedule, mode: Mode) -> str:
    spec = schedule.modes[mode]
    if not spec.options:
        return f"{spec.title}: no scores, evidence only"
    choices = ", ".join(f"{o} ({spec.labels[o]})" if o in spec.labels else o for o in schedule.options(mode))
    return f"{spec.title}: {choices}"


def _cover_fields(ws: Worksheet, schedule: Schedule, mode: Mode) -> None:
    """Label and value of each cover field; the inputs styled as inputs. The force is named by name_force."""
    info = schedule.schedule
    fields: dict[str, tuple[str, object]] = {
        "force": ("Force", None),
        "inspection": ("Inspection", info.inspection),
        "mode": ("Scoring", _scoring_text(schedule, mode)),
        "marking": ("Protective marking", info.protective_marking),
        "return_ref": ("Return reference", None),
        "inspector": ("Inspector", None),
        "date": ("Date of audit", None),
        "completion": ("Completion so far", _completion_formula(schedule, mode)),
    }
    for name, (label, value) in fields.items():
        _text(ws, f"{layout.COVER_LABEL_COL}{layout.COVER_ROWS[name]}", label, BOLD)
        cell = _text(ws, layout.cover_cell(name), value)
        if name in layout.COVER_INPUTS:
            _input(cell)
    ws[layout.cover_cell("date")].number_format = "yyyy-mm-dd"
    ws[layout.cover_cell("completion")].number_format = "0%"
    ws[layout.cover_cell("completion")].alignment = LEFT


def _cover_progress(ws: Worksheet, schedule: Schedule, mode: Mode) -> None:
    """A row per section sheet: what is still to give there (the sheets say the same in their top row)."""
    _text(ws, f"A{layout.COVER_PROGRESS_ROW}", "Still to do", BOLD)
    _text(ws, f"B{layout.COVER_PROGRESS_ROW}", "Yellow cells are still empty; a cell turns white once filled in.",
          ITALIC)
    for offset, section in enumerate(schedule.sections, start=1):
        row = layout.COVER_PROGRESS_ROW + offset
        _text(ws, f"A{row}", section.sheet)
        _text(ws, f"B{row}", "=" + _to_do(schedule, section, mode, f"{layout.quote_sheet(section.sheet)}!"))


def _cover_instructions(ws: Worksheet, schedule: Schedule, mode: Mode) -> None:
    """How to complete the workbook, then about the schedule and its areas, one merged row per paragraph."""
    intro = schedule.introduction
    lines: list[tuple[str, bool]] = [("How to complete this workbook", True)]
    lines += [(t, False) for t in _how_to(schedule, mode)]
    lines += [("About the schedule", True), (ABOUT_SHEETS, False), (intro.overall, False), (intro.scoring, False)]
    for area in schedule.areas:
        lines += [(area.title, True), (area.description, False)]
    first = layout.COVER_PROGRESS_ROW + len(schedule.sections) + 2
    ws.row_breaks.append(Break(id=first - 1))  # the instructions start a page of their own, read as one
    for offset, (text, bold) in enumerate(lines):
        cell = _text(ws, f"A{first + offset}", text, BOLD if bold else BODY)
        ws.merge_cells(start_row=cell.row, start_column=1, end_row=cell.row, end_column=2)
        if not bold:  # merged cells never fit their text, so the row is given its height
            ws.row_dimensions[cell.row].height = text_height(text, sum(COVER_WIDTHS))


#: The paper schedule's three columns, as the workbook has them.
ABOUT_SHEETS = (
    "Each step sheet is a stage in the child's journey, from first concern to the end of police involvement. "
    "At its top is the indicator: what matters most, from which everything else flows. The rows below it, "
    "'what we might expect to see', are examples of what the indicator means in practice."
)


def _how_to(schedule: Schedule, mode: Mode) -> list[str]:
    na = schedule.schedule.not_applicable
    scored = mode is not Mode.NARRATIVE
    policy = " / ".join(schedule.policy_fit_options())
    steps = [
        "1. Fill in the return reference, your name and the date of the audit above. They print at the top "
        "of every page, so each printed return can be told apart.",
        (
            "2. Work through the step sheets and Leadership: for each item pick a score from the dropdown (the "
            "scores are explained at the top of each sheet) and write the evidence beside it. Then give the "
            "step judgment in the blue row after the items: its score, its policy fit (did practice conform "
            f"to the force's policy and guidance? {policy}) and the summary evidence."
            if scored
            else "2. Work through the step sheets and Leadership: write the evidence for each item, then the "
            "summary in the blue row after the items."
        ),
        "3. Complete the Overall sheet last: its judgment row has the judgments you gave on the other sheets "
        "straight below it.",
    ]
    if scored:
        steps.append(
            f"4. Pick {na} where an item or step does not apply to this case (for example, a child never "
            "detained); leave a cell empty only while you have not assessed it."
        )
    steps += [
        "Only the input cells can be changed: yellow while empty, white once filled. 'Still to do' above and "
        "the top row of each sheet say what is left. Rows grow as you type. Evidence of more than "
        f"{layout.LONG_EVIDENCE:,} characters cannot show or print whole in its cell: the column "
        f"'{TOO_LONG_HEADING}' beside it says so in red (it is empty otherwise); the full text stays in the cell "
        "and is consolidated in full.",
        "Do not rename, add or remove sheets, rows or columns: the return is checked against the blank it "
        "was built from.",
        "Save as an Excel workbook (.xlsx, not .xls or .xlsm), without a password to open, and send it back.",
    ]
    return steps


def _completion_formula(schedule: Schedule, mode: Mode) -> str:
    """The share of answers given, over every section sheet: scores that are one of the options in the scored
    modes, evidence filled in in narrative."""
    cells = layout.answer_cells(schedule, mode)
    if mode is not Mode.NARRATIVE:
        counts = [
            _valid_count(schedule, section, mode, f"{layout.quote_sheet(section.sheet)}!", policy=False)
            for section in schedule.sections
        ]
        return f"=({'+'.join(counts)})/{len(cells)}"
    refs = [
        f"{layout.quote_sheet(section.sheet)}!{cell_range}"
        for section in schedule.sections
        for cell_range in layout.cell_ranges([c.cell for c in cells if c.sheet == section.sheet])
    ]
    return f"=COUNTA({','.join(refs)})/{len(cells)}"


# --- section sheets --------------------------------------------------------------------------


def _write_section(ws: Worksheet, schedule: Schedule, section: Section, mode: Mode) -> None:
    widths = _section_widths(ws, mode)
    _section_heading(ws, schedule, section, mode, sum(widths[1:]))
    _header(ws, layout.HEADER_ROW, _column_labels(mode, judgment=False))
    _item_rows(ws, section, mode)
    _judgment_rows(ws, section, mode)
    _section_inputs(ws, schedule, section, mode)
    if section is schedule.overall:
        _write_steps_block(ws, schedule, mode)
    ws.freeze_panes = f"A{layout.HEADER_ROW + 1}"
    if section is schedule.overall:
        # The judgment starts a page, the step judgments below it, under headings of their own: the items'
        # headings (Score, Note, Evidence) would name the wrong columns there, so only the title row repeats.
        ws.row_breaks.append(Break(id=layout.judgment_header_row(section) - 1))
        _print_setup(ws, schedule, f"{layout.TITLE_ROW}:{layout.TITLE_ROW}")
    else:
        _print_setup(ws, schedule, layout.PRINT_TITLE_ROWS)


def _section_widths(ws: Worksheet, mode: Mode) -> list[float]:
    """Sets the columns' widths; returns them left to right."""
    cols = layout.columns(mode)
    widths = {cols.ref: REF_WIDTH, cols.text: TEXT_WIDTH}
    if cols.score:
        widths[cols.score] = SCORE_WIDTH
    widths[cols.note] = NOTE_WIDTH
    widths[cols.evidence] = EVIDENCE_WIDTH
    for col, width in widths.items():
        ws.column_dimensions[col].width = width
    return list(widths.values())


def _section_heading(ws: Worksheet, schedule: Schedule, section: Section, mode: Mode, text_width: float) -> None:
    """Title and the return's identity; then the indicator, the guidance and the scores across the sheet."""
    cols = layout.columns(mode)
    row = layout.TITLE_ROW
    _text(ws, f"A{row}", section.label, TITLE_FONT)
    ws.merge_cells(f"A{row}:{cols.text}{row}")
    identity = _identity(f'"  ·  This sheet: "&{_to_do(schedule, section, mode)}')
    _text(ws, f"{cols.after_text}{row}", identity, ID_FONT)
    for col in cols.all:  # a rule under the title row, which prints at the top of every page
        ws[f"{col}{row}"].border = UNDERLINE
    ws.merge_cells(f"{cols.after_text}{row}:{cols.last}{row}")
    ws.row_dimensions[row].height = 2 * LINE_HEIGHT + ROW_PADDING
    guidance = section.guidance or (
        "Assess each item below against the evidence in this case, then give the judgment on the indicator."
    )
    if section.heading:
        guidance = f"{section.heading}\n{guidance}"
    for row, label, text in ((layout.INDICATOR_ROW, "Indicator", section.indicator),
                             (layout.GUIDANCE_ROW, "Guidance", guidance),
                             (layout.SCORING_ROW, "Scores", _scores_key(schedule, mode))):
        _text(ws, f"A{row}", label, BOLD)
        _text(ws, f"B{row}", text)
        ws.merge_cells(f"B{row}:{cols.last}{row}")
        ws.row_dimensions[row].height = text_height(text, text_width)  # merged: never refitted


def _scores_key(schedule: Schedule, mode: Mode) -> str:
    """What each score means, and the policy-fit question: on the sheet, not only in the dropdown's pop-up."""
    spec = schedule.modes[mode]
    if not spec.options:
        return spec.prompt
    na = schedule.schedule.not_applicable
    scale = "   ".join(f"{o} {spec.labels[o]}" for o in spec.options if o in spec.labels)
    policy = " / ".join(schedule.policy_fit_options())
    key = f"{scale}   {na} Does not apply to this case.\n" if scale else f"{spec.prompt}\n"
    return f"{key}Policy fit, on the step judgment only: {schedule.policy_fit.question} {policy}."


#: The heading of the column beside the evidence, where a red note says when it is too long to print whole
#: (the judgment row's note is under its question, the column being the policy fit's or left empty).
TOO_LONG_HEADING = "Too long?"


def _column_labels(mode: Mode, judgment: bool) -> list[str | None]:
    if judgment:
        labels: list[str | None] = ["Ref", "Judgment on the indicator"]
        labels += ["Score", "Policy fit", "Summary evidence"] if mode is not Mode.NARRATIVE else [
            None, "Summary evidence"]
        return labels
    labels = ["Ref", "What we might expect to see"]
    labels += ["Score", TOO_LONG_HEADING, "Evidence"] if mode is not Mode.NARRATIVE else [
        TOO_LONG_HEADING, "Evidence"]
    return labels


def _item_rows(ws: Worksheet, section: Section, mode: Mode) -> None:
    cols = layout.columns(mode)
    for i, item in enumerate(section.items):
        r = layout.item_row(i)
        _text(ws, f"{cols.ref}{r}", item.ref)
        _text(ws, f"{cols.text}{r}", item.text)
        _text(ws, f"{cols.note}{r}", "=" + _long_note(f"{cols.evidence}{r}"), NOTE_FONT)
        _grow(ws, r, row_height(max(START_LINES, wrapped_lines(item.text, TEXT_WIDTH))))


def _judgment_rows(ws: Worksheet, section: Section, mode: Mode) -> None:
    """The judgment on the indicator under its own heading, after the items it sums up."""
    cols = layout.columns(mode)
    _header(ws, layout.judgment_header_row(section), _column_labels(mode, judgment=True))
    row = layout.judgment_row(section)
    what = "step" if section.number is not None else "section"
    ask = "Overall judgment" if cols.score else "Summary"
    question = f"{ask} for this {what}: how well does the force meet the indicator above?"
    _text(ws, f"{cols.ref}{row}", section.judgment_ref, BOLD).fill = BAND_FILL
    note = _long_note(f"{cols.evidence}{row}", before="CHAR(10)")
    _text(ws, f"{cols.text}{row}", f"={_string(question)}&{note}", BOLD).fill = BAND_FILL
    if not cols.score:
        ws[f"{cols.note}{row}"].fill = BAND_FILL
    _grow(ws, row, row_height(max(START_LINES, wrapped_lines(question, TEXT_WIDTH * BOLD_SHRINK))))


def _section_inputs(ws: Worksheet, schedule: Schedule, section: Section, mode: Mode) -> None:
    """Unlock and style every input cell; dropdowns on the score and policy-fit cells."""
    validations: dict[str, DataValidation] = {}
    if mode is not Mode.NARRATIVE:
        validations = {"score": score_validation(schedule, mode), "policy": policy_validation(schedule)}
    cells = layout.section_inputs(section, mode)
    for cell in cells:
        _input(ws[cell.cell])
        if cell.kind != "evidence":  # centred: a score never abuts the policy fit or evidence beside it
            ws[cell.cell].alignment = CENTRE
        if cell.kind in validations:
            validations[cell.kind].add(cell.cell)
    for dv in validations.values():
        ws.add_data_validation(dv)
    evidence = [c.cell for c in cells if c.kind == "evidence"]
    for cell_range in layout.cell_ranges(evidence):
        first = cell_range.split(":")[0]
        ws.conditional_formatting.add(cell_range, Rule(
            type="expression", dxf=TOO_LONG, formula=[f"LEN({first})>{layout.LONG_EVIDENCE}"], stopIfTrue=True,
        ))
    _filled_format(ws, [c.cell for c in cells])


def _filled_format(ws: Worksheet, cells: list[str]) -> None:
    """Inputs turn from yellow to white once filled in, so what is still to do stands out."""
    for cell_range in layout.cell_ranges(cells):
        first = cell_range.split(":")[0]
        ws.conditional_formatting.add(cell_range, Rule(type="expression", dxf=FILLED, formula=[f"LEN({first})>0"]))


def _write_steps_block(ws: Worksheet, schedule: Schedule, mode: Mode) -> None:
    """On the overall sheet, straight below its judgment: the judgments already given on every other
    sheet, pulled in by formula: the score with its words, the policy fit, the start of the evidence."""
    cols = layout.columns(mode)
    start = layout.steps_block_start(schedule.overall)
    headers: list[str | None] = ["Ref", "Read your overall judgment above against the judgments already given "
                                 "(filled in from the other sheets)"]
    if cols.score:
        headers += ["Score", "Policy fit"]
    else:
        headers += [None]
    headers += [f"Summary evidence (its first {EXCERPT:,} characters)"]
    _header(ws, start - 1, headers)
    for offset, section in enumerate([*schedule.steps, schedule.leadership]):
        _steps_block_row(ws, schedule, mode, start + offset, section)


def _steps_block_row(ws: Worksheet, schedule: Schedule, mode: Mode, r: int, section: Section) -> None:
    cols = layout.columns(mode)
    _text(ws, f"{cols.ref}{r}", section.judgment_ref, BOLD)
    _text(ws, f"{cols.text}{r}", section.label)
    judged = layout.judgment_row(section)

    def source(col: str) -> str:
        return f"{layout.quote_sheet(section.sheet)}!{col}{judged}"

    if cols.score and cols.policy:
        _text(ws, f"{cols.score}{r}", _score_words(source(cols.score), schedule, mode), BOLD, CENTRE)
        _text(ws, f"{cols.policy}{r}", f'=IF({source(cols.policy)}="","",{source(cols.policy)})', BOLD, CENTRE)
    ev = source(cols.evidence)
    more = _string(f"… (continues on the sheet {section.sheet})")
    _text(ws, f"{cols.evidence}{r}", f'=IF(LEN({ev})>{EXCERPT},LEFT({ev},{EXCERPT})&{more},{ev}&"")')
    for col in cols.all:
        cell = ws[f"{col}{r}"]
        cell.border = BOX
        if cell.alignment.vertical is None:
            cell.alignment = WRAP
    _grow(ws, r, row_height(START_LINES))


# --- metadata and the whole workbook ---------------------------------------------------------


def metadata(schedule: Schedule, mode: Mode) -> dict[str, str]:
    """What the hidden sheet records; name_force fills in the force and the content fingerprint."""
    return {
        "format": layout.META_FORMAT,
        "layout_version": str(layout.LAYOUT_VERSION),
        "schedule_id": schedule.schedule.id,
        "schedule_version": schedule.schedule.version,
        "schedule_fingerprint": schedule.fingerprint,
        "force": "",
        "mode": mode.value,
        "tool_version": __version__,
        "content_fingerprint": "",
    }


def _write_meta(ws: Worksheet, entries: dict[str, str]) -> None:
    for key, value in entries.items():
        _set_meta(ws, key, value)
        ws[f"{layout.META_KEY_COL}{layout.meta_row(key)}"] = key
    ws.sheet_state = "veryHidden"


def _set_meta(ws: Worksheet, key: str, value: str) -> None:
    ws[f"{layout.META_VALUE_COL}{layout.meta_row(key)}"] = value


def content_fingerprint(wb: Workbook) -> str:
    """A hash of every locked cell's value on the visible sheets: what an inspector cannot change."""
    return fingerprint_of(locked_values(wb))


def locked_values(wb: Workbook) -> list[tuple[str, str, Any]]:
    """Every locked, non-empty cell's (sheet, coordinate, value) on the visible sheets, in sheet order."""
    return [
        (ws.title, cell.coordinate, cell.value)
        for ws in wb.worksheets if ws.title != META_SHEET
        for row in ws.iter_rows() for cell in row
        if cell.value is not None and cell.protection.locked
    ]


def fingerprint_of(values: Iterable[tuple[str, str, Any]]) -> str:
    """The content fingerprint of locked_values (of a workbook, or a blank's with another force named)."""
    digest = hashlib.sha256()
    for sheet, coordinate, value in values:
        digest.update(f"{sheet}\0{coordinate}\0{value}\0".encode())
    return digest.hexdigest()


def build_workbook(
    schedule: Schedule, force: str, mode: Mode, password: PasswordHash | None = None
) -> Workbook:
    """The blank workbook for one force, as an openpyxl object (not yet saved)."""
    return name_force(build_blank(schedule, mode, password), schedule, force)


def build_blank(schedule: Schedule, mode: Mode, password: PasswordHash | None) -> Workbook:
    """Everything that is the same for every force; name_force adds the rest."""
    wb = Workbook()
    cover = wb.active
    assert cover is not None  # a new workbook has one sheet
    cover.title = COVER_SHEET
    _write_cover(cover, schedule, mode)
    _print_setup(cover, schedule, f"1:{layout.COVER_ID_ROW}", "portrait")  # a page of text, read as one
    for section in schedule.sections:
        _write_section(wb.create_sheet(section.sheet), schedule, section, mode)
    _write_meta(wb.create_sheet(META_SHEET), metadata(schedule, mode))
    for ws in wb.worksheets:
        _protect(ws, password)
        ws.sheet_view.tabSelected = ws is cover
    wb.active = 0
    _lock_structure(wb, password)
    wb.calculation.fullCalcOnLoad = True
    stamp(wb)
    return wb


def _lock_structure(wb: Workbook, pw: PasswordHash | None) -> None:
    wb.security = WorkbookProtection(lockStructure=True)
    if pw is not None:
        wb.security.workbookAlgorithmName = pw.algorithm
        wb.security.workbookHashValue = pw.hash_value
        wb.security.workbookSaltValue = pw.salt_value
        wb.security.workbookSpinCount = pw.spin_count


def name_force(wb: Workbook, schedule: Schedule, force: str) -> Workbook:
    """Everything in a workbook that names its force: the one place that writes it.

    Applied afresh to one built blank per mode, it gives each force's workbook in a fraction of the
    time of building it, with the same bytes (a test compares the two)."""
    wb[COVER_SHEET][layout.cover_cell("force")].value = force
    for ws in wb.worksheets:
        ws.column_dimensions.max_outline = None  # openpyxl sets this while saving; a new sheet has None
        if ws.title != META_SHEET:
            ws.oddFooter.left.text = force.replace("&", "&&")
    wb.properties.title = f"{schedule.schedule.title}: {force}"
    meta = wb[META_SHEET]
    _set_meta(meta, "force", force)
    _set_meta(meta, "content_fingerprint", content_fingerprint(wb))
    return wb


# --- building many ---------------------------------------------------------------------------


def resolve_forces(schedule: Schedule, names: Iterable[str] | None) -> list[str]:
    """The schedule's spelling of each requested force (case ignored), or every force when none is named.

    An unknown name is a usage error: a workbook for a force the schedule does not know would be rejected
    by ingest."""
    if not names:
        return list(schedule.forces.names)
    known = {f.casefold(): f for f in schedule.forces.names}
    chosen: list[str] = []
    for name in names:
        match = known.get(name.strip().casefold())
        if match is None:
            raise UsageError(
                f"force {name!r} is not in the schedule's [forces] list; "
                "check the spelling or add it to schedule.toml"
            )
        if match not in chosen:
            chosen.append(match)
    return chosen


def output_paths(forces: list[str], out_dir: Path) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    seen: dict[str, str] = {}
    for force in forces:
        name = f"{safe_filename(force)}.xlsx"
        if name.casefold() in seen:
            raise UsageError(f"forces {seen[name.casefold()]!r} and {force!r} would both be written to {name}")
        seen[name.casefold()] = force
        paths[force] = out_dir / name
    return paths


def build(
    schedule: Schedule,
    out_dir: Path,
    forces: Iterable[str] | None = None,
    mode: Mode | str | None = None,
    password: str | None = None,
    on_built: Callable[[Built], None] | None = None,
    registry: Path | None = None,
) -> BuildResult:
    """Build a workbook per force into `out_dir`, in force order, and record what was issued.

    `forces` are matched to the schedule's names ignoring case (default: every force); `mode` defaults
    to the schedule's default_mode. With `registry` (a folder; `xlschedule build` gives
    registry.default_location(out_dir)), the blank and each force's content fingerprint are recorded
    there, with the schedule, for ingest to judge the returns by; a schedule that drops a ref an earlier
    recorded version had, without declaring it in [changes], is refused first. Raises UsageError for
    an unknown force or mode, ScheduleError for such a schedule, OutputError when the folder or a file
    cannot be written."""
    try:
        the_mode = Mode(mode) if mode else schedule.schedule.default_mode
    except ValueError:
        raise UsageError(f"mode {mode!r} is not one of {', '.join(m.value for m in Mode)}") from None
    chosen = resolve_forces(schedule, forces)
    paths = output_paths(chosen, out_dir)
    issued = Registry(registry) if registry is not None else None
    if issued is not None:
        check_history(schedule, issued.schedules())
    make_folder(out_dir, "--out")
    pw = hash_password(password) if password else None  # once: 100,000 SHA-512 rounds are slow
    result = BuildResult(mode=the_mode, out_dir=out_dir, protected=pw is not None)
    fingerprints: dict[str, str] = {}

    def record(force: str, fingerprint: str) -> None:
        fingerprints[force] = fingerprint
        result.workbooks.append(Built(force, paths[force]))
        if on_built:
            on_built(result.workbooks[-1])

    parallel.run(
        [(force, paths[force]) for force in chosen], _build_one, _Builder, (schedule, the_mode, pw),
        threshold=POOL_THRESHOLD, chunksize=2, on_result=lambda item, done: record(item[0], done),
    )
    if issued is not None and chosen:
        issued.record(schedule, the_mode, paths[chosen[0]].read_bytes(), fingerprints)
    return result


class _Builder:
    """One process's builder: the blank is built once, then named for each force."""

    def __init__(self, schedule: Schedule, mode: Mode, pw: PasswordHash | None) -> None:
        self.schedule = schedule
        self.blank = build_blank(schedule, mode, pw)


def _build_one(builder: _Builder, job: tuple[str, Path]) -> str:
    """Write one force's workbook; its content fingerprint is what the registry records for it."""
    force, path = job
    wb = name_force(builder.blank, builder.schedule, force)
    data = workbook_bytes(wb)
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the workbook ({exc.strerror or exc})") from None
    return workbook_fingerprint(wb)
