"""The date of audit as LibreOffice leaves it: typed in a locale that writes the month first (LibreOffice's
default, as Excel's is on a machine set to the US), a UK date such as 20/11/2026 is not a date there and is
kept as text. Skipped where LibreOffice is missing; under CI, failed."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook

from xlschedule import layout
from xlschedule.model import COVER_SHEET, Mode

from conftest import blank_bytes, run_cli
from libreoffice import fill, require_libreoffice

DATE = layout.cover_cell("date")


def test_a_uk_date_typed_where_it_stays_text_is_read_as_the_date_and_named(tmp_path, schedule):
    require_libreoffice()
    blank = tmp_path / "blank.xlsx"
    blank.write_bytes(blank_bytes(schedule, "Kent", Mode.YESNO))
    typed = tmp_path / "Kent-R1.xlsx"
    result = fill(blank, typed, [
        {"sheet": COVER_SHEET, "cell": layout.cover_cell("return_ref"), "value": "R-1", "kind": "input"},
        {"sheet": COVER_SHEET, "cell": layout.cover_cell("inspector"), "value": "Jo Bloggs", "kind": "input"},
        {"sheet": COVER_SHEET, "cell": DATE, "value": "20/11/2026", "kind": "input"},
        {"sheet": "Overall", "cell": "C6", "value": "Yes", "kind": "input"},
    ])
    assert result["errors"] == [], result
    assert load_workbook(typed)[COVER_SHEET][DATE].value == "20/11/2026"  # text to LibreOffice and openpyxl
    report = tmp_path / "r.json"
    out = run_cli("validate", str(typed), "--report", str(report))
    [ret] = json.loads(Path(report).read_text(encoding="utf-8"))["returns"]
    assert ret["status"] == "accepted" and ret["date"] == "2026-11-20", out.output
    [finding] = [f for f in ret["findings"] if f["code"] == "date-read-from-text"]
    assert (finding["sheet"], finding["cell"]) == (COVER_SHEET, DATE)
    assert "'20/11/2026'" in finding["message"] and "2026-11-20" in finding["message"]
