"""The cover's three inputs as a force fills them, through the command line: the date of audit (empty, typed
as text, outside the years the cover takes) and the limits the cover's validation sets on the reference and
the inspector's name, which a paste gets past."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlschedule import checks, layout
from xlschedule.model import COVER_SHEET
from xlschedule.report import SHOWN_FILE

from conftest import run_cli
from test_ingest import make_return

DATE = layout.cover_cell("date")
REF = layout.cover_cell("return_ref")
WHO = layout.cover_cell("inspector")


def _ingest(tmp_path: Path, *returns: Path) -> tuple[object, dict, Path]:
    out, report = tmp_path / "consolidated.xlsx", tmp_path / "report.json"
    result = run_cli("ingest", *map(str, returns), "--out", str(out), "--report", str(report))
    return result, json.loads(report.read_text(encoding="utf-8")), out


def _findings(ret: dict) -> list[tuple[str | None, str | None, str]]:
    return [(f["sheet"], f["cell"], f["code"]) for f in ret["findings"]]


# --- the date of audit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", [None, "   "])
def test_an_empty_date_of_audit_is_a_warning_of_its_own(tmp_path, schedule, empty):
    path = make_return(tmp_path, schedule, "undated", values={(COVER_SHEET, DATE): empty})
    result, report, _ = _ingest(tmp_path, path)
    assert result.exit_code == 0, result.output
    [ret] = report["returns"]
    assert _findings(ret) == [(COVER_SHEET, DATE, "missing-date-of-audit")]
    assert ret["date"] is None
    assert f"undated.xlsx: Cover!{DATE}: warning missing-date-of-audit: No date of audit on the cover." in result.output
    assert "Type the date" in ret["findings"][0]["message"]


@pytest.mark.parametrize("typed, iso", [
    ("20/11/2026", "2026-11-20"), ("20-11-2026", "2026-11-20"), ("20.11.2026", "2026-11-20"),
    (" 5/1/2026 ", "2026-01-05"), ("03/11/2026", "2026-11-03"), ("31/12/2099", "2099-12-31"),
])
def test_a_date_typed_as_text_day_first_is_read_and_the_force_told(tmp_path, schedule, typed, iso):
    """dd/mm/yyyy is how the UK writes a date: read (day over 12 or not), consolidated as the date a date cell
    gives, and a warning says it was text, quoting it, so the force can check the reading and retype it."""
    path = make_return(tmp_path, schedule, "texted", values={(COVER_SHEET, DATE): typed})
    dated = make_return(tmp_path, schedule, "dated", ref="dated",
                        values={(COVER_SHEET, DATE): dt.date.fromisoformat(iso)})
    result, report, out = _ingest(tmp_path, path, dated)
    assert result.exit_code == 0, result.output
    texted, as_date = report["returns"]
    assert texted["date"] == as_date["date"] == iso
    assert _findings(texted) == [(COVER_SHEET, DATE, "date-read-from-text")]
    message = texted["findings"][0]["message"]
    assert repr(typed) in message and iso in message, message
    assert ("day before month" in message) == (int(typed.strip().split(typed.strip()[-5])[0]) <= 12), message
    wb = load_workbook(out, read_only=True)
    rows = {row[0]: row for row in wb["Returns"].iter_rows(values_only=True) if row and row[0]}
    assert rows[str(path)][5] == rows[str(dated)][5] == dt.datetime.fromisoformat(iso)  # a date, for both
    latest = [row for row in wb["Summary"].iter_rows(values_only=True) if row and row[0] == "Kent"]
    assert latest[0][8] == dt.datetime.fromisoformat(iso)  # a real date, counted as the latest date of audit


def test_an_iso_date_typed_as_text_is_read_as_before_without_a_warning(tmp_path, schedule):
    path = make_return(tmp_path, schedule, "iso", values={(COVER_SHEET, DATE): "2026-11-20"})
    result, report, _ = _ingest(tmp_path, path)
    assert result.exit_code == 0 and _findings(report["returns"][0]) == []
    assert report["returns"][0]["date"] == "2026-11-20"


@pytest.mark.parametrize("typed", ["20/11/26", "11/20/2026", "32/01/2026", "29/02/2027", "2026/20/11",
                                   "20/11-2026", "Tuesday", "20\t/11"])
def test_a_date_whose_meaning_is_not_certain_is_quoted_back(tmp_path, schedule, typed):
    path = make_return(tmp_path, schedule, "unsure", values={(COVER_SHEET, DATE): typed})
    result, report, _ = _ingest(tmp_path, path)
    assert result.exit_code == 0, result.output
    [ret] = report["returns"]
    assert _findings(ret) == [(COVER_SHEET, DATE, "date-not-recognised")]
    assert ret["date"] == typed  # kept as typed, never guessed
    assert repr(typed) in ret["findings"][0]["message"]
    [line] = [line for line in result.output.splitlines() if "date-not-recognised" in line]
    assert "\t" not in line and repr(typed) in line  # quoted, its control characters escaped


def test_a_long_text_in_the_date_is_described_not_quoted(tmp_path, schedule):
    evidence = "Seen on 20/11/2026 in the custody record of the detained person"
    path = make_return(tmp_path, schedule, "pasted", values={(COVER_SHEET, DATE): evidence})
    result, report, _ = _ingest(tmp_path, path)
    [finding] = report["returns"][0]["findings"]
    assert finding["code"] == "date-not-recognised"
    assert f"a text of {len(evidence)} characters" in finding["message"]
    assert "custody" not in result.output and "custody" not in finding["message"]


@pytest.mark.parametrize("typed, read", [
    (dt.date(1926, 11, 20), "1926-11-20"), (dt.datetime(2162, 11, 20), "2162-11-20"), ("20/11/1926", "1926-11-20"),
])
def test_a_date_outside_the_years_the_cover_takes_is_a_warning(tmp_path, schedule, typed, read):
    """The cover's validation takes 2000 to 2099: a date past it (a date cell, or text read as one) is kept
    as read and named, as a serial number outside them is refused."""
    path = make_return(tmp_path, schedule, "old", values={(COVER_SHEET, DATE): typed})
    result, report, _ = _ingest(tmp_path, path)
    assert result.exit_code == 0, result.output
    [ret] = report["returns"]
    assert ret["date"] == read
    assert (COVER_SHEET, DATE, "date-out-of-range") in _findings(ret)
    [message] = [f["message"] for f in ret["findings"] if f["code"] == "date-out-of-range"]
    assert read in message and "2000" in message and "2099" in message


# --- the cover's limits ----------------------------------------------------------------------------------


def test_a_reference_longer_than_the_cover_allows_is_refused_and_cut_on_the_console(tmp_path, schedule):
    long_ref = "Case 12 " + "x" * 1492
    assert len(long_ref) == 1500 > layout.RETURN_REF_MAX
    path = make_return(tmp_path, schedule, "long", values={(COVER_SHEET, REF): long_ref})
    other = make_return(tmp_path, schedule, "short", ref="R-2")
    result, report, out = _ingest(tmp_path, path, other)
    assert result.exit_code == 1, result.output
    long_ret, short_ret = report["returns"]
    assert long_ret["status"] == "rejected" and short_ret["status"] == "accepted"
    assert _findings(long_ret) == [(COVER_SHEET, REF, "cover-value-too-long")]
    message = long_ret["findings"][0]["message"]
    assert "1,500" in message and str(layout.RETURN_REF_MAX) in message and "x" * 20 not in message, message
    assert long_ret["return_ref"] == long_ref  # the report and the workbook keep what was typed
    lines = [line for line in result.output.splitlines() if line.endswith("answered")]
    assert len(lines) == 2 and max(len(line) for line in lines) <= len(str(path)) + 100, lines
    assert "Case 12 xxx" in lines[0] and "x…  rejected" in lines[0] and "x" * 40 not in result.output
    wb = load_workbook(out, read_only=True)
    refs = [row[3] for row in wb["Returns"].iter_rows(values_only=True) if row and row[0] == str(path)]
    assert refs == [long_ref]


def test_an_inspector_name_longer_than_the_cover_allows_is_refused(tmp_path, schedule):
    name = "J" * (layout.INSPECTOR_MAX + 1)
    path = make_return(tmp_path, schedule, "named", values={(COVER_SHEET, WHO): name})
    result, report, _ = _ingest(tmp_path, path)
    assert result.exit_code == 1
    assert _findings(report["returns"][0]) == [(COVER_SHEET, WHO, "cover-value-too-long")]
    assert f"{layout.INSPECTOR_MAX + 1}" in report["returns"][0]["findings"][0]["message"]


def test_values_at_the_cover_limits_are_accepted(tmp_path, schedule):
    values = {(COVER_SHEET, REF): "R" * layout.RETURN_REF_MAX, (COVER_SHEET, WHO): "W" * layout.INSPECTOR_MAX}
    path = make_return(tmp_path, schedule, "full", values=values)
    result, report, _ = _ingest(tmp_path, path)
    assert result.exit_code == 0, result.output
    assert _findings(report["returns"][0]) == []


def test_long_file_sheet_and_reference_are_cut_on_the_console(tmp_path, schedule):
    """Within the limits, a 100-character reference and a long file name still make a line no wider than
    a terminal can follow: each is cut with an ellipsis, the file keeping its end (its name)."""
    folder = tmp_path / ("d" * 200)
    folder.mkdir()
    path = make_return(folder, schedule, "Kent-R1", values={(COVER_SHEET, REF): "R" * layout.RETURN_REF_MAX,
                                                            (COVER_SHEET, "D40"): "typed"})
    result, report, _ = _ingest(tmp_path, path)
    lines = result.output.splitlines()
    [line] = [line for line in lines if line.endswith("answered")]
    assert len(line) <= SHOWN_FILE + 100 and line.startswith("…"), line
    assert "Kent-R1.xlsx" in line and "R" * 40 not in line, line
    [finding] = [line for line in lines if "Cover!D40: error" in line]
    assert finding.startswith("…") and finding.index("Kent-R1.xlsx: Cover!D40") < SHOWN_FILE, finding


def test_describe_quotes_short_values_with_control_characters_escaped():
    assert checks.describe("20\x1b/11") == repr("20\x1b/11") and "\x1b" not in checks.describe("20\x1b/11")


def test_feedback_on_a_text_date_and_a_pasted_reference(tmp_path, schedule):
    """The copy has the date typed in as a date, and says so; the summary cuts the reference as the console
    does; the consolidated Feedback sheet keeps it whole in a row no taller than a short one needs."""
    long_ref = "Case 12 " + "lorem ipsum " * 124
    path = make_return(tmp_path, schedule, "Kent-long", values={(COVER_SHEET, REF): long_ref,
                                                                (COVER_SHEET, DATE): "20/11/2026"})
    out, feedback = tmp_path / "c.xlsx", tmp_path / "feedback"
    result = run_cli("ingest", str(path), "--out", str(out), "--feedback", str(feedback))
    assert result.exit_code == 1, result.output
    copy = load_workbook(feedback / "Kent-long-feedback.xlsx")
    assert copy[COVER_SHEET][DATE].value == dt.datetime(2026, 11, 20)
    rows = {row[2]: row for row in copy["Feedback"].iter_rows(values_only=True) if row and row[0] == COVER_SHEET}
    assert "typed in as a date" in rows["date-read-from-text"][5]
    assert "lorem ipsum " * 4 not in copy[COVER_SHEET][layout.cover_cell("force")].comment.text
    summary = (feedback / "feedback.txt").read_text(encoding="utf-8")
    assert "lorem ipsum " * 4 not in summary and "Kent, return Case 12 lorem" in summary
    ws = load_workbook(out)["Feedback"]
    [row] = [r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Kent"]
    assert ws.cell(row, 2).value == long_ref.strip()
    assert (ws.row_dimensions[row].height or 15) < 100, ws.row_dimensions[row].height


def test_the_reference_limit_counts_characters_never_more_strictly_than_excel(tmp_path, schedule):
    """🇬🇧 is two characters here and four UTF-16 units to Excel's validation: 50 flags (100 characters) are
    within the limit, so no reference Excel would take is refused."""
    path = make_return(tmp_path, schedule, "flags", values={(COVER_SHEET, REF): "🇬🇧" * 50})
    result, report, _ = _ingest(tmp_path, path)
    assert result.exit_code == 0 and _findings(report["returns"][0]) == []


@pytest.mark.filterwarnings("ignore:Title is more than 31 characters")
def test_a_long_sheet_name_is_cut_where_a_console_line_names_the_place(tmp_path, schedule):
    name = "Added sheet " + "s" * 48  # past Excel's 31 characters, as a file written by a program may be
    path = make_return(tmp_path, schedule, "added", edit=lambda wb: wb.create_sheet(name))
    result, report, _ = _ingest(tmp_path, path)
    [finding] = report["returns"][0]["findings"]
    assert (finding["code"], finding["sheet"]) == ("sheet-added", name)  # the report keeps the name whole
    [line] = [line for line in result.output.splitlines() if "sheet-added" in line]
    assert line.startswith(f"{path}: 'Added sheet sss") and "…': error sheet-added" in line, line
