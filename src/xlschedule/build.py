"""Writes one blank, protected workbook per force from the schedule model and the layout."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.protection import SheetProtection
from openpyxl.worksheet.worksheet import Worksheet

from . import __version__, layout, parallel
from .errors import OutputError, ScheduleError, UsageError
from .packager import stamp, workbook_bytes, write_atomic
from .model import COVER_SHEET, META_SHEET, Mode, Schedule, Section, safe_filename
from .protection import PasswordHash, hash_password

# Excel's limits on list validations and their messages.
LIST_FORMULA_MAX = 255
TITLE_MAX = 32
PROMPT_MAX = 255
ERROR_MAX = 225

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
JUDGMENT_FILL = PatternFill("solid", fgColor="DDEBF7")
UNUSED_FILL = PatternFill("solid", fgColor="E7E6E6")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
UNLOCKED = Protection(locked=False)

EVIDENCE_ROW_HEIGHT = 75.0
CHARS_PER_LINE = 70  # of the item text column at its width
LINE_HEIGHT = 15.0


@dataclass(frozen=True)
class Built:
    force: str
    path: Path


def quote_sheet(name: str) -> str:
    """A sheet name as a formula reference: 'It''s here'."""
    return "'" + name.replace("'", "''") + "'"


def list_validation(options: list[str], prompt_title: str, prompt: str, error: str) -> DataValidation:
    """A dropdown that refuses anything else: literal list on the same sheet, stop alert, input message."""
    formula = '"' + ",".join(options) + '"'
    if len(formula) > LIST_FORMULA_MAX:
        raise ScheduleError(
            f"the options {options} make a list of {len(formula)} characters; Excel allows {LIST_FORMULA_MAX}"
        )
    return DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showDropDown=False,  # openpyxl's name is inverted: False shows the arrow
        showErrorMessage=True,
        errorStyle="stop",
        showInputMessage=True,
        promptTitle=_fit(prompt_title, TITLE_MAX, "prompt title"),
        prompt=_fit(prompt, PROMPT_MAX, "prompt"),
        errorTitle=_fit("Not one of the options", TITLE_MAX, "error title"),
        error=_fit(error, ERROR_MAX, "error message"),
    )


def _fit(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        raise ScheduleError(f"the {what} {text!r} is {len(text)} characters; Excel allows {limit}. Shorten it.")
    return text


def score_prompt(schedule: Schedule, mode: Mode) -> str:
    spec = schedule.modes[mode]
    if spec.labels:
        scale = ", ".join(f"{o} {spec.labels[o]}" if o in spec.labels else o for o in spec.options)
        return f"{scale}. {spec.prompt}"
    return spec.prompt


def score_validation(schedule: Schedule, mode: Mode) -> DataValidation:
    options = schedule.options(mode)
    return list_validation(
        options,
        f"Score: {schedule.modes[mode].title}",
        score_prompt(schedule, mode),
        f"Pick one of {', '.join(options)} from the list, or clear the cell if not yet assessed.",
    )


def policy_validation(schedule: Schedule) -> DataValidation:
    options = schedule.policy_fit_options()
    return list_validation(
        options,
        "Policy fit",
        f"{schedule.policy_fit.question} {' / '.join(options)}.",
        f"Pick one of {', '.join(options)} from the list, or clear the cell if not yet assessed.",
    )


def _input(cell) -> None:
    cell.fill = INPUT_FILL
    cell.border = BOX
    cell.alignment = WRAP
    cell.protection = UNLOCKED


def _header(ws: Worksheet, row: int, labels: list[str | None]) -> None:
    for i, label in enumerate(labels, start=1):
        cell = ws.cell(row=row, column=i, value=label)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = WRAP


def _text_height(text: str, chars_per_line: int = CHARS_PER_LINE) -> float:
    lines = max(1, -(-len(text) // chars_per_line))
    return lines * LINE_HEIGHT + 4


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


def _print_setup(ws: Worksheet, schedule: Schedule, title_rows: str | None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows
    marking = schedule.schedule.protective_marking.replace("&", "&&")
    ws.oddHeader.center.text = marking
    ws.oddFooter.center.text = marking
    ws.oddFooter.right.text = "Page &P of &N"


def _write_cover(ws: Worksheet, schedule: Schedule, mode: Mode) -> None:
    info = schedule.schedule
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 100
    ws["A1"] = info.title
    ws["A1"].font = TITLE_FONT
    ws["A2"] = info.inspection
    ws["A2"].font = BOLD
    spec = schedule.modes[mode]
    if spec.options:
        choices = ", ".join(f"{o} ({spec.labels[o]})" if o in spec.labels else o for o in schedule.options(mode))
        scoring = f"{spec.title}: {choices}"
    else:
        scoring = f"{spec.title}: no scores, evidence only"
    fixed = {
        "force": ("Force", None),  # named by name_force
        "inspection": ("Inspection", info.inspection),
        "mode": ("Scoring", scoring),
        "marking": ("Protective marking", info.protective_marking),
        "return_ref": ("Return reference", None),
        "inspector": ("Inspector", None),
        "date": ("Date of audit", None),
        "completion": ("Completion so far", _completion_formula(schedule, mode)),
    }
    for field, (label, value) in fixed.items():
        row = layout.COVER_ROWS[field]
        ws[f"{layout.COVER_LABEL_COL}{row}"] = label
        ws[f"{layout.COVER_LABEL_COL}{row}"].font = BOLD
        cell = ws[layout.cover_cell(field)]
        cell.value = value
        cell.alignment = WRAP
        if field in layout.COVER_INPUTS:
            _input(cell)
    ws[layout.cover_cell("date")].number_format = "yyyy-mm-dd"
    ws[layout.cover_cell("completion")].number_format = "0%"

    ref_dv = DataValidation(
        type="textLength", operator="between", formula1="1", formula2="100", allow_blank=True,
        showErrorMessage=True, errorStyle="stop", showInputMessage=True,
        promptTitle="Return reference", prompt="Your reference for this return, e.g. the case number audited.",
        errorTitle="Reference too long", error="Keep the reference to 100 characters or fewer.",
    )
    who_dv = DataValidation(
        type="textLength", operator="between", formula1="1", formula2="200", allow_blank=True,
        showErrorMessage=True, errorStyle="stop", showInputMessage=True,
        promptTitle="Inspector", prompt="The name of the inspector completing this return.",
        errorTitle="Name too long", error="Keep the name to 200 characters or fewer.",
    )
    date_dv = DataValidation(
        type="date", operator="between", formula1="DATE(2000,1,1)", formula2="DATE(2099,12,31)",
        allow_blank=True, showErrorMessage=True, errorStyle="stop", showInputMessage=True,
        promptTitle="Date of audit", prompt="The date of the audit, e.g. 2026-11-26.",
        errorTitle="Not a date", error="Type a date between 2000 and 2099, e.g. 2026-11-26.",
    )
    for dv, field in ((ref_dv, "return_ref"), (who_dv, "inspector"), (date_dv, "date")):
        dv.add(layout.cover_cell(field))
        ws.add_data_validation(dv)

    intro = schedule.introduction
    lines: list[tuple[str, bool]] = [("How to complete this workbook", True)]
    lines += [(t, False) for t in _how_to(schedule, mode)]
    lines += [("About the schedule", True), *((t, False) for t in intro.columns)]
    lines += [(intro.overall, False), (intro.scoring, False)]
    for area in schedule.areas:
        lines += [(area.title, True), (area.description, False)]
    for offset, (text, bold) in enumerate(lines):
        cell = ws.cell(row=layout.COVER_INSTRUCTIONS_ROW + offset, column=1, value=text)
        ws.merge_cells(
            start_row=cell.row, start_column=1, end_row=cell.row, end_column=2
        )
        cell.alignment = WRAP
        if bold:
            cell.font = BOLD
        else:
            ws.row_dimensions[cell.row].height = _text_height(text, 120)


def _how_to(schedule: Schedule, mode: Mode) -> list[str]:
    na = schedule.schedule.not_applicable
    scored = mode is not Mode.NARRATIVE
    steps = [
        "1. Fill in the return reference, your name and the date of the audit above.",
        (
            "2. Work through the step sheets and Leadership: for each item pick a score from the dropdown and "
            "write the evidence beside it, then give the step judgment at the top of the sheet."
            if scored
            else "2. Work through the step sheets and Leadership: write the evidence for each item, then the "
            "summary at the top of the sheet."
        ),
        "3. Complete the Overall sheet last: it shows the step judgments you have already given.",
    ]
    if scored:
        steps.append(
            f"4. Pick {na} where an item or step does not apply to this case (for example, a child never "
            "detained); leave a cell empty only while you have not assessed it."
        )
    steps += [
        "Only the yellow cells can be changed. Do not rename, add or remove sheets, rows or columns: "
        "the return is checked against the blank it was built from.",
        "Save as an Excel workbook (.xlsx, not .xls or .xlsm), without a password to open, and send it back.",
    ]
    return steps


def _completion_formula(schedule: Schedule, mode: Mode) -> str:
    cells = layout.answer_cells(schedule, mode)
    refs: list[str] = []
    for section in schedule.sections:
        mine = [c.cell for c in cells if c.sheet == section.sheet]
        judgment, items = mine[0], mine[1:]
        refs.append(f"{quote_sheet(section.sheet)}!{judgment}")
        refs.append(f"{quote_sheet(section.sheet)}!{items[0]}:{items[-1]}")
    return f"=COUNTA({','.join(refs)})/{len(cells)}"


def _write_section(
    ws: Worksheet, schedule: Schedule, section: Section, mode: Mode
) -> None:
    cols = layout.columns(mode)
    widths = {cols.ref: 9, cols.text: 60, cols.evidence: 80 if cols.score else 90}
    if cols.score:
        widths |= {cols.score: 14, cols.policy: 14}
    for col, width in widths.items():
        ws.column_dimensions[col].width = width
    last = cols.last

    ws[f"A{layout.TITLE_ROW}"] = section.label
    ws[f"A{layout.TITLE_ROW}"].font = TITLE_FONT
    if section.heading:
        ws[f"B{layout.TITLE_ROW}"] = section.heading
        ws[f"B{layout.TITLE_ROW}"].font = Font(italic=True)
    ws[f"A{layout.INDICATOR_ROW}"] = "Indicator"
    ws[f"A{layout.INDICATOR_ROW}"].font = BOLD
    ws[f"B{layout.INDICATOR_ROW}"] = section.indicator
    ws.merge_cells(f"B{layout.INDICATOR_ROW}:{last}{layout.INDICATOR_ROW}")
    ws[f"B{layout.INDICATOR_ROW}"].alignment = WRAP
    ws.row_dimensions[layout.INDICATOR_ROW].height = _text_height(section.indicator, 150)
    guidance = section.guidance or (
        "Assess each item below against the evidence in this case, then give the judgment on the indicator."
    )
    ws[f"A{layout.GUIDANCE_ROW}"] = "Guidance"
    ws[f"A{layout.GUIDANCE_ROW}"].font = BOLD
    ws[f"B{layout.GUIDANCE_ROW}"] = guidance
    ws.merge_cells(f"B{layout.GUIDANCE_ROW}:{last}{layout.GUIDANCE_ROW}")
    ws[f"B{layout.GUIDANCE_ROW}"].alignment = WRAP
    ws.row_dimensions[layout.GUIDANCE_ROW].height = _text_height(guidance, 150)

    judgment_headers: list[str | None] = ["Ref", "Judgment on the indicator"]
    item_headers: list[str | None] = ["Ref", "What we might expect to see"]
    if cols.score:
        judgment_headers += ["Score", "Policy fit", "Summary evidence"]
        item_headers += ["Score", None, "Evidence"]
    else:
        judgment_headers += ["Summary evidence"]
        item_headers += ["Evidence"]
    _header(ws, layout.JUDGMENT_HEADER_ROW, judgment_headers)
    _header(ws, layout.ITEM_HEADER_ROW, item_headers)

    row = layout.JUDGMENT_ROW
    ws[f"{cols.ref}{row}"] = section.judgment_ref
    what = "step" if section.number is not None else "section"
    ws[f"{cols.text}{row}"] = (
        f"Overall judgment for this {what}: how well does the force meet the indicator above?"
        if cols.score
        else f"Summary for this {what}: how well does the force meet the indicator above?"
    )
    for col in (cols.ref, cols.text):
        ws[f"{col}{row}"].fill = JUDGMENT_FILL
        ws[f"{col}{row}"].font = BOLD
        ws[f"{col}{row}"].alignment = WRAP
    ws.row_dimensions[row].height = EVIDENCE_ROW_HEIGHT

    score_dv = policy_dv = None
    if cols.score:
        score_dv = score_validation(schedule, mode)
        policy_dv = policy_validation(schedule)
        policy_dv.add(f"{cols.policy}{row}")
    for cell in layout.section_inputs(section, mode):
        _input(ws[cell.cell])
        if cell.kind == "score":
            score_dv.add(cell.cell)

    for i, item in enumerate(section.items):
        r = layout.item_row(i)
        ws[f"{cols.ref}{r}"] = item.ref
        ws[f"{cols.text}{r}"] = item.text
        ws[f"{cols.ref}{r}"].alignment = WRAP
        ws[f"{cols.text}{r}"].alignment = WRAP
        if cols.policy:
            ws[f"{cols.policy}{r}"].fill = UNUSED_FILL
        ws.row_dimensions[r].height = max(EVIDENCE_ROW_HEIGHT, _text_height(item.text))

    if section is schedule.overall:
        _write_steps_block(ws, schedule, mode)

    for dv in (score_dv, policy_dv):
        if dv is not None:
            ws.add_data_validation(dv)
    _print_setup(ws, schedule, f"{layout.ITEM_HEADER_ROW}:{layout.ITEM_HEADER_ROW}")


def _write_steps_block(ws: Worksheet, schedule: Schedule, mode: Mode) -> None:
    """On the overall sheet: the judgments already given on every other sheet, pulled in by formula."""
    cols = layout.columns(mode)
    start = layout.steps_block_start(schedule.overall)
    headers = ["Ref", "Judgments already given on the other sheets (filled in automatically)"]
    headers += ["Score", "Policy fit", "Summary evidence"] if cols.score else ["Summary evidence"]
    _header(ws, start - 1, headers)
    ws.row_dimensions[start - 1].height = 30.0
    for offset, section in enumerate([*schedule.steps, schedule.leadership]):
        r = start + offset
        ws[f"{cols.ref}{r}"] = section.judgment_ref
        ws[f"{cols.text}{r}"] = section.label
        ws[f"{cols.text}{r}"].alignment = WRAP
        for col in (cols.score, cols.policy, cols.evidence):
            if col is None:
                continue
            source = f"{quote_sheet(section.sheet)}!{col}{layout.JUDGMENT_ROW}"
            cell = ws[f"{col}{r}"]
            cell.value = f'=IF({source}="","",{source})'
            cell.alignment = WRAP
            cell.border = BOX
        ws.row_dimensions[r].height = 45.0


def _write_meta(ws: Worksheet, entries: dict[str, str]) -> None:
    for row, (key, value) in enumerate(entries.items(), start=1):
        ws.cell(row=row, column=1, value=key)
        ws.cell(row=row, column=2, value=value)
    ws.sheet_state = "veryHidden"


def content_fingerprint(wb: Workbook) -> str:
    """A hash of every locked cell's value on the visible sheets: what an inspector cannot change."""
    digest = hashlib.sha256()
    for ws in wb.worksheets:
        if ws.title == META_SHEET:
            continue
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None and cell.protection.locked:
                    digest.update(f"{ws.title}\0{cell.coordinate}\0{cell.value}\0".encode())
    return digest.hexdigest()


