"""Finding codes with their message templates, and the report of a run: table, JSON, flatten.

A code is stable: tests and analysts match on it, so reword a template freely but never rename a code.
Messages say where and how to fix; they never contain evidence text (it is sensitive).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .model import Finding, Return, ReturnStatus, Severity

E, W = Severity.ERROR, Severity.WARNING


class Code(Enum):
    """Each finding's stable code, its severity, and a template for the message."""

    NOT_A_WORKBOOK = ("not-a-workbook", E, "Not a readable Excel workbook ({detail}). Open it in Excel, save it as .xlsx and send it again.")
    ENCRYPTED = ("encrypted", E, "The workbook has a password to open. Remove it in Excel (File > Info > Protect Workbook > Encrypt with Password, clear the password) and send it again, or ingest with --open-password.")
    WRONG_PASSWORD = ("wrong-open-password", E, "The workbook has a password to open and the one given does not open it. Check --open-password (or XLSCHEDULE_OPEN_PASSWORD).")
    OLD_XLS = ("old-xls-format", E, "This is the old binary .xls format. Open it in Excel, save it as Excel Workbook (.xlsx), and send that.")
    ACTIVE_CONTENT = ("active-content", E, "The workbook contains {what}, which a return must not have; none of it was run or followed. Copy the answers into a fresh blank and send that.")
    UNSAFE_XML = ("unsafe-xml", E, "The workbook's XML declares entities (in {part}), which Excel never writes; it was not read. Copy the answers into a fresh blank and send that.")
    TOO_LARGE = ("too-large", E, "The workbook {detail}, far beyond any return; it was refused unread. Check that it is the right file.")
    UNEXPECTED = ("unexpected-error", E, "xlschedule could not check this file ({detail}); the rest of the run went on. Please send this file to the xlschedule maintainers.")
    NOT_XLSCHEDULE = ("not-xlschedule", E, "Not a workbook built by xlschedule ({detail}). Fill in the blank workbook sent for your force.")
    OTHER_SCHEDULE = ("other-schedule-version", E, "Built from schedule {built}; this run checks schedule {current}. Copy the answers into the current blank for {force}.")
    UNKNOWN_FORCE = ("unknown-force", E, "Built for force '{force}', which is not in this schedule's [forces]. Check the schedule, or use the blank for your force.")
    SHEET_MISSING = ("sheet-missing", E, "Sheet '{sheet}' is missing (deleted or renamed). Copy the answers into a fresh blank for {force}.")
    SHEET_ADDED = ("sheet-added", E, "Sheet '{sheet}' is not in the blank. Delete it, or copy the answers into a fresh blank for {force}.")
    ROWS_CHANGED = ("rows-inserted-or-deleted", E, "Rows were inserted or deleted: {ref} should be on row {expected} but {found}. Copy the answers into a fresh blank for {force}.")
    LOCKED_CHANGED = ("locked-cell-changed", E, "This cell is locked in the blank and was changed ({how}). Put the blank's content back, or copy the answers into a fresh blank for {force}.")
    FORCE_CHANGED = ("force-changed", E, "The cover names another force than the one this workbook was built for ({force}). Use the blank sent for your own force.")
    INVALID_SCORE = ("invalid-score", E, "{value} is not one of the options ({options}) for {ref}. Pick one from the dropdown, or clear the cell.")
    INVALID_POLICY = ("invalid-policy-fit", E, "{value} is not one of the options ({options}) for the policy fit of {ref}. Pick one from the dropdown.")
    DUPLICATE_FILE = ("duplicate-file", E, "The same file as {other}: it is counted once.")
    DUPLICATE_RETURN = ("duplicate-return", E, "{force} return '{return_ref}' is also in {other}: it is counted once. Give each return its own reference.")
    STRICT = ("rejected-strict", E, "Rejected because --strict treats its {count} warning(s) as errors. Fix them, or ingest without --strict.")
    UNANSWERED = ("unanswered", W, "{count} of {total} unanswered on this sheet ({cells}). Answer them, or pick N/A where they do not apply.")
    LOW_SCORE_NO_EVIDENCE = ("low-score-no-evidence", W, "{ref} is scored {value} with no evidence in {evidence_cell}. Write the evidence behind a low score.")
    NA_STEP_WITH_SCORES = ("na-step-with-scores", W, "The judgment for {ref} is N/A but {count} item(s) on the sheet are scored. Check whether the step applies.")
    FORMULA_IN_EVIDENCE = ("formula-in-evidence", W, "This evidence cell holds a formula; it was kept as its text. Type the evidence as plain text.")
    SHEET_UNPROTECTED = ("sheet-unprotected", W, "The sheet's protection was removed; its content is unchanged, so the return was accepted. Leave sheets protected.")
    NO_RETURN_REF = ("missing-return-reference", W, "No return reference on the cover. Give each return one (e.g. the case number) so returns can be told apart.")
    NO_INSPECTOR = ("missing-inspector", W, "No inspector named on the cover. Fill in who completed the return.")
    BAD_DATE = ("date-not-recognised", W, "The date of audit is not a date. Type it as a date, e.g. 2026-11-26.")

    def __init__(self, code: str, severity: Severity, template: str) -> None:
        self.code = code
        self.severity = severity
        self.template = template

    def finding(self, file: str, sheet: str | None = None, cell: str | None = None, **values: Any) -> Finding:
        return Finding(
            file=file, code=self.code, severity=self.severity, message=self.template.format(sheet=sheet, cell=cell, **values),
            sheet=sheet, cell=cell,
        )


