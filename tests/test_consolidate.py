"""The consolidated workbook and CSV, written from hand-made returns and read back as an analyst would."""

from __future__ import annotations

import csv
import errno
import io
import itertools
import os
import re
import subprocess
import time
import zipfile
from datetime import date, datetime
from pathlib import Path
from unittest import mock

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from xlschedule import layout
from xlschedule.consolidate import (
    RESPONSE_COLUMNS,
    excel_text,
    write_consolidation,
    write_responses_csv,
)
from xlschedule.model import Finding, Mode, Response, Return, ReturnStatus, Schedule, Severity

from conftest import ROOT, run_cli
from libreoffice import SOFFICE, require_libreoffice

SHEETS = ["Cover", "Contents", "Notes", "Summary", "Judgments (scale)", "Judgments (yes-no)", "Judgments (written)",
          "Charts", "Items (scale)", "Items (yes-no)", "Items (written)", "Policy fit", "Policy by force", "Mismatches",
          "Responses", "Returns", "Issues"]
TRICKY = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\x07bell"]


def make_return(
    schedule: Schedule, file: str, force: str, mode: Mode, return_ref: str | None,
    scores: dict[str, str] | None = None, policy: dict[str, str] | None = None,
    evidence: dict[str, str] | None = None, status: ReturnStatus = ReturnStatus.ACCEPTED,
    findings: list[Finding] | None = None, inspector: str = "A. Inspector",
) -> Return:
    """A return as the reader would give it: a response for every judgment and item, in sheet order."""
    scores, policy, evidence = scores or {}, policy or {}, evidence or {}
    responses: list[Response] = []
    for section in schedule.sections:
        cells: dict[str, dict[str, str]] = {}
        for c in layout.section_inputs(section, mode):
            cells.setdefault(c.ref, {})[c.kind] = c.cell
        for ref, kinds in cells.items():
            responses.append(Response(
                section=section.ref, ref=ref, sheet=section.sheet,
                score=scores.get(ref), policy=policy.get(ref), evidence=evidence.get(ref),
                score_cell=kinds.get("score"), policy_cell=kinds.get("policy"), evidence_cell=kinds["evidence"],
            ))
    return Return(
        file=file, sha256=f"{abs(hash(file)):064x}"[:64], force=force, mode=mode,
        schedule_version=schedule.schedule.version, return_ref=return_ref, inspector=inspector, date="2026-11-26",
        responses=responses, findings=findings or [], status=status,
    )


def sample_returns(schedule: Schedule) -> list[Return]:
    """Kent: two scale returns and one narrative; Essex: two yes/no returns and one rejected."""
    kent_a = make_return(
        schedule, "in/kent-a.xlsx", "Kent", Mode.SCALE, "=cmd|' /C calc'!A0",
        scores={"OA.J": "4", "1.J": "N/A", "2.J": "5", "1.1": "2", "1.2": "N/A"},
        policy={"OA.J": "No", "1.J": "N/A"},
        evidence={f"1.{i + 1}": text for i, text in enumerate(TRICKY)} | {"1.9": "x" * 32_767},
        inspector="@inspector",
    )
    kent_b = make_return(
        schedule, "in/kent-b.xlsx", "Kent", Mode.SCALE, "K-002",
        scores={"OA.J": "2", "1.J": "3", "1.1": "4"}, policy={"OA.J": "Yes", "1.J": "Partly"},
    )
    kent_n = make_return(
        schedule, "in/kent-n.xlsx", "Kent", Mode.NARRATIVE, "K-N1",
        evidence={"OA.J": "Summary written.", "1.1": "Seen."},
    )
    essex_1 = make_return(
        schedule, "in/essex-1.xlsx", "Essex", Mode.YESNO, "E-1",
        scores={"OA.J": "Yes", "1.J": "Yes", "2.J": "N/A"}, policy={"OA.J": "Partly"},
    )
    essex_2 = make_return(
        schedule, "in/essex-2.xlsx", "Essex", Mode.YESNO, "E-2",
        scores={"OA.J": "No", "1.J": "N/A", "2.J": "N/A"},
        findings=[Finding(file="in/essex-2.xlsx", code="unanswered", severity=Severity.WARNING,
                          message="115 of 118 unanswered.", sheet="Overall", cell="C9")],
    )
    essex_bad = make_return(
        schedule, "in/essex-bad.xlsx", "Essex", Mode.YESNO, "E-3", scores={"OA.J": "Yes"},
        evidence={"OA.J": "must not appear"}, status=ReturnStatus.REJECTED,
        findings=[
            Finding(file="in/essex-bad.xlsx", code="invalid-score", severity=Severity.ERROR,
                    message="=1+1 is not one of the options.", sheet="Overall", cell="C6"),
            Finding(file="in/essex-bad.xlsx", code="missing-inspector", severity=Severity.WARNING,
                    message="No inspector named on the cover.", sheet="Cover", cell="B10"),
        ],
    )
    # Deliberately out of order: the writer sorts.
    return [essex_bad, kent_b, essex_2, kent_n, kent_a, essex_1]


