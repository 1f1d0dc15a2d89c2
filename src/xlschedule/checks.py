"""One small function per rule. Each takes snapshots and the schedule and yields findings.

No spreadsheet library here: the reader has already turned the file into plain values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from openpyxl.formula.tokenizer import Token, Tokenizer, TokenizerError

from . import feedback_mark, layout
from .codes import Code
from .model import COVER_SHEET, META_SHEET, Finding, Mode, Response, Schedule
from .read import CellValue, SheetSnapshot, WorkbookSnapshot, as_text
from .registry import Form, FormRow

#: Keep a return's report readable: past this many locked-cell findings on one sheet, say "and N more".
MAX_CELL_FINDINGS = 10
#: Scores short enough to quote in a message; anything longer may be evidence pasted in the wrong cell.
QUOTABLE = 12

Template = dict[str, dict[str, CellValue]]  # sheet -> coord -> value of every locked, non-empty cell


def describe(value: object) -> str:
    """A score value safe to print: short values quoted, anything longer only described."""
    text = as_text(value)
    if len(text) <= QUOTABLE and "\n" not in text:
        return repr(text) if isinstance(value, str) else text
    return f"a text of {len(text)} characters"


def check_meta(file: str, snap: WorkbookSnapshot, schedule: Schedule) -> Iterator[Finding]:
    """The hidden sheet must say this is an xlschedule return, in a known mode, for a force of the schedule.

    Which blank it was built from, and whether the rest of what the metadata claims is true, is settled
    against the registry of issued blanks (ingest.Templates)."""
    meta = snap.meta()
    if meta is None:
        yield Code.NOT_XLSCHEDULE.finding(file, detail=f"it has no hidden '{META_SHEET}' sheet")
        return
    if meta.get("format") != layout.META_FORMAT:
        yield Code.NOT_XLSCHEDULE.finding(file, sheet=META_SHEET, detail="its hidden sheet is not xlschedule's")
        return
    if meta.get("mode") not in {m.value for m in Mode}:
        yield Code.NOT_XLSCHEDULE.finding(file, sheet=META_SHEET, detail=f"unknown mode {meta.get('mode')!r}")
        return
    if meta.get("force") not in schedule.forces.names:
        yield Code.UNKNOWN_FORCE.finding(file, sheet=META_SHEET, force=meta.get("force"))


def client_changes(snap: WorkbookSnapshot) -> list[str]:
    """What the application that saved a return changed in the workbook's frame, which no check depends on
    (the metadata's content is checked): model.CLIENT_CHANGES' keys, for one line per run, not a finding."""
    changed = []
    meta = snap.sheets.get(META_SHEET)
    if meta is not None and meta.state != "veryHidden":
        changed.append("metadata-sheet-shown")
    if not snap.structure_locked:
        changed.append("structure-unlocked")
    return changed


def check_sheets(file: str, snap: WorkbookSnapshot, template: Template, force: str) -> Iterator[Finding]:
    """Every sheet of the blank is there under its name, and no other visible sheet was added (the findings
    sheet of a feedback copy, unchanged, is not part of the return: see feedback_mark)."""
    for name in template:
        if name not in snap.sheets:
            yield Code.SHEET_MISSING.finding(file, sheet=name, force=force)
    feedback = feedback_mark.recognised(snap)
    for name in snap.sheets:
        if name not in template and name not in (META_SHEET, feedback):
            yield Code.SHEET_ADDED.finding(file, sheet=name, force=force)


def check_rows(file: str, sheet: SheetSnapshot, rows: list[FormRow], force: str) -> Iterator[Finding]:
    """Item refs must sit in their blank's cells; if not, rows were inserted or deleted."""
    items = [row for row in rows if row.is_item]
    if not items:
        return
    col = items[0].ref_cell.rstrip("0123456789")
    found_at = {
        as_text(cv.value): coord for coord, cv in sheet.cells.items()
        if coord.rstrip("0123456789") == col and coord[len(col):].isdigit()
    }
    for row in items:
        cell = sheet.cells.get(row.ref_cell)
        if cell is not None and as_text(cell.value) == row.ref:
            continue
        where = found_at.get(row.ref)
        found = f"it is on row {where[len(col):]}" if where else "it is not found"
        expected = row.ref_cell[len(col):]
        yield Code.ROWS_INSERTED_OR_DELETED.finding(
            file, sheet=sheet.name, cell=row.ref_cell, ref=row.ref, expected=expected, found=found, force=force
        )
        return


def _same(expected: CellValue, actual: CellValue | None) -> bool:
    if actual is None:
        return False
    if expected.is_formula:
        if not actual.is_formula:
            return False
        # The same text is the same formula (most returns); otherwise compare as the applications do.
        return actual.value == expected.value or _formula_key(expected.value) == _formula_key(actual.value)
    return type(expected.value) is type(actual.value) and expected.value == actual.value


@functools.lru_cache(maxsize=8192)  # the blank's formulas recur in every return, and clients rewrite them alike
def _formula_key(formula: object) -> tuple[tuple[str, str], ...] | str:
    """A formula as its tokens, the way spreadsheet applications rewrite it on save: spaces and line breaks
    between tokens, '$', the '=' and the case of names ignored, and no quotes a sheet name does not need
    ('Overall'!C6 is saved as Overall!C6). Text inside quotes and sheet names keep every character.
    A formula that cannot be tokenised is compared as it is written."""
    text = str(formula)
    try:
        tokens = Tokenizer(text if text.startswith("=") else f"={text}").items
    except (TokenizerError, IndexError):  # openpyxl raises IndexError on an unmatched "}" or ")"
        return text
    key: list[tuple[str, str]] = []
    for token in tokens:
        if token.type == Token.WSPACE:
            continue
        value = token.value
        if token.type == Token.OPERAND and token.subtype == Token.RANGE:
            value = _range_key(value)
        elif not (token.type == Token.OPERAND and token.subtype == Token.TEXT):
            value = value.upper()
        key.append((token.type, value))
    return tuple(key)


def _range_key(ref: str) -> str:
    """'Overall'!$C$6 -> OVERALL!C6; the sheet name's own characters (spaces included) are kept."""
    sheet, bang, cells = ref.rpartition("!")
    if sheet.startswith("'") and sheet.endswith("'") and len(sheet) > 1:
        sheet = sheet[1:-1].replace("''", "'")
    return f"{sheet.upper()}{bang}{cells.replace('$', '').upper()}"


def check_locked(
    file: str, sheet: SheetSnapshot, expected: dict[str, CellValue], inputs: set[str], force: str,
    force_cell: str | None = None,
) -> Iterator[Finding]:
    """Every cell outside the inputs must read as in the blank: nothing changed, nothing added."""
    force_cell = force_cell or layout.cover_cell("force")
    problems: list[tuple[str, str]] = []
    for coord, want in expected.items():
        got = sheet.cells.get(coord)
        if not _same(want, got):
            problems.append((coord, "its content was cleared" if got is None else "its content differs"))
    for coord in sheet.cells.keys() - expected.keys() - inputs:
        problems.append((coord, "something was typed into it"))
    problems.sort(key=lambda p: _cell_order(p[0]))
    for coord, how in problems[:MAX_CELL_FINDINGS]:
        is_force = (sheet.name, coord) == (COVER_SHEET, force_cell)
        code = Code.FORCE_CHANGED if is_force else Code.LOCKED_CELL_CHANGED
        yield code.finding(file, sheet=sheet.name, cell=coord, how=how, force=force)
    if len(problems) > MAX_CELL_FINDINGS:
        yield Code.LOCKED_CELL_CHANGED.finding(
            file, sheet=sheet.name, how=f"and {len(problems) - MAX_CELL_FINDINGS} more locked cells", force=force
        )


def _cell_order(coord: str) -> tuple[int, str]:
    m = re.fullmatch(r"([A-Z]+)(\d+)", coord)
    return (int(m.group(2)), m.group(1)) if m else (0, coord)


def check_protection(file: str, sheet: SheetSnapshot) -> Iterator[Finding]:
    if sheet.state == "visible" and not sheet.protected:
        yield Code.SHEET_UNPROTECTED.finding(file, sheet=sheet.name)


# --- values -------------------------------------------------------------------------------


def normalise_option(value: object, options: list[str]) -> str | None:
    """The option a value certainly means, or None: 4, 4.0, '4', ' 4 ' -> '4'; 'yes ' -> 'Yes'."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not value.is_integer():
            return None
        text = str(int(value))
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if number.is_integer() and re.fullmatch(r"[+]?\d+(\.0*)?", text):
                text = str(int(number))
    else:
        return None
    folded = {o.casefold(): o for o in options}
    return folded.get(text.casefold())


def read_responses(
    file: str, snap: WorkbookSnapshot, schedule: Schedule, form: Form
) -> tuple[list[Response], list[Finding]]:
    """Every item and judgment's answers, read where the return's blank put them and normalised against
    the options of the return's schedule version; invalid scores and typed formulas as findings."""
    responses: list[Response] = []
    findings: list[Finding] = []
    score_options = schedule.options(form.mode)
    policy_options = schedule.policy_fit_options()
    for row in form.rows:
        sheet = snap.sheets.get(row.sheet)
        if sheet is None:
            continue
        response = Response(
            section=row.section, ref=row.ref, sheet=row.sheet,
            score_cell=row.score, policy_cell=row.policy, evidence_cell=row.evidence,
        )
        if row.score:
            response.score = _option(file, sheet, row.score, score_options, row.ref, Code.INVALID_SCORE, findings)
        if row.policy:
            response.policy = _option(
                file, sheet, row.policy, policy_options, row.ref, Code.INVALID_POLICY_FIT, findings
            )
        response.evidence = _evidence(file, sheet, row.evidence, findings)
        responses.append(response)
    return responses, findings


#: The error values Excel shows (and so may be named in a message); anything else is "an error value".
ERROR_VALUE = re.compile(r"#[A-Z0-9/_]{1,14}[!?]?")


def _evidence(file: str, sheet: SheetSnapshot, coord: str, findings: list[Finding]) -> str | None:
    """An evidence cell as text: a formula as its text (with a warning), an error value or a picture left
    out (with a warning naming it, never as the text '#VALUE!')."""
    cell = sheet.cells.get(coord)
    if cell is None:
        return None
    if cell.is_formula:
        findings.append(Code.FORMULA_IN_EVIDENCE.finding(file, sheet=sheet.name, cell=coord))
    elif cell.is_error:
        if cell.is_picture:
            what = "a picture placed in the cell (Excel's Place in Cell), which cannot be consolidated"
        else:
            shown = str(cell.value)
            what = f"the error value {shown}" if ERROR_VALUE.fullmatch(shown) else "an error value"
        findings.append(Code.EVIDENCE_NOT_TEXT.finding(file, sheet=sheet.name, cell=coord, what=what))
        return None
    return as_text(cell.value)


def _option(
    file: str, sheet: SheetSnapshot, coord: str, options: list[str], ref: str, code: Code, findings: list[Finding]
) -> str | None:
    cell = sheet.cells.get(coord)
    if cell is None or (isinstance(cell.value, str) and not cell.value.strip()):
        return None
    option = None if cell.is_formula else normalise_option(cell.value, options)
    if option is None:
        value = "A formula" if cell.is_formula else describe(cell.value)
        findings.append(
            code.finding(file, sheet=sheet.name, cell=coord, value=value, options=", ".join(options), ref=ref)
        )
    return option


def read_cover(
    file: str, snap: WorkbookSnapshot, cover_cells: dict[str, str] | None = None
) -> tuple[dict[str, str | None], list[Finding]]:
    """Return reference, inspector and date from the cover, with warnings where they are missing and errors
    where they break the cover's own limits. `cover_cells` says where the return's blank put them (default:
    today's layout)."""
    where = cover_cells or {name: layout.cover_cell(name) for name in layout.COVER_INPUTS}
    cover = snap.sheets.get(COVER_SHEET)
    cells = cover.cells if cover else {}
    found: dict[str, str | None] = {}
    findings: list[Finding] = []
    for name in layout.COVER_INPUTS:
        cv = cells.get(where[name])
        text = as_text(cv.value).strip() if cv is not None else ""
        found[name] = text or None
    found["date"], date_findings = _cover_date(file, cells.get(where["date"]), snap.date1904, where["date"])
    findings.extend(date_findings)
    for name, code in (("return_ref", Code.MISSING_RETURN_REFERENCE), ("inspector", Code.MISSING_INSPECTOR)):
        if not found[name]:
            findings.append(code.finding(file, sheet=COVER_SHEET, cell=where[name]))
        findings.extend(_check_length(file, name, cells.get(where[name]), where[name]))
    return found, findings


#: What the cover's text validations (build.cover_validations) allow: the field's name in a message, its
#: limit, and what to shorten it to.
COVER_LIMITS = {
    "return_ref": ("return reference", layout.RETURN_REF_MAX, "the case number or another short reference"),
    "inspector": ("inspector's name", layout.INSPECTOR_MAX, "the name of the inspector who completed the return"),
}


def _check_length(file: str, name: str, cell: CellValue | None, where: str) -> Iterator[Finding]:
    """A reference or name longer than the cover's validation lets anyone type (a paste gets past it), in
    characters, whitespace included. An emoji counts as one here and as two in Excel's validation: at the
    edge, the check is the more lenient of the two, so nothing Excel took is refused."""
    if cell is None:
        return
    what, limit, short = COVER_LIMITS[name]
    length = len(as_text(cell.value))
    if length > limit:
        yield Code.COVER_VALUE_TOO_LONG.finding(
            file, sheet=COVER_SHEET, cell=where, what=what, length=f"{length:,}", limit=limit, short=short
        )


def _cover_date(file: str, cell: CellValue | None, date1904: bool, where: str) -> tuple[str | None, list[Finding]]:
    """The date of audit and its findings. A formula gives the date it showed when last saved; =TODAY()
    is noted, since it gives a new date every time the file is opened. A date typed as text is read where
    its meaning is certain (text_date), and the force told; the text itself is kept where it is not."""
    if cell is None or (not cell.is_formula and not as_text(cell.value).strip()):
        return None, [Code.MISSING_DATE_OF_AUDIT.finding(file, sheet=COVER_SHEET, cell=where)]
    value = cell.cached if cell.is_formula else cell.value
    shown = describe(value) if value is not None else "a formula with no value"
    parsed, how = _date_of(value, date1904)
    if parsed is None:
        return as_text(cell.value), [Code.DATE_NOT_RECOGNISED.finding(file, sheet=COVER_SHEET, cell=where, value=shown)]
    findings: list[Finding] = []
    if how is not None:
        findings.append(
            Code.DATE_READ_FROM_TEXT.finding(file, sheet=COVER_SHEET, cell=where, value=shown, date=parsed, how=how)
        )
    first, last = layout.COVER_DATE_FIRST, layout.COVER_DATE_LAST
    if not first.isoformat() <= parsed <= last.isoformat():
        findings.append(Code.DATE_OUT_OF_RANGE.finding(
            file, sheet=COVER_SHEET, cell=where, date=parsed, first=first.year, last=last.year
        ))
    function = volatile_function(str(cell.value)) if cell.is_formula else None
    if function:
        findings.append(Code.VOLATILE_DATE.finding(file, sheet=COVER_SHEET, cell=where, function=function, date=parsed))
    return parsed, findings


def _date_of(value: object, date1904: bool) -> tuple[str | None, str | None]:
    """The ISO date a cover value means (parse_cover_date), and, for a text other than that ISO date, how it
    was read: '' where its meaning is certain, the day-first convention named where only it decides."""
    parsed = parse_cover_date(value, date1904)
    if parsed is None or not isinstance(value, str) or value.strip() == parsed:
        return parsed, None
    read = text_date(value)
    assert read is not None  # parse_cover_date read the text with it
    return parsed, " (day before month, as dates are written in the UK)" if read[1] else ""


#: Dates typed as text whose meaning is certain: the year first (2026-11-20, 2026/11/20, 2026.11.20) is read
#: year, month, day everywhere; with the year last it must have four digits and is read day first, dd/mm/yyyy,
#: as the UK writes a date (20/11/2026, 5-1-2026, 20.11.2026). One separator throughout, '-', '/' or '.'.
YEAR_FIRST = re.compile(r"(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})")
DAY_FIRST = re.compile(r"(?P<day>\d{1,2})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<year>\d{4})")


def text_date(text: str) -> tuple[date, bool] | None:
    """The date a text certainly means, and whether its day came first by the UK's convention alone (day and
    month both 12 or under and not the same, so 03/11/2026 is 3 November); None where it is not such a date
    (20/11/26, 11/20/2026, 31/02/2026, 'Tuesday')."""
    stripped = text.strip()
    match = YEAR_FIRST.fullmatch(stripped) or DAY_FIRST.fullmatch(stripped)
    if match is None or not stripped.isascii():
        return None
    year, month, day = (int(match.group(name)) for name in ("year", "month", "day"))
    try:
        read = date(year, month, day)
    except ValueError:
        return None
    by_convention = match.re is DAY_FIRST and day <= 12 and day != month
    return read, by_convention


def volatile_function(formula: str) -> str | None:
    """'TODAY()' or 'NOW()' when a formula calls one (its value changes each time the file is opened)."""
    try:
        tokens = Tokenizer(formula if formula.startswith("=") else f"={formula}").items
    except TokenizerError:
        return None
    for token in tokens:
        if token.type == Token.FUNC and token.subtype == Token.OPEN and token.value.upper() in ("TODAY(", "NOW("):
            return f"{token.value.upper()})"
    return None


def parse_cover_date(value: object, date1904: bool = False) -> str | None:
    """The date of audit as an ISO date, or None: a date, a text that is certainly a date (text_date), or an
    Excel serial number in the cover's accepted range (a date typed into a cell formatted as a number), counted
    from the workbook's epoch (1904-01-01 in a workbook that uses the 1904 date system)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        epoch = EPOCH_1904 if date1904 else layout.EXCEL_EPOCH
        first, last = _serial(layout.COVER_DATE_FIRST, epoch), _serial(layout.COVER_DATE_LAST, epoch)
        return (epoch + timedelta(days=int(value))).isoformat() if first <= value <= last else None
    if isinstance(value, str):
        read = text_date(value)
        return read[0].isoformat() if read else None
    return None


#: Day 0 of Excel's 1904 date system (Excel for Mac before 2011, and any workbook set to use it).
EPOCH_1904 = date(1904, 1, 1)


def _serial(day: date, epoch: date = layout.EXCEL_EPOCH) -> int:
    return (day - epoch).days


#: Excel serial numbers (1900 system) of the cover's first and last accepted dates: a bare number between
#: them is a date typed into a cell formatted as a number.
SERIAL_RANGE = (_serial(layout.COVER_DATE_FIRST), _serial(layout.COVER_DATE_LAST))


# --- soft checks on the answers -----------------------------------------------------------


def check_unanswered(
    file: str, responses: list[Response], mode: Mode, invalid: set[tuple[str | None, str | None]]
) -> Iterator[Finding]:
    """Answers left empty; a cell already reported as invalid is not counted again."""
    by_sheet: dict[str, list[Response]] = {}
    for r in responses:
        by_sheet.setdefault(r.sheet, []).append(r)
    for sheet, rows in by_sheet.items():
        if mode is Mode.NARRATIVE:
            missing = [r.evidence_cell for r in rows if not (r.evidence or "").strip()]
        else:
            missing = [
                r.score_cell for r in rows
                if r.score_cell and r.score is None and (r.sheet, r.score_cell) not in invalid
            ]
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            yield Code.UNANSWERED.finding(
                file, sheet=sheet, cell=missing[0], count=len(missing), total=len(rows), cells=shown
            )


def check_nothing_answered(file: str, responses: list[Response], value_findings: list[Finding]) -> Iterator[Finding]:
    """A return with no answer anywhere: no score, policy fit or evidence (the cover alone does not count). A
    value typed but refused (a score of 7) is an answer, already reported as invalid."""
    if value_findings:
        return
    if any(r.score is not None or r.policy is not None or (r.evidence or "").strip() for r in responses):
        return
    yield Code.NOTHING_ANSWERED.finding(file)


def low_scores(schedule: Schedule, mode: Mode) -> set[str]:
    """Scores that need evidence behind them: No, and the bottom two points of a scale."""
    options = schedule.modes[mode].options
    if mode is Mode.YESNO:
        return {o for o in options if o.casefold() == "no"}
    if mode is Mode.SCALE:
        return set(options[:2])
    return set()


def check_low_scores(file: str, responses: list[Response], schedule: Schedule, mode: Mode) -> Iterator[Finding]:
    low = low_scores(schedule, mode)
    for r in responses:
        if r.score in low and not (r.evidence or "").strip():
            yield Code.LOW_SCORE_NO_EVIDENCE.finding(
                file, sheet=r.sheet, cell=r.score_cell, ref=r.ref, value=r.score, evidence_cell=r.evidence_cell
            )


def check_na_steps(file: str, responses: list[Response], schedule: Schedule) -> Iterator[Finding]:
    na = schedule.schedule.not_applicable
    for section in schedule.sections:
        mine = [r for r in responses if r.section == section.ref]
        judgment = next((r for r in mine if r.is_judgment), None)
        if judgment is None or judgment.score != na:
            continue
        scored = [r for r in mine if not r.is_judgment and r.score not in (None, na)]
        if scored:
            yield Code.NA_STEP_WITH_SCORES.finding(
                file, sheet=section.sheet, cell=judgment.score_cell, ref=judgment.ref, count=len(scored)
            )
