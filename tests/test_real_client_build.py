"""A built workbook opened in a real spreadsheet application (LibreOffice, standing in for Excel).

Skipped with a reason where LibreOffice is missing; CI (CI=true) turns that skip into a failure.
"""

from __future__ import annotations

import pytest

from xlschedule import layout
from xlschedule.model import META_SHEET, Mode

from conftest import PASSWORD
from libreoffice import inspect, unprotect


@pytest.mark.parametrize("mode", [Mode.YESNO, Mode.SCALE, Mode.NARRATIVE])
def test_libreoffice_sees_protection_and_dropdowns(built, schedule, mode):
    report = inspect(built[mode])
    sheets = {s["name"]: s for s in report["sheets"]}
    assert list(sheets) == layout.sheet_names(schedule)
    visible = [s for s in report["sheets"] if s["visible"]]
    assert [s["name"] for s in visible] == layout.sheet_names(schedule)[:-1]
    assert not sheets[META_SHEET]["visible"]
    for sheet in visible:
        assert sheet["protected"], sheet["name"]

    expected_unlocked: dict[str, set[str]] = {}
    for cell in layout.input_cells(schedule, mode):
        expected_unlocked.setdefault(cell.sheet, set()).add(cell.cell)
    for name, cells in expected_unlocked.items():
        assert set(sheets[name]["unlocked"]) == cells, name

    for section in schedule.sections:
        validations = sheets[section.sheet]["validations"]
        for cell in layout.section_inputs(section, mode):
            if cell.kind == "score":
                v = validations[cell.cell]
                assert v["type"] == "LIST"
                assert v["choices"] == schedule.options(mode)
                assert v["show_error"] and v["error_style"] == "STOP"
                assert v["input_message"]
            elif cell.kind == "policy":
                assert validations[cell.cell]["choices"] == schedule.policy_fit_options()
            else:
                assert cell.cell not in validations
        if mode is Mode.NARRATIVE:
            assert validations == {}


def test_libreoffice_accepts_the_password_and_refuses_another(built_with_password, tmp_path):
    done = unprotect(built_with_password, tmp_path / "open.xlsx", password=PASSWORD)
    assert "Cover" in done["unprotected"] and "9 Police detention" in done["unprotected"]
    # Refused for the wrong password, on the first sheet: not a timeout or any other failure of the helper.
    with pytest.raises(AssertionError, match=r"cannot unprotect sheet 'Cover' \(password-protected\?\)"):
        unprotect(built_with_password, tmp_path / "nope.xlsx", password="wrong horse")
    assert not (tmp_path / "nope.xlsx").exists()