@pytest.fixture()
def returns(schedule) -> list[Return]:
    return sample_returns(schedule)


@pytest.fixture(scope="module")
def written(tmp_path_factory, schedule) -> Path:
    """The consolidation of sample_returns, written once for the module; tests only read it."""
    path = tmp_path_factory.mktemp("written") / "out" / "consolidated.xlsx"
    path.parent.mkdir()
    assert not path.exists()
    write_consolidation(schedule, sample_returns(schedule), path)
    return path


@pytest.fixture(scope="module")
def written_wb(written):
    """`written` as openpyxl loads it, loaded once: tests read it and must not change it."""
    return load_workbook(written)


def table_of(ws, name: str | None = None):
    """The Excel table on a sheet (the only one, or the one named)."""
    tables = list(ws.tables.values())
    return ws.tables[name] if name else tables[0]


def rows_of(ws, name: str | None = None) -> list[dict]:
    """A sheet's table as dicts keyed by its header, read from where the table says it is."""
    ref = table_of(ws, name).ref
    rows = list(ws[ref])
    head = [c.value for c in rows[0]]
    return [dict(zip(head, (c.value for c in r))) for r in rows[1:]]


def cells_of(ws, name: str | None = None) -> list[dict]:
    """Like rows_of, but the cells themselves, to read number formats."""
    rows = list(ws[table_of(ws, name).ref])
    head = [c.value for c in rows[0]]
    return [dict(zip(head, r)) for r in rows[1:]]


def by_first(ws) -> dict:
    return {next(iter(r.values())): r for r in rows_of(ws)}


def test_written_atomically_with_every_sheet(written, written_wb):
    assert written.exists()
    assert [p.name for p in written.parent.iterdir()] == ["consolidated.xlsx"]  # no temp file left
    assert written_wb.sheetnames == SHEETS


def test_responses_is_a_table_of_accepted_returns_only(written_wb, schedule):
    ws = written_wb["Responses"]
    table = table_of(ws, "Responses")
    head = int(table.ref.split(":")[0][1:])
    assert [c.value for c in ws[head]] == list(RESPONSE_COLUMNS)
    assert table.ref == f"A{head}:{get_column_letter(len(RESPONSE_COLUMNS))}{ws.max_row}"
    assert table.tableStyleInfo.showRowStripes
    assert ws.freeze_panes == f"A{head + 1}"
    rows = rows_of(ws)
    per_return = schedule.item_count + len(schedule.sections)
    assert len(rows) == 5 * per_return
    assert not [r for r in rows if r["Source file"] == "in/essex-bad.xlsx"]
    assert not [r for r in rows if r["Evidence"] == "must not appear"]
    # Sorted: forces alphabetically, then return reference.
    order = list(dict.fromkeys((r["Force"], r["Return"]) for r in rows))
    assert order == [("Essex", "E-1"), ("Essex", "E-2"), ("Kent", "=cmd|' /C calc'!A0"), ("Kent", "K-002"),
                     ("Kent", "K-N1")]


