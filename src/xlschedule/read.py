"""Opens a returned workbook and takes a snapshot of what matters: every non-empty cell, sheet states
and protection. Nothing here judges the content; `checks.py` does.

openpyxl parses XML through defusedxml when it is installed (a declared dependency), so entity
tricks in a return cannot expand.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from .model import META_SHEET


class ReadError(Exception):
    """The file cannot be read as a workbook; the message says why in plain words."""


@dataclass(frozen=True)
class CellValue:
    value: Any
    is_formula: bool = False


@dataclass
class SheetSnapshot:
    name: str
    state: str  # visible, hidden, veryHidden
    protected: bool
    cells: dict[str, CellValue] = field(default_factory=dict)


@dataclass
class WorkbookSnapshot:
    sha256: str
    sheets: dict[str, SheetSnapshot]

    def meta(self) -> dict[str, str] | None:
        """The hidden metadata sheet as key -> value, or None when there is none."""
        sheet = self.sheets.get(META_SHEET)
        if sheet is None:
            return None
        keys = {coord[1:]: str(cv.value) for coord, cv in sheet.cells.items() if coord.startswith("A")}
        values = {coord[1:]: str(cv.value) for coord, cv in sheet.cells.items() if coord.startswith("B")}
        return {key: values.get(row, "") for row, key in keys.items()}


def snapshot_values(ws) -> dict[str, CellValue]:
    cells: dict[str, CellValue] = {}
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            if value is None:
                continue
            is_formula = cell.data_type == "f"
            if is_formula and not isinstance(value, str):  # array or data-table formula objects
                value = getattr(value, "text", str(value))
            cells[cell.coordinate] = CellValue(value, is_formula)
    return cells


def read_workbook(path: Path) -> WorkbookSnapshot:
    """Read a return. Raises ReadError (never a library exception) when it is not a readable workbook."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"cannot read the file: {exc.strerror or exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if not data:
        raise ReadError("the file is empty")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReadError("an old .xls file or a password-protected workbook")
    if not zipfile.is_zipfile(path):
        raise ReadError("not an .xlsx file (it is not a zip package)")
    try:
        wb = load_workbook(path, data_only=False, keep_links=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise ReadError(f"the workbook cannot be opened ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file, never a traceback
        raise ReadError(f"the workbook cannot be opened ({type(exc).__name__})") from None
    sheets: dict[str, SheetSnapshot] = {}
    try:
        for ws in wb.worksheets:
            sheets[ws.title] = SheetSnapshot(
                name=ws.title,
                state=ws.sheet_state,
                protected=bool(ws.protection.sheet),
                cells=snapshot_values(ws),
            )
    finally:
        wb.close()
    return WorkbookSnapshot(sha256=digest, sheets=sheets)


def as_text(value: Any) -> str:
    """A cell value as the text a person sees: 4.0 -> '4', a date -> '2026-11-26'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
