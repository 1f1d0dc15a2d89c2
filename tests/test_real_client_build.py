"""A built workbook opened in a real spreadsheet application (LibreOffice, standing in for Excel).

Skipped with a reason where LibreOffice is missing; CI (CI=true) turns that skip into a failure.
"""

from __future__ import annotations

import pytest

from conftest import run_cli
from libreoffice import inspect, unprotect
from xlschedule import layout
from xlschedule.model import META_SHEET, Mode


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


def test_libreoffice_accepts_the_password_and_refuses_another(tmp_path):
    result = run_cli("build", "--force", "Kent", "--out", str(tmp_path), env={"XLSCHEDULE_PASSWORD": "correct horse"})
    assert result.exit_code == 0, result.output
    done = unprotect(tmp_path / "Kent.xlsx", tmp_path / "open.xlsx", password="correct horse")
    assert "Cover" in done["unprotected"] and "9 Police detention" in done["unprotected"]
    with pytest.raises(AssertionError):
        unprotect(tmp_path / "Kent.xlsx", tmp_path / "nope.xlsx", password="wrong horse")