def test_response_values_types_and_cells(written_wb, schedule):
    rows = rows_of(written_wb["Responses"])
    kent_a = {r["Ref"]: r for r in rows if r["Source file"] == "in/kent-a.xlsx"}
    assert kent_a["OA.J"]["Score"] == 4 and kent_a["OA.J"]["Policy fit"] == "No"
    assert kent_a["1.J"]["Score"] == "N/A"
    assert kent_a["1.3"]["Score"] is None
    assert kent_a["1.1"]["Cell"] == f"C{layout.item_row(0)}"
    assert kent_a["OA.J"]["Cell"] == f"C{layout.judgment_row(schedule.overall)}"
    assert kent_a["1.1"]["Section"] == schedule.steps[0].label
    assert kent_a["1.1"]["Item"] == schedule.steps[0].items[0].text
    assert kent_a["1.J"]["Item"] == "Judgment: " + schedule.steps[0].indicator
    narrative = {r["Ref"]: r for r in rows if r["Source file"] == "in/kent-n.xlsx"}
    assert narrative["1.1"]["Cell"] == f"{layout.columns(Mode.NARRATIVE).evidence}{layout.item_row(0)}"
    assert narrative["1.1"]["Score"] is None
    essex = {r["Ref"]: r for r in rows if r["Source file"] == "in/essex-1.xlsx"}
    assert essex["OA.J"]["Score"] == "Yes"


def test_return_text_comes_back_as_the_same_plain_string(written, written_wb):
    wb = written_wb
    ws = wb["Responses"]
    col = RESPONSE_COLUMNS.index("Evidence") + 1
    cells = {c.value: c for (c,) in ws.iter_rows(min_row=2, min_col=col, max_col=col) if c.value}
    for text in TRICKY:
        stored = excel_text(text)
        assert stored in cells or text in cells, text
        cell = cells.get(stored) or cells[text]
        assert cell.data_type == "s"
        # openpyxl 3.1 hands back Excel's escape as written; either way the text is whole.
        assert cell.value in (text, stored)
    assert excel_text("\x07bell") == "_x0007_bell"
    assert "x" * 32_767 in cells  # nothing capped
    for sheet, column in (("Responses", "Return"), ("Returns", "Return reference"), ("Returns", "Inspector")):
        wanted = ("=cmd|' /C calc'!A0", "@inspector")
        hits = [r[column] for r in cells_of(wb[sheet]) if r[column].value in wanted]
        assert hits and all(h.data_type == "s" for h in hits), (sheet, column)
    issues = wb["Issues"]
    assert any(r["Message"].value == "=1+1 is not one of the options." and r["Message"].data_type == "s"
               for r in cells_of(issues))
    with zipfile.ZipFile(written) as z:
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in sheets  # not one formula in the whole workbook


def test_judgments_aggregate_over_a_forces_returns(written_wb, schedule):
    oa, step1, step2, step3 = (s.label for s in schedule.sections[:4])
    scale = by_first(written_wb["Judgments (scale)"])
    kent = scale["Kent"]
    assert kent["Returns"] == 2
    assert kent[oa] == pytest.approx(3)  # 4 and 2
    assert kent[step1] == pytest.approx(3)  # N/A and 3: N/A excluded, not counted as 0
    assert kent[step2] == pytest.approx(5)  # 5 and unanswered
    assert kent[step3] == "[x]"  # nothing answered: not available, not 0
    assert "Essex" not in scale
    yesno = by_first(written_wb["Judgments (yes-no)"])
    essex = yesno["Essex"]
    assert essex["Returns"] == 2  # the rejected one does not count here
    assert essex[oa] == pytest.approx(0.5)  # Yes and No
    assert essex[step1] == pytest.approx(1.0)  # Yes and N/A: N/A is not a No
    assert essex[step2] == "[z]"  # all N/A: not applicable
    narrative = by_first(written_wb["Judgments (written)"])
    assert narrative["Kent"][oa] == 1 and narrative["Kent"][step1] == 0


