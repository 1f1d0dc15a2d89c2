"""The consolidated workbook and CSV, written from hand-made returns and read back as an analyst would."""

from __future__ import annotations

import csv
import time
import zipfile
from pathlib import Path
from unittest import mock

import pytest
from openpyxl import load_workbook

from xlschedule import layout
from xlschedule.consolidate import (
    RESPONSE_COLUMNS,
    excel_text,
    write_consolidation,
    write_responses_csv,
)
from xlschedule.model import Finding, Mode, Response, Return, ReturnStatus, Schedule, Severity

SHEETS = ["Summary", "Items", "Responses", "Policy fit", "Returns", "Issues"]
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


def rows_of(ws) -> list[dict]:
    """A header-row sheet as dicts keyed by the header."""
    rows = ws.iter_rows(values_only=True)
    head = next(rows)
    return [dict(zip(head, r)) for r in rows]


def block(ws, title_start: str) -> dict[str, dict]:
    """A Summary block: force -> {header: value}, found by the start of its title."""
    for row in ws.iter_rows(min_col=1, max_col=1):
        if isinstance(row[0].value, str) and row[0].value.startswith(title_start):
            head = [c.value for c in ws[row[0].row + 1]]
            out: dict[str, dict] = {}
            r = row[0].row + 2
            while ws.cell(r, 1).value:
                out[ws.cell(r, 1).value] = {h: c.value for h, c in zip(head, ws[r]) if h}
                r += 1
            return out
    raise AssertionError(f"no block titled {title_start!r}")


def test_written_atomically_with_every_sheet(written, written_wb):
    assert written.exists()
    assert [p.name for p in written.parent.iterdir()] == ["consolidated.xlsx"]  # no temp file left
    assert written_wb.sheetnames == SHEETS


def test_responses_is_a_table_of_accepted_returns_only(written_wb, schedule):
    ws = written_wb["Responses"]
    assert [c.value for c in ws[1]] == list(RESPONSE_COLUMNS)
    table = ws.tables["Responses"]
    assert table.ref == f"A1:J{ws.max_row}"
    assert table.tableStyleInfo.showRowStripes
    assert ws.freeze_panes == "A2"
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
        ws = wb[sheet]
        c = [c.value for c in ws[1]].index(column) + 1
        wanted = ("=cmd|' /C calc'!A0", "@inspector")
        hits = [ws.cell(r, c) for r in range(2, ws.max_row + 1) if ws.cell(r, c).value in wanted]
        assert hits and all(h.data_type == "s" for h in hits), (sheet, column)
    issues = wb["Issues"]
    assert any(c.value == "=1+1 is not one of the options." and c.data_type == "s" for (c,) in
               issues.iter_rows(min_col=6, max_col=6))
    with zipfile.ZipFile(written) as z:
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in sheets  # not one formula in the whole workbook


def test_summary_aggregates_over_a_forces_returns(written_wb, schedule):
    ws = written_wb["Summary"]
    oa, step1, step2, step3 = (s.label for s in schedule.sections[:4])
    scale = block(ws, schedule.modes[Mode.SCALE].title)
    kent = scale["Kent"]
    assert kent["Returns"] == 2
    assert kent[oa] == pytest.approx(3)  # 4 and 2
    assert kent[step1] == pytest.approx(3)  # N/A and 3: N/A excluded, not counted as 0
    assert kent[step2] == pytest.approx(5)  # 5 and unanswered
    assert kent[step3] is None  # nothing to average is blank, not 0
    assert kent["Completion"] == pytest.approx((5 + 3) / (2 * 118))
    assert "Essex" not in scale
    yesno = block(ws, schedule.modes[Mode.YESNO].title)
    essex = yesno["Essex"]
    assert essex["Returns"] == 2  # the rejected one does not count
    assert essex[oa] == pytest.approx(0.5)  # Yes and No
    assert essex[step1] == pytest.approx(1.0)  # Yes and N/A: N/A is not a No
    assert essex[step2] is None  # all N/A
    narrative = block(ws, schedule.modes[Mode.NARRATIVE].title)
    assert narrative["Kent"][oa] == 1 and narrative["Kent"][step1] == 0
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert len(rules) == 3 and all(r.type == "colorScale" for r in rules)


def test_items_sheet_aggregates_by_item(written_wb, schedule):
    ws = written_wb["Items"]
    head = [c.value for c in ws[2]]
    assert head[:3] == ["Section", "Ref", "Item"]
    assert head[3:] == ["Kent", "Essex", "Kent"]  # scale band, yes/no band, narrative band
    assert ws.cell(1, 4).value.startswith(schedule.modes[Mode.SCALE].title)
    by_ref = {row[1]: row for row in ws.iter_rows(min_row=3, values_only=True)}
    assert len(by_ref) == schedule.item_count + len(schedule.sections)
    assert by_ref["1.1"][2] == schedule.steps[0].items[0].text
    assert by_ref["1.1"][3] == pytest.approx(3)  # 2 and 4
    assert by_ref["1.2"][3] is None  # N/A only
    assert by_ref["1.1"][5] == 1  # narrative: one return wrote evidence


def test_policy_fit_crosstab(written_wb, schedule):
    ws = written_wb["Policy fit"]
    title = f"{schedule.overall.label}: {schedule.modes[Mode.SCALE].title}"
    (start,) = [c.row for (c,) in ws.iter_rows(min_col=1, max_col=1) if c.value == title]
    head = [c.value for c in ws[start + 1]][:7]
    assert head == ["Judgment score", "Yes", "Partly", "No", "N/A", "Not answered", "Total"]
    table = {ws.cell(r, 1).value: [ws.cell(r, c).value for c in range(2, 8)] for r in range(start + 2, start + 9)}
    assert list(table) == [1, 2, 3, 4, 5, "N/A", "Not answered"]
    assert table[4] == [0, 0, 1, 0, 0, 1]  # scored 4, policy No
    assert table[2] == [1, 0, 0, 0, 0, 1]
    yesno_title = f"{schedule.overall.label}: {schedule.modes[Mode.YESNO].title}"
    assert yesno_title in [c.value for c in ws[start]]


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
    assert [c.value for c in wb["Issues"][1]] == ["File", "Sheet", "Cell", "Code", "Severity", "Message"]
    assert [(i["File"], i["Code"]) for i in issues] == [
        ("in/essex-2.xlsx", "unanswered"), ("in/essex-bad.xlsx", "invalid-score"),
        ("in/essex-bad.xlsx", "missing-inspector"),
    ]


def test_summary_has_a_chart(written, written_wb):
    wb = written_wb
    assert wb["Summary"]._charts
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
    assert wb.sheetnames == SHEETS
    assert wb["Responses"].tables["Responses"].ref == "A1:J2"
    assert len(rows_of(wb["Returns"])) == 1


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
    evidence = {r["Evidence"] for r in rows}
    assert set(TRICKY) <= evidence  # raw text, control character included
    assert "x" * 32_767 in evidence
    kent_a = {r["Ref"]: r for r in rows if r["Source file"] == "in/kent-a.xlsx"}
    assert kent_a["OA.J"]["Score"] == "4" and kent_a["1.J"]["Score"] == "N/A" and kent_a["1.3"]["Score"] == ""
    assert kent_a["OA.J"]["Return"] == "=cmd|' /C calc'!A0"
