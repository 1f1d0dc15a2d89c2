"""Tests of the LibreOffice driver itself (tests/libreoffice.py + tests/lo_uno.py).

Skipped when LibreOffice/python3-uno are missing, failed instead when $CI is set.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Protection
from openpyxl.worksheet.datavalidation import DataValidation

from libreoffice import fill, inspect, require_libreoffice, unprotect

LONG_TEXT = (
    "Door closes but the latch is worn; 3 of 4 hinges loose. "
    "Recommend replacement within 30 days, re-inspect afterwards. "
) * 4


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lo") / "form.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Checklist"
    ws["A1"] = "Question"
    ws["B9"] = "Is the door closed?"
    for ref in ("C9", "C10", "D12"):
        ws[ref].protection = Protection(locked=False)
    dv = DataValidation(
        type="list",
        formula1='"Yes,No,N/A"',
        showErrorMessage=True,
        errorStyle="stop",
        prompt="Pick one",
        promptTitle="Answer",
    )
    ws.add_data_validation(dv)
    dv.add("C9")
    ws.protection.sheet = True

    notes = wb.create_sheet("Notes")
    notes["A1"] = "Notes"
    notes["B2"].protection = Protection(locked=False)
    notes.protection.sheet = True

    hidden = wb.create_sheet("Lists")
    hidden["A1"] = "Yes"
    hidden.sheet_state = "hidden"
    wb.save(path)
    return path


def test_inspect_sees_protection_validation_and_unlocked_cells(workbook):
    require_libreoffice()
    info = inspect(workbook)
    sheets = {s["name"]: s for s in info["sheets"]}
    assert list(sheets) == ["Checklist", "Notes", "Lists"]
    assert sheets["Checklist"]["visible"] and sheets["Checklist"]["protected"]
    assert sheets["Notes"]["visible"] and sheets["Notes"]["protected"]
    assert sheets["Lists"]["visible"] is False

    c9 = sheets["Checklist"]["validations"]["C9"]
    assert c9["type"] == "LIST"
    assert c9["choices"] == ["Yes", "No", "N/A"]
    assert c9["show_error"] is True
    assert c9["error_style"] == "STOP"
    assert (c9["input_title"], c9["input_message"]) == ("Answer", "Pick one")
    assert set(sheets["Checklist"]["validations"]) == {"C9"}

    # D12 is unlocked but empty: still reported (outside the content area).
    assert sheets["Checklist"]["unlocked"] == ["C9", "C10", "D12"]
    assert sheets["Notes"]["unlocked"] == ["B2"]


def test_fill_types_like_a_user_and_refuses_locked_cells(workbook, tmp_path):
    require_libreoffice()
    out = tmp_path / "filled.xlsx"
    result = fill(
        workbook,
        out,
        [
            {"sheet": "Checklist", "cell": "C9", "value": "Yes", "kind": "input"},
            {"sheet": "Checklist", "cell": "C10", "value": "4", "kind": "input"},
            {"sheet": "Checklist", "cell": "D12", "value": LONG_TEXT, "kind": "input"},
            {"sheet": "Notes", "cell": "B2", "value": 2.5, "kind": "number"},
            {"sheet": "Checklist", "cell": "B9", "value": "tampered", "kind": "input"},
        ],
    )
    assert result["written"] == 4
    assert [(e["sheet"], e["cell"]) for e in result["errors"]] == [("Checklist", "B9")]

    wb = openpyxl.load_workbook(out)
    ws = wb["Checklist"]
    assert ws["C9"].value == "Yes"
    assert ws["C10"].value == 4 and ws["C10"].data_type == "n"
    assert ws["D12"].value == LONG_TEXT
    assert ws["B9"].value == "Is the door closed?"
    assert wb["Notes"]["B2"].value == 2.5
    # Calc keeps protection, lock flags and the list validation on export.
    assert ws.protection.sheet and wb["Notes"].protection.sheet
    assert ws["C9"].protection.locked is False and ws["B9"].protection.locked is True
    (dv,) = ws.data_validations.dataValidation
    assert dv.type == "list" and dv.formula1 == '"Yes,No,N/A"' and str(dv.sqref) == "C9"
    assert wb["Lists"].sheet_state == "hidden"


def test_unprotect_removes_protection_only(workbook, tmp_path):
    require_libreoffice()
    out = tmp_path / "unprotected.xlsx"
    result = unprotect(workbook, out)
    assert result["unprotected"] == ["Checklist", "Notes"]

    wb = openpyxl.load_workbook(out)
    assert not any(ws.protection.sheet for ws in wb.worksheets)
    assert wb["Checklist"]["B9"].value == "Is the door closed?"
    assert wb["Checklist"]["C9"].value is None
    assert len(wb["Checklist"].data_validations.dataValidation) == 1