def test_every_figure_shows_its_n_and_stays_a_number(written_wb, schedule):
    oa, step1, step2 = (s.label for s in schedule.sections[:3])
    kent = {r["Force"].value: r for r in cells_of(written_wb["Judgments (scale)"])}["Kent"]
    assert kent[oa].data_type == "n" and kent[oa].number_format == '0.0" (n=2)"'
    assert kent[step1].number_format == '0.0" (n=1)"'  # the N/A is not one of the answers it rests on
    essex = {r["Force"].value: r for r in cells_of(written_wb["Judgments (yes-no)"])}["Essex"]
    assert essex[oa].number_format == '0%" (n=2)"'
    kent_n = {r["Force"].value: r for r in cells_of(written_wb["Judgments (written)"])}["Kent"]
    assert kent_n[oa].number_format == '0" of 1"'
    summary = {r["Force"].value: r for r in cells_of(written_wb["Summary"])}
    assert summary["Kent"]["Answered"].number_format == '0%" of 354 cells"'


def test_every_force_of_the_schedule_is_on_the_summary(written_wb, schedule):
    rows = by_first(written_wb["Summary"])
    assert list(rows)[:len(schedule.forces.names)] == schedule.forces.names
    essex = rows["Essex"]  # its rejected return is seen, not hidden behind "2 returns, 100%"
    assert (essex["Returns received"], essex["Accepted"], essex["Rejected"], essex["Duplicate"]) == (3, 2, 1, 0)
    assert essex["Incomplete"] == 2 and essex["Position"] == "Returned"
    assert essex["Latest date of audit"].date().isoformat() == "2026-11-26"
    kent = rows["Kent"]
    assert (kent["Returns received"], kent["Accepted"], kent["Incomplete"]) == (3, 3, 3)
    assert kent["Answered"] == pytest.approx((5 + 3 + 2) / (2 * 118 + 118))
    absent = rows[schedule.forces.names[0]]
    assert absent["Position"] == "No return received" and absent["Returns received"] == 0
    assert absent["Answered"] == absent["Latest date of audit"] == absent["Mode"] == "[x]"


def test_a_force_whose_every_return_was_rejected_shows_why(tmp_path, schedule, returns):
    path = tmp_path / "c.xlsx"
    write_consolidation(schedule, [r for r in returns if r.status is ReturnStatus.REJECTED], path)
    rows = by_first(load_workbook(path)["Summary"])
    assert rows["Essex"]["Position"] == "None accepted" and rows["Essex"]["Rejected"] == 1


def test_items_sheets_aggregate_by_item(written_wb, schedule):
    ws = written_wb["Items (scale)"]
    rows = rows_of(ws)
    assert list(rows[0]) == ["Section", "Ref", "Item", "Kent"]
    by_ref = {r["Ref"]: r for r in rows}
    assert len(by_ref) == schedule.item_count + len(schedule.sections)
    assert by_ref["1.1"]["Item"] == schedule.steps[0].items[0].text
    assert by_ref["1.1"]["Kent"] == pytest.approx(3)  # 2 and 4
    assert by_ref["1.2"]["Kent"] == "[x]"  # N/A and unanswered: nothing applies is not shown, nothing was said
    assert {r["Ref"]: r for r in rows_of(written_wb["Items (written)"])}["1.1"]["Kent"] == 1
    assert list(rows_of(written_wb["Items (yes-no)"])[0]) == ["Section", "Ref", "Item", "Essex"]


def test_policy_fit_shares_by_section(written_wb, schedule):
    rows = by_first(written_wb["Policy fit"])
    oa = rows[schedule.overall.label]
    # Overall: No (Kent A), Yes (Kent B), Partly (Essex 1); Essex 2 unanswered.
    assert (oa["Yes"], oa["Partly"], oa["No"], oa["N/A"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3, 0))
    assert (oa["Answered (n)"], oa["Not answered"]) == (3, 1)
    step3 = rows[schedule.steps[2].label]
    assert step3["Yes"] == "[x]" and step3["Answered (n)"] == 0


