"""What a workbook means to the person filling it in, independent of how its XML happens to be written.

Two files written by different versions of openpyxl (or with and without lxml) differ in their bytes
but not here: this compares cell values, formulas, locking, validations, protection and sheet states.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time
from os import PathLike
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell

#: The switches of a sheet's protection (True means: protected against), without the password hash.
PROTECTION_FLAGS = (
    "sheet", "objects", "scenarios", "formatCells", "formatColumns", "formatRows", "insertColumns",
    "insertRows", "insertHyperlinks", "deleteColumns", "deleteRows", "selectLockedCells",
    "selectUnlockedCells", "sort", "autoFilter", "pivotTables",
)


def _plain(value: Any) -> Any:
    """A cell value as JSON can hold it; dates and times as ISO text."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def _sqref(dv) -> str:
    ranges = sorted(dv.sqref.ranges, key=lambda r: (r.min_row, r.min_col, r.max_row, r.max_col))
    return " ".join(r.coord for r in ranges)


def workbook_meaning(source: str | PathLike | bytes) -> dict:
    """The workbook as its user meets it, as plain data (JSON-ready, stable for comparison).

    Per sheet, in workbook order: its state, protection flags, print titles, data validations and
    every cell that holds something or is unlocked, with its value, whether it is a formula and
    whether it is locked. For the workbook: whether its structure is locked.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    wb = load_workbook(io.BytesIO(data))
    sheets: dict[str, dict] = {}
    for ws in wb.worksheets:
        cells: dict[str, dict] = {}
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell, MergedCell):
                    continue
                locked = bool(cell.protection.locked)
                if cell.value is None and locked:
                    continue
                cells[cell.coordinate] = {
                    "value": _plain(cell.value),
                    "formula": cell.data_type == "f",
                    "locked": locked,
                }
        validations = sorted(
            (
                {
                    "type": dv.type,
                    "formula1": dv.formula1,
                    "formula2": dv.formula2,
                    "sqref": _sqref(dv),
                    "prompt_title": dv.promptTitle,
                }
                for dv in ws.data_validations.dataValidation
            ),
            key=lambda v: (v["sqref"], v["type"] or ""),
        )
        sheets[ws.title] = {
            "state": ws.sheet_state,
            "protection": {flag: bool(getattr(ws.protection, flag)) for flag in PROTECTION_FLAGS},
            "print_titles": ws.print_title_rows,
            "validations": validations,
            "cells": cells,
        }
    security = wb.security
    return {
        "sheet_order": list(sheets),
        "structure_locked": bool(security is not None and security.lockStructure),
        "sheets": sheets,
    }


def differences(got: dict, want: dict, limit: int = 20) -> list[str]:
    """Where two meanings differ, as short lines naming the sheet and cell (at most `limit` of them)."""
    lines: list[str] = []
    for key in ("sheet_order", "structure_locked"):
        if got[key] != want[key]:
            lines.append(f"{key}: {got[key]!r} != {want[key]!r}")
    for name in dict.fromkeys([*want["sheets"], *got["sheets"]]):
        a, b = got["sheets"].get(name), want["sheets"].get(name)
        if a is None or b is None:
            lines.append(f"{name}: {'missing' if a is None else 'not expected'}")
            continue
        for key in ("state", "protection", "print_titles", "validations"):
            if a[key] != b[key]:
                lines.append(f"{name}: {key} {a[key]!r} != {b[key]!r}")
        for coord in dict.fromkeys([*b["cells"], *a["cells"]]):
            if a["cells"].get(coord) != b["cells"].get(coord):
                lines.append(f"{name}!{coord}: {a['cells'].get(coord)!r} != {b['cells'].get(coord)!r}")
    return lines[:limit] + ([f"... and {len(lines) - limit} more"] if len(lines) > limit else [])