def metadata(schedule: Schedule, mode: Mode) -> dict[str, str]:
    """What the hidden sheet records; name_force fills in the force and the content fingerprint."""
    return {
        "format": "xlschedule-return",
        "layout_version": str(layout.LAYOUT_VERSION),
        "schedule_id": schedule.schedule.id,
        "schedule_version": schedule.schedule.version,
        "schedule_fingerprint": schedule.fingerprint,
        "force": "",
        "mode": mode.value,
        "tool_version": __version__,
    }


def build_workbook(
    schedule: Schedule, force: str, mode: Mode, password: PasswordHash | None = None
) -> Workbook:
    """The blank workbook for one force, as an openpyxl object (not yet saved)."""
    return name_force(_build_blank(schedule, mode, password), schedule, force)


def _build_blank(schedule: Schedule, mode: Mode, password: PasswordHash | None) -> Workbook:
    """Everything that is the same for every force; name_force adds the rest."""
    wb = Workbook()
    cover = wb.active
    cover.title = COVER_SHEET
    _write_cover(cover, schedule, mode)
    _print_setup(cover, schedule, None)
    for section in schedule.sections:
        _write_section(wb.create_sheet(section.sheet), schedule, section, mode)
    _write_meta(wb.create_sheet(META_SHEET), {**metadata(schedule, mode), "content_fingerprint": ""})

    for ws in wb.worksheets:
        _protect(ws, password)
        ws.sheet_view.tabSelected = ws is cover
    wb.active = 0
    wb.security = WorkbookProtection(lockStructure=True)
    if password is not None:
        wb.security.workbookAlgorithmName = password.algorithm
        wb.security.workbookHashValue = password.hash_value
        wb.security.workbookSaltValue = password.salt_value
        wb.security.workbookSpinCount = password.spin_count
    wb.calculation.fullCalcOnLoad = True
    stamp(wb)
    return wb


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
    rows = {meta.cell(row, 1).value: row for row in range(1, meta.max_row + 1)}
    meta.cell(rows["force"], 2).value = force
    meta.cell(rows["content_fingerprint"], 2).value = content_fingerprint(wb)
    return wb