def test_policy_by_force_is_the_share_not_conforming(written_wb, schedule):
    cells = {r["Force"].value: r for r in cells_of(written_wb["Policy by force"])}
    oa, step1 = schedule.overall.label, schedule.steps[0].label
    assert cells["Kent"][oa].value == pytest.approx(0.5)  # No and Yes
    assert cells["Kent"][oa].number_format == '0%" (n=2)"'
    assert cells["Kent"][step1].value == pytest.approx(1.0)  # Partly (the N/A left out)
    assert cells["Essex"][oa].value == pytest.approx(1.0)  # Partly
    assert cells["Essex"][step1].value == "[x]"


def test_mismatches_list_high_with_no_and_low_with_yes(written_wb):
    rows = rows_of(written_wb["Mismatches"])
    got = [(r["Force"], r["Ref"], r["Score"], r["Policy fit"], r["Mismatch"], r["Source file"]) for r in rows]
    assert got == [
        ("Kent", "OA.J", 4, "No", "High score, policy fit No", "in/kent-a.xlsx"),
        ("Kent", "OA.J", 2, "Yes", "Low score, policy fit Yes", "in/kent-b.xlsx"),
    ]


def test_returns_and_issues_list_every_return(written_wb):
    wb = written_wb
    returns = rows_of(wb["Returns"])
    assert [r["File"] for r in returns] == [
        "in/essex-1.xlsx", "in/essex-2.xlsx", "in/essex-bad.xlsx", "in/kent-a.xlsx", "in/kent-b.xlsx",
        "in/kent-n.xlsx",
    ]
    bad = returns[2]
    assert bad["Status"] == "rejected" and bad["Errors"] == 1 and bad["Warnings"] == 1
    assert returns[0]["Mode"] == "yesno" and returns[0]["Answered"] == 3
    assert len(returns[0]["SHA-256"]) == 64
    issues = rows_of(wb["Issues"])
    assert list(issues[0]) == ["File", "Sheet", "Cell", "Code", "Severity", "Message"]
    assert [(i["File"], i["Code"]) for i in issues] == [
        ("in/essex-2.xlsx", "unanswered"), ("in/essex-bad.xlsx", "invalid-score"),
        ("in/essex-bad.xlsx", "missing-inspector"),
    ]


def test_charts_answer_a_question_each(written, written_wb, schedule):
    ws = written_wb["Charts"]
    charts = ws._charts
    assert len(charts) == 4  # overall by force and step profile, for each scored mode
    assert all(len(c.series) == 1 and c.type == "bar" for c in charts)
    scale = charts[0]
    assert (scale.y_axis.scaling.min, scale.y_axis.scaling.max) == (1, 5)
    assert (charts[2].y_axis.scaling.min, charts[2].y_axis.scaling.max) == (0, 1)
    overall = rows_of(ws, "Chart_overall_scale")
    assert [r["Force"] for r in overall] == ["Kent"]
    steps = rows_of(ws, "Chart_steps_yesno")
    assert [r["Section"] for r in steps] == [s.label for s in schedule.sections]
    with zipfile.ZipFile(written) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())


def test_same_returns_give_the_same_bytes(tmp_path, schedule, returns, written):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_consolidation(schedule, returns, a)
    # A year later by the clock that zip entries take their times from: a time taken at writing would differ.
    later = time.time() + 366 * 24 * 3600
    with mock.patch("time.time", return_value=later), mock.patch("time.time_ns", return_value=int(later * 1e9)):
        write_consolidation(schedule, list(reversed(returns)), b)
    assert a.read_bytes() == b.read_bytes() == written.read_bytes()
    # and the times recorded inside are the fixed ones, never the time of writing
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2  # created and modified


def test_no_accepted_returns_still_writes_a_workbook(tmp_path, schedule, returns):
    path = tmp_path / "empty.xlsx"
    rejected = [r for r in returns if r.status is ReturnStatus.REJECTED]
    write_consolidation(schedule, rejected, path)
    wb = load_workbook(path)
    assert wb.sheetnames == [n for n in SHEETS if not n.startswith(("Judgments", "Items", "Charts"))]
    responses = table_of(wb["Responses"], "Responses")
    assert responses.ref.endswith(str(int(responses.ref.split(":")[0][1:]) + 1))  # one empty body row
    assert len(rows_of(wb["Returns"])) == 1
    assert len(rows_of(wb["Summary"])) == len(schedule.forces.names)


