"""Finding codes: each one's stable name, severity, and templates for its problem and its fix.

A code is stable: tests and analysts match on it, so reword a template freely but never rename a code.
Messages say where and how to fix; they never contain evidence text (it is sensitive).
"""

from __future__ import annotations

import string
from enum import Enum
from typing import Any

from .model import Finding, Severity

E, W = Severity.ERROR, Severity.WARNING


#: How each application saves a workbook as .xlsx: a fix names the steps in the application that saved it.
SAVE_AS_XLSX = {
    "Excel": "in Excel: File > Save As, file type Excel Workbook (.xlsx)",
    "LibreOffice": "in LibreOffice Calc: File > Save As, file type Excel 2007-365 (.xlsx), then Use Excel 2007-365!",
}


def save_as_xlsx(client: str | None) -> tuple[str, str]:
    """MACRO_ENABLED_FORMAT's `by` and `steps`: which application saved it (read.saved_by), and how to save it as
    .xlsx there; the steps in both when it is not known."""
    if client in SAVE_AS_XLSX:
        return f" by {client}", SAVE_AS_XLSX[client]
    return "", "; ".join(SAVE_AS_XLSX.values())


class Code(Enum):
    """Each finding's stable code (the member's name, spelt as the user sees it), its severity, a template
    for what is wrong (the problem) and one for what to do about it (the fix): (severity, problem, fix).
    The two are kept apart so that nothing ever has to split a message back into them."""

    NOT_A_WORKBOOK = (
        E,
        "Not a readable Excel workbook ({detail}).",
        "Send the completed return again, the .xlsx workbook itself as it was saved: this file is cut short, "
        "damaged or another file, and opening and saving it again cannot bring the return back.",
    )
    ENCRYPTED = (
        E,
        "The workbook has a password to open.",
        "Remove it and send it again (in Excel: File > Info > Protect Workbook > Encrypt with Password, clear the "
        "password; in LibreOffice Calc: File > Save As, untick Save with password), or ingest with "
        "--open-password if the force gave you the password.",
    )
    WRONG_OPEN_PASSWORD = (
        E,
        "The workbook has a password to open and the one given does not open it.",
        "Check --open-password (or XLSCHEDULE_OPEN_PASSWORD) with the force, or ask them to remove the password "
        "and send it again.",
    )
    OLD_XLS_FORMAT = (
        E,
        "This is the old binary .xls format.",
        "Open it and save it as .xlsx (in Excel: File > Save As, Excel Workbook (.xlsx); in LibreOffice Calc: "
        "File > Save As, file type Excel 2007-365 (.xlsx)), and send that.",
    )
    LABEL_ENCRYPTED = (
        E,
        "The workbook is encrypted by a sensitivity label (rights management), not by a password, so it cannot be "
        "read and --open-password cannot open it.",
        "Ask the force to remove the label's encryption (in Excel: Sensitivity, pick a label that does not "
        "encrypt, or ask whoever applied it to remove the protection) and send it again.",
    )
    MACRO_ENABLED_FORMAT = (
        E,
        "The workbook was saved{by} as a macro-enabled workbook (.xlsm), but holds no macros.",
        "Save it as .xlsx ({steps}) and send that.",
    )
    OPENDOCUMENT_FORMAT = (
        E,
        "This is an OpenDocument spreadsheet (.ods), not an Excel workbook.",
        "Open it in LibreOffice Calc, choose File > Save As with the file type Excel 2007-365 (.xlsx) (in Excel: "
        "Excel Workbook (.xlsx)), and send that.",
    )
    ACTIVE_CONTENT = (
        E,
        "The workbook contains {what}, which a return must not have; none of it was run or followed.",
        "Copy the answers into a fresh copy of the blank sent for your force, and send that.",
    )
    UNSAFE_XML = (
        E,
        "The workbook's XML declares entities (in {part}), which Excel never writes; it was not read.",
        "Copy the answers into a fresh copy of the blank sent for your force, and send that.",
    )
    TOO_LARGE = (
        E,
        "The workbook {detail}, far beyond any return; it was refused unread.",
        "Send the completed return itself: this is most likely another file.",
    )
    UNEXPECTED_ERROR = (
        E,
        "xlschedule could not check this file ({detail}); the rest of the run went on.",
        "A fault in xlschedule, not the force's: report it to the xlschedule maintainers with this line (not the "
        "file, which holds evidence). The force need do nothing yet.",
    )
    NOT_XLSCHEDULE = (
        E,
        "Not a workbook built by xlschedule ({detail}).",
        "Copy the answers into the blank workbook sent for your force, and send that.",
    )
    OTHER_SCHEDULE_VERSION = (
        E,
        "Built from schedule {built}; this run knows {known}.",
        "If that version was issued from another registry, ingest with --registry pointing at it; otherwise copy "
        "the answers into the current blank for {force}.",
    )
    UNKNOWN_TEMPLATE = (
        E,
        "Its metadata names a blank that {where} has no record of ({detail}), so it cannot be checked.",
        "If it was built elsewhere or by another release of xlschedule, ingest with --registry pointing at the "
        "registry of the build that issued it; otherwise copy the answers into the current blank for {force}.",
    )
    UNKNOWN_FORCE = (
        E,
        "Built for force '{force}', which is not in this schedule's [forces].",
        "Check the schedule, or use the blank for your force.",
    )
    SHEET_MISSING = (
        E,
        "Sheet '{sheet}' is missing (deleted or renamed).",
        "Copy the answers into a fresh blank for {force}.",
    )
    SHEET_ADDED = (
        E,
        "Sheet '{sheet}' is not in the blank.",
        "Delete it, or copy the answers into a fresh blank for {force}.",
    )
    ROWS_INSERTED_OR_DELETED = (
        E,
        "Rows were inserted or deleted: {ref} should be on row {expected} but {found}.",
        "Copy the answers into a fresh blank for {force}.",
    )
    LOCKED_CELL_CHANGED = (
        E,
        "This cell is locked in the blank and was changed ({how}).",
        "Put the blank's content back, or copy the answers into a fresh blank for {force}.",
    )
    FORCE_CHANGED = (
        E,
        "The cover names another force than the one this workbook was built for ({force}).",
        "Use the blank sent for your own force.",
    )
    INVALID_SCORE = (
        E,
        "{value} is not one of the options ({options}) for {ref}.",
        "Pick one from the dropdown, or clear the cell.",
    )
    INVALID_POLICY_FIT = (
        E,
        "{value} is not one of the options ({options}) for the policy fit of {ref}.",
        "Pick one from the dropdown.",
    )
    DUPLICATE_FILE = (
        E,
        "The same file as {other}: it is counted once.",
        "Nothing, if it was sent twice by mistake; if another return was meant, send that one.",
    )
    DUPLICATE_RETURN = (
        E,
        "{force} return '{return_ref}' is also in {other}: it is counted once.",
        "Give each return its own reference.",
    )
    REJECTED_STRICT = (
        E,
        "Rejected because --strict treats its {count} warning(s) as errors.",
        "Fix them, or ingest without --strict.",
    )
    UNANSWERED = (
        W,
        "{count} of {total} unanswered on this sheet ({cells}).",
        "Answer them, or pick N/A where they do not apply.",
    )
    LOW_SCORE_NO_EVIDENCE = (
        W,
        "{ref} is scored {value} with no evidence in {evidence_cell}.",
        "Write the evidence behind a low score.",
    )
    NA_STEP_WITH_SCORES = (
        W,
        "The judgment for {ref} is N/A but {count} item(s) on the sheet are scored.",
        "If the step applies, give it a judgment; if it does not, score its items N/A.",
    )
    FORMULA_IN_EVIDENCE = (
        W,
        "This evidence cell holds a formula; it was kept as its text.",
        "Type the evidence as plain text.",
    )
    EVIDENCE_NOT_TEXT = (
        W,
        "This evidence cell holds {what}, not text; it was left out of the consolidation.",
        "Type the evidence as text.",
    )
    SHEET_UNPROTECTED = (
        W,
        "The sheet's protection was removed; its content is unchanged, so the return was accepted.",
        "Nothing to do for this return; keep sheets protected in the next one.",
    )
    MISSING_RETURN_REFERENCE = (
        W,
        "No return reference on the cover.",
        "Give each return one (e.g. the case number) so returns can be told apart.",
    )
    MISSING_INSPECTOR = (
        W,
        "No inspector named on the cover.",
        "Fill in who completed the return.",
    )
    DATE_NOT_RECOGNISED = (
        W,
        "The date of audit, {value}, is not a date, or not one that reads only one way.",
        "Type it as a date, e.g. 2026-11-26.",
    )
    VOLATILE_DATE = (
        W,
        "The date of audit is the formula {function}, which gives a new date every time the file is opened; the "
        "date it showed when last saved, {date}, was used.",
        "Type the date itself, e.g. 2026-11-26.",
    )
    NOTHING_ANSWERED = (
        E,
        "Nothing is answered in this return: no score, policy fit or evidence anywhere (a blank sent back is "
        "most often the wrong file attached).",
        "Fill the return in, or send the completed one.",
    )
    NOT_A_FILE = (
        E,
        "Not a file but {what}; it was not opened.",
        "Name the workbook itself.",
    )
    MISSING_DATE_OF_AUDIT = (
        W,
        "No date of audit on the cover.",
        "Type the date the audit was done, e.g. 2026-11-26.",
    )
    DATE_READ_FROM_TEXT = (
        W,
        "The date of audit is the text {value}, not a date; it was read as {date}{how}.",
        "Check that date and type it as a date, e.g. {date}, so that every spreadsheet reads it as one.",
    )
    DATE_OUT_OF_RANGE = (
        W,
        "The date of audit, {date}, is outside the years the cover takes ({first} to {last}); it was kept as "
        "read.",
        "Check it and type the date the audit was done.",
    )
    COVER_VALUE_TOO_LONG = (
        E,
        "The {what} is {length} characters long, more than the {limit} the cover takes.",
        "Shorten it to {short}, and send the return again.",
    )
    AMBIGUOUS_CONTENT = (
        E,
        "The workbook holds what spreadsheet applications read differently ({detail}), so it was not read: no "
        "answer is read one way when Excel reads another.",
        "Open it in Excel or LibreOffice Calc, check the cell named, save it as .xlsx and send that (saving it "
        "again writes it the one way every reader reads).",
    )
    UNREADABLE_FILE = (
        E,
        "The file could not be read here ({detail}).",
        "Not the force's to fix: check that this account may read the file and that it is not still being "
        "copied, then run again.",
    )

    def __init__(self, severity: Severity, problem: str, fix: str) -> None:
        self.severity = severity
        self.problem = problem
        self.fix = fix

    @property
    def code(self) -> str:
        """What a user sees and greps for: the member's name in lower case with hyphens."""
        return self.name.lower().replace("_", "-")

    @property
    def placeholders(self) -> set[str]:
        """The names the templates need from each call site (`sheet` and `cell` are always given)."""
        parse = string.Formatter().parse
        return {name for template in (self.problem, self.fix) for _, name, _, _ in parse(template) if name}

    def finding(self, file: str, sheet: str | None = None, cell: str | None = None, **values: Any) -> Finding:
        return Finding(
            file=file, code=self.code, severity=self.severity, sheet=sheet, cell=cell,
            problem=self.problem.format(sheet=sheet, cell=cell, **values),
            fix=self.fix.format(sheet=sheet, cell=cell, **values),
        )