def resolve_forces(schedule: Schedule, names: Iterable[str]) -> list[str]:
    """Match requested force names to the schedule's, ignoring case; unknown names are a usage error."""
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
    forces: list[str] | None = None,
    mode: Mode | None = None,
    password: str | None = None,
    on_built: Callable[[Built], None] | None = None,
) -> list[Built]:
    """Build a workbook per force into `out_dir`. Returns what was written, in force order."""
    mode = mode or schedule.schedule.default_mode
    forces = forces if forces else list(schedule.forces.names)
    paths = output_paths(forces, out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    if not os.access(out_dir, os.W_OK):
        raise OutputError(f"{out_dir}: the output folder is not writable; choose another with --out")
    pw = hash_password(password) if password else None  # once: 100,000 SHA-512 rounds are slow
    built: list[Built] = []

    def record(force: str) -> None:
        built.append(Built(force, paths[force]))
        if on_built:
            on_built(built[-1])

    size = parallel.workers()
    try:
        if size > 1 and len(forces) >= POOL_THRESHOLD:
            try:
                with parallel.pool(size, _init_worker, (schedule, mode, pw)) as pool:
                    for force in pool.map(_build_in_worker, forces, [paths[f] for f in forces], chunksize=2):
                        record(force)
            except BrokenProcessPool:
                pass  # workers cannot start here: build the rest in this process
        for force in forces[len(built):]:
            record(_build_one(schedule, force, mode, pw, paths[force]))
    except _WriteFailed as exc:
        raise OutputError(str(exc)) from None
    return built


#: Below this many workbooks, starting worker processes costs more than it saves.
POOL_THRESHOLD = 8
_worker: dict[str, object] = {}


class _WriteFailed(Exception):
    """A workbook could not be written (picklable, unlike OutputError's click-facing cousin)."""


_blanks: dict[tuple[str, Mode, PasswordHash | None], Workbook] = {}


def _build_one(schedule: Schedule, force: str, mode: Mode, pw: PasswordHash | None, path: Path) -> str:
    key = (schedule.fingerprint, mode, pw)
    if key not in _blanks:
        _blanks.clear()
        _blanks[key] = _build_blank(schedule, mode, pw)
    data = workbook_bytes(name_force(_blanks[key], schedule, force))
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise _WriteFailed(f"{path}: cannot write the workbook ({exc.strerror or exc})") from None
    return force


def _init_worker(schedule: Schedule, mode: Mode, pw: PasswordHash | None) -> None:
    _worker.update(schedule=schedule, mode=mode, pw=pw)


def _build_in_worker(force: str, path: Path) -> str:
    return _build_one(_worker["schedule"], force, _worker["mode"], _worker["pw"], path)  # type: ignore[arg-type]