@dataclass
class Report:
    """Every return of one run with its findings; knows whether the run is clean."""

    returns: list[Return] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the run, not a return: skipped owner files

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.returns for f in r.findings]

    @property
    def accepted(self) -> list[Return]:
        return [r for r in self.returns if r.status is ReturnStatus.ACCEPTED]

    @property
    def ok(self) -> bool:
        return all(r.status is ReturnStatus.ACCEPTED for r in self.returns)

    def flatten(self, fields: list[str]) -> list[list[Any]]:
        """Findings as rows of the named attributes: short, readable test assertions."""
        return [[getattr(f, name) for name in fields] for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": {
                "returns": len(self.returns),
                "accepted": len(self.accepted),
                "rejected": sum(r.status is ReturnStatus.REJECTED for r in self.returns),
                "duplicates": sum(r.status is ReturnStatus.DUPLICATE for r in self.returns),
                "errors": sum(f.severity is E for f in self.findings),
                "warnings": sum(f.severity is W for f in self.findings),
            },
            "notes": self.notes,
            "returns": [
                {
                    "file": r.file, "sha256": r.sha256, "force": r.force,
                    "mode": r.mode.value if r.mode else None, "return_ref": r.return_ref,
                    "inspector": r.inspector, "date": r.date, "status": r.status.value,
                    "answered": r.answered, "responses": len(r.responses),
                    "findings": [f.model_dump(mode="json") for f in r.findings],
                }
                for r in self.returns
            ],
        }

    def write_json(self, path: Path) -> None:
        from .packager import write_atomic

        write_atomic(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False).encode("utf-8"))

    def render(self, console: Console) -> None:
        """Two tables: the returns with their status, and every finding. No evidence text is shown."""
        returns = Table(title="Returns", show_lines=False)
        for col in ("File", "Force", "Return", "Status", "Errors", "Warnings", "Answered"):
            returns.add_column(col, overflow="fold")
        style = {ReturnStatus.ACCEPTED: "green", ReturnStatus.REJECTED: "red", ReturnStatus.DUPLICATE: "yellow"}
        for r in self.returns:
            returns.add_row(
                escape(r.file), escape(r.force or ""), escape(r.return_ref or ""),
                f"[{style[r.status]}]{r.status.value}[/]",
                str(len(r.errors())), str(len(r.warnings())), f"{r.answered}/{len(r.responses)}",
            )
        console.print(returns)
        if self.findings:
            issues = Table(title="Findings")
            for col in ("File", "Sheet", "Cell", "Code", "Message"):
                issues.add_column(col, overflow="fold")
            for f in self.findings:
                colour = "red" if f.severity is E else "yellow"
                issues.add_row(
                    escape(f.file), escape(f.sheet or ""), f.cell or "", f"[{colour}]{f.code}[/]", escape(f.message)
                )
            console.print(issues)
        for note in self.notes:
            console.print(f"note: {escape(note)}", highlight=False)