def test_responses_csv_round_trips(tmp_path, schedule, returns):
    path = tmp_path / "responses.csv"
    assert not path.exists()
    write_responses_csv(schedule, returns, path)
    assert [p.name for p in tmp_path.iterdir()] == ["responses.csv"]
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == list(RESPONSE_COLUMNS)
        rows = list(reader)
    assert len(rows) == 5 * (schedule.item_count + len(schedule.sections))
    evidence = {undo_csv(r["Evidence"]) for r in rows}
    assert set(TRICKY) <= evidence  # the exact text, control character included, once its ' is taken off
    assert "x" * 32_767 in evidence
    kent_a = {r["Ref"]: r for r in rows if r["Source file"] == "in/kent-a.xlsx"}
    assert kent_a["OA.J"]["Score"] == "4" and kent_a["1.J"]["Score"] == "N/A" and kent_a["1.3"]["Score"] == ""
    assert kent_a["OA.J"]["Return"] == "'=cmd|' /C calc'!A0"


# --- the CSV opened in a spreadsheet ---------------------------------------------------------------

#: What a spreadsheet may take for the start of a formula at the start of a field (OWASP's list, their
#: full-width forms included): the CSV puts a `'` before such text, and before text that already starts
#: with `'`s and then one of them, so taking one `'` off gives the text back whatever it was.
FORMULA_START = "=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20"
INJECTED = ['=HYPERLINK("http://x","y")', "+44 7700 900123", "-see above", "@Sgt Smith", "\tindented", "\rcr first",
            "=1+1", "-2", "+3", "\uff1d1+1", "'=already quoted", "''=twice", "'plain quote", "plain", "a=b"]


def inert(text: str) -> str:
    """What the CSV holds for `text`."""
    return "'" + text if re.match(f"'*[{re.escape(FORMULA_START)}]", text) else text


def undo_csv(field: str) -> str:
    """The exact text of a CSV field, as the README tells an analyst to get it."""
    return field[1:] if re.match(f"'+[{re.escape(FORMULA_START)}]", field) else field


def injected_refs(schedule: Schedule) -> list[str]:
    """The refs that hold INJECTED's texts as evidence, one each."""
    refs = [r.ref for r in make_return(schedule, "x", "Kent", Mode.SCALE, None).responses]
    return refs[:len(INJECTED)]


def injected_returns(schedule: Schedule) -> list[Return]:
    evidence = dict(zip(injected_refs(schedule), INJECTED))
    return [make_return(schedule, "in/=cmd.xlsx", "Kent", Mode.SCALE, "@ref", evidence=evidence,
                        scores={"1.1": "2"})]


def test_no_csv_field_starts_a_formula_and_its_text_comes_back(tmp_path, schedule):
    path = tmp_path / "responses.csv"
    write_responses_csv(schedule, injected_returns(schedule), path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        assert not any(field[:1] in FORMULA_START and field for field in row.values()), row
    kent = {r["Ref"]: r for r in rows}
    fields = [kent[ref]["Evidence"] for ref in injected_refs(schedule)]
    assert [undo_csv(field) for field in fields] == INJECTED
    assert fields[0] == "'" + INJECTED[0]
    assert fields[10:14] == ["''=already quoted", "'''=twice", "'plain quote", "plain"]
    assert kent["1.1"]["Return"] == "'@ref" and kent["1.1"]["Source file"] == "in/=cmd.xlsx"
    assert kent["1.1"]["Score"] == "2"  # a number stays a number



def test_libreoffice_reads_no_csv_field_as_a_formula(tmp_path, schedule):
    """The CSV opened as LibreOffice opens it (its CSV filter, default options but UTF-8, as Excel reads a
    BOM): every cell is text, the evidence after its `'`, never a formula."""
    require_libreoffice()
    path = tmp_path / "responses.csv"
    write_responses_csv(schedule, injected_returns(schedule), path)
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--infilter=Text - txt - csv (StarCalc):44,34,76,1", "--convert-to", "xlsx",
                    "--outdir", str(tmp_path / "lo"), str(path)], check=True, capture_output=True, timeout=600)
    ws = load_workbook(tmp_path / "lo" / "responses.xlsx").active
    header = [c.value for c in ws[1]]
    evidence, ret = header.index("Evidence") + 1, header.index("Return") + 1
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    seen = {}
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(r, evidence)
        if cell.value is not None:
            assert cell.data_type == "s", cell.coordinate
            seen[cell.value] = cell
        assert ws.cell(r, ret).value == "'@ref"
    # LibreOffice reads a lone CR as a line break, as Excel does; that text is the CSV's, the ' kept.
    expected = {inert(t).replace("\r", "\n") for t in INJECTED}
    assert set(seen) == expected


# --- a full disk ---------------------------------------------------------------------------------------


class FullDisk(io.RawIOBase):
    """A file on a disk that fills after `room` bytes: writes past it fail as the OS fails them."""

    def __init__(self, fh, room: int) -> None:
        self.fh, self.room = fh, room

    def write(self, data) -> int:
        if self.fh.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def seekable(self) -> bool:
        return True

    def seek(self, *args) -> int:
        return self.fh.seek(*args)

    def tell(self) -> int:
        return self.fh.tell()


@pytest.mark.parametrize("full", ["out", "csv"])
def test_a_full_disk_is_blamed_on_the_file_that_was_being_written(tmp_path, monkeypatch, full):
    """The workbook and the CSV are written in one pass: a failure to write one names that one."""
    import contextlib

    from xlschedule import packager

    paths = {"out": tmp_path / "out" / "consolidated.xlsx", "csv": tmp_path / "csv" / "responses.csv"}
    for path in paths.values():
        path.parent.mkdir()
    atomic = packager.atomic

    @contextlib.contextmanager
    def on_a_full_disk(path):
        with atomic(path) as fh:
            yield FullDisk(fh, 4_096) if path == paths[full] else fh

    monkeypatch.setattr(packager, "atomic", on_a_full_disk)
    result = run_cli("ingest", str(ROOT / "samples"), "--out", str(paths["out"]), "--csv", str(paths["csv"]),
                     "--db", str(tmp_path / "ledger.sqlite"))
    assert result.exit_code == 2, result.output
    other = paths["csv" if full == "out" else "out"]
    assert f"{paths[full]}: cannot write (No space left on device)" in result.output
    assert str(other) not in result.output
    assert not paths[full].exists() and [p.name for p in tmp_path.rglob("*.tmp")] == []


def _reads_from(cell) -> str:
    """Where a cell's text stands: "right" (at its right edge), "right-in" (right, indented), "centre", "left"."""
    how = cell.alignment.horizontal
    if how is None or how == "general":  # Excel's general: figures and dates right, text left
        how = "right" if isinstance(cell.value, int | float | date | datetime) and not isinstance(
            cell.value, bool) else "left"
    if how == "right" and cell.alignment.indent and not isinstance(cell.value, date | datetime):
        return "right-in"  # LibreOffice prints a date at the right edge whatever its indent
    return {"center": "centre"}.get(how, how)


def test_no_figure_prints_run_together_with_the_text_beside_it(written_wb):
    """A figure or date at the right edge of its cell, beside text at the left edge of the next, prints as one
    word ("2026-11-06Written evidence only", "5Partly", "2missing-inspector"): every such pair on every sheet
    has an indent between them, or is centred."""
    touching = []
    for ws in written_wb.worksheets:
        for row in ws.iter_rows():
            for a, b in itertools.pairwise(row):
                if a.value is None or b.value is None:
                    continue
                if _reads_from(a) == "right" and _reads_from(b) == "left" and not b.alignment.indent:
                    touching.append(f"{ws.title}!{a.coordinate}:{b.coordinate}")
    assert touching == []
