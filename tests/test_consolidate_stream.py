"""The consolidation written from a stream of response rows (as the ledger gives them), with nothing held:
the same workbook and CSV as from the returns' own responses, the long Responses table streamed into the
package intact, valid and readable by a real client."""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from test_schemas import assert_valid, require_schemas
from xlschedule.consolidate import RESPONSE_COLUMNS, stream_rows, write_outputs
from xlschedule.consolidation.kit import excel_text, word_lines
from xlschedule.consolidation.run import Run
from xlschedule.model import Finding, Return, Schedule, Severity
from xlschedule.report import Report

import ooxml
from libreoffice import SOFFICE, require_libreoffice
from test_consolidate import TRICKY, inert, sample_returns, undo_csv

#: Text a return may carry that must come back exactly, or as Excel's own escape of it.
HOSTILE = [*TRICKY, "<b>&amp;</b> & <", "line one\r\nline two", "literal _x000D_ stays", "tab\tand\nnewline",
           " leading and trailing ", "\x01\x1f control", "café ∑ 😀", ""]


def stripped(returns: list[Return]) -> list[Return]:
    """The returns as a ledger gives them back: counts kept, responses not held."""
    return [r.model_copy(update={"responses": [], "kept_counts": (r.answered, r.total)})
            for r in returns]


class Counted:
    """A `rows` callable that counts how often it is asked for a fresh stream."""

    def __init__(self, rows: list[tuple]) -> None:
        self.rows, self.calls = rows, 0

    def __call__(self):
        self.calls += 1
        return iter(self.rows)


def write(tmp: Path, schedule: Schedule, returns: list[Return], rows=None) -> tuple[bytes, bytes]:
    tmp.mkdir(parents=True, exist_ok=True)
    out, csv_path = tmp / "consolidated.xlsx", tmp / "responses.csv"
    write_outputs(schedule, Report(returns=returns), out, csv_path=csv_path, rows=rows)
    return out.read_bytes(), csv_path.read_bytes()


def test_a_stream_of_rows_gives_the_same_workbook_and_csv_as_the_responses(tmp_path, schedule):
    returns = sample_returns(schedule)
    held = write(tmp_path / "held", schedule, returns)
    rows = Counted(list(Run(schedule, returns).held_rows()))
    streamed = write(tmp_path / "streamed", schedule, stripped(returns), rows)
    assert streamed == held  # every figure, chart, count and row, byte for byte
    assert 1 <= rows.calls <= 2


def test_figures_come_from_the_rows_not_the_returns(tmp_path, schedule):
    """Drop one return's rows from the stream: its force's figures change, though its Return is unchanged."""
    returns = sample_returns(schedule)
    rows = list(Run(schedule, returns).held_rows())
    without = [r for r in rows if not (r[8] == "in/kent-b.xlsx" and r[3] == "OA.J")]
    data, _ = write(tmp_path, schedule, stripped(returns), Counted(without))
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Judgments (scale)"]
    kent = next(row for row in ws.iter_rows(values_only=True) if row[0] == "Kent")
    kent_a = next(r[5] for r in rows if r[8] == "in/kent-a.xlsx" and r[3] == "OA.J")
    kent_b = next(r[5] for r in rows if r[8] == "in/kent-b.xlsx" and r[3] == "OA.J")
    assert kent_a != kent_b
    assert kent[2] == kent_a  # kent-b's judgment left the stream, so only kent-a's is averaged


def hostile_rows(n: int) -> list[tuple]:
    """`n` rows for an unknown file (no figures), cycling through hostile text in every text column."""
    rows = []
    for k in range(n):
        text = HOSTILE[k % len(HOSTILE)]
        rows.append((f"Force {k % 7}", text or None, "Section", f"9.{k % 13}", text, k % 6 or "N/A",
                     None if k % 3 else "Yes", text * (1 + k % 4) or None, f"in/{text}.xlsx", f"C{k}",
                     "2026.1", "0.1", "reworded" if k % 5 else "current", text or None))
    return rows


@pytest.fixture(scope="module")
def long(tmp_path_factory, schedule) -> tuple[Path, Path, list[tuple]]:
    """A consolidation whose Responses table is longer than one batch of streamed rows."""
    rows = hostile_rows(4_321)
    tmp = tmp_path_factory.mktemp("long")
    write(tmp, schedule, [], Counted(rows))
    return tmp / "consolidated.xlsx", tmp / "responses.csv", rows


def test_every_streamed_row_is_in_the_table_as_inert_text(long):
    path, _csv, rows = long
    ws = load_workbook(path)["Responses"]
    table = ws.tables["Responses"]
    first, last = table.ref.split(":")
    head = int(first[1:])
    assert (first[0], last) == ("A", f"{get_column_letter(len(RESPONSE_COLUMNS))}{head + len(rows)}")
    assert ws.max_row == head + len(rows)  # the dimension
    assert [c.value for c in ws[head]] == list(RESPONSE_COLUMNS)
    # one pass over the rows: ws[k] measures the whole sheet's width each time it is asked for a row
    table_rows = ws.iter_rows(min_row=head + 1, max_row=head + len(rows), max_col=len(RESPONSE_COLUMNS))
    for k, (row, cells) in enumerate(zip(rows, table_rows, strict=True), start=head + 1):
        for cell, value in zip(cells, row, strict=True):
            if isinstance(value, str):
                # openpyxl decodes Excel's _xHHHH_ escape in shared strings, not inline: either way, whole.
                assert cell.data_type == "s" and cell.value in (value, excel_text(value)), cell.coordinate
            else:
                assert cell.value == value, cell.coordinate
            assert cell.alignment.vertical == "top"
        assert cells[7].alignment.wrap_text  # evidence wraps
        tall = "\n" in (row[7] or "") or len(row[7] or "") > 80
        assert (ws.row_dimensions[k].height or 0) > 15 if tall else ws.row_dimensions[k].height is None


def test_the_csv_is_written_in_the_same_stream(long):
    _path, csv_path, rows = long
    data = csv_path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    got = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert got[0] == list(RESPONSE_COLUMNS)
    assert [[undo_csv(field) for field in line] for line in got[1:]] == [["" if v is None else str(v) for v in row]
                                                                          for row in rows]


def test_the_streamed_sheet_and_its_strings_validate(long):
    require_schemas()
    path, _csv, _rows = long
    report = ooxml.check_package(path)
    assert_valid(report, "streamed consolidation")
    assert "xl/sharedStrings.xml" in report.checked
    with zipfile.ZipFile(path) as z:
        sheet = next(n for n in z.namelist() if n.startswith("xl/worksheets/sheet") and b"Responses: every answer"
                     in z.read(n))
        xml = z.read(sheet)
    assert b't="s"' in xml and b't="inlineStr"' in xml and b"<f>" not in xml


def test_libreoffice_reads_the_streamed_table_as_the_csv(long, tmp_path):
    """LibreOffice's own CSV export of the Responses sheet holds exactly our CSV's rows."""
    require_libreoffice()
    path, csv_path, _rows = long
    sheet = load_workbook(path, read_only=True).sheetnames.index("Responses") + 1
    # Filter options: comma, double quote, UTF-8, from row 1, ..., values as shown=false, the sheet's number.
    options = f"44,34,76,1,,0,false,true,false,false,false,{sheet}"
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    f"csv:Text - txt - csv (StarCalc):{options}", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=600)
    exported = next(tmp_path.glob("*.csv"))
    theirs = list(csv.reader(io.StringIO(exported.read_text(encoding="utf-8"), newline="")))
    ours = [[undo_csv(field) for field in line]
            for line in csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"), newline=""))]
    start = theirs.index(list(RESPONSE_COLUMNS))
    assert theirs[start:] == ours


def wrapped_a_word_at_a_time(text: str, width: float, bold: bool = False) -> int:
    """How a client word-wraps, a word at a time: the rule word_lines must follow, however it finds the lines."""
    per_line = max(1, int(width * (1.0 if bold else 1.15)))
    lines = 0
    for paragraph in text.split("\n"):
        used, count = 0, 1
        for word in paragraph.split():
            need = len(word) if used == 0 else used + 1 + len(word)
            if need <= per_line:
                used = need
                continue
            count += 1 if used else 0  # the word starts a new line...
            count += (len(word) - 1) // per_line  # ...and a word longer than a line runs on
            used = len(word) % per_line or per_line
        lines += count
    return lines


@settings(max_examples=400, deadline=None)
@given(text=st.lists(st.sampled_from(["a", "bb", "word", "x" * 9, "y" * 31, " ", "  ", "\t", "\n", "\r\n",
                                      "\u00a0", "\u2003", "\x1c", "é", "😀"]), max_size=120).map("".join),
       width=st.sampled_from([0, 0.5, 1, 2, 3, 7.3, 10, 28, 40, 70]), bold=st.booleans())
def test_a_rows_height_counts_the_lines_its_text_wraps_to(text, width, bold):
    """Rows of the Responses sheet (and every wrapped row) are as tall as their text wraps to a word at a
    time, whitespace runs, long words and line breaks included."""
    assert word_lines(text, width, bold) == wrapped_a_word_at_a_time(text, width, bold)


CSV_TEXT = st.lists(st.sampled_from(["a", ",", '"', "'", "-", "\uff20", "\r", "\n", "\r\n", " ", "\t", "é", "\x00",
                                     "=1", "", "N/A"]), max_size=6).map("".join)
CSV_VALUES = st.one_of(st.none(), st.integers(-3, 3), st.booleans(), st.sampled_from([0.5, 1.0, 2.0]), CSV_TEXT)
#: Section, item, evidence and source file are text (or nothing); any other column may hold any value.
CSV_ROW = st.tuples(*(st.one_of(st.none(), CSV_TEXT) if name in ("Section", "Item", "Evidence", "Source file")
                      else CSV_VALUES for name in RESPONSE_COLUMNS))


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(CSV_ROW, max_size=12))
def test_the_csv_is_what_the_csv_module_writes(rows):
    """Byte for byte what csv.writer writes (quoting, doubled quotes, empty fields, numbers, True) of the values
    with their text made inert, with a BOM, whatever the values and however they repeat."""
    repeated = rows + rows[::-1]
    out = io.BytesIO()
    for _ in stream_rows(lambda: iter(repeated), out):
        pass
    expected = io.StringIO(newline="")
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow(RESPONSE_COLUMNS)
    writer.writerows([inert(v) if isinstance(v, str) else v for v in row] for row in repeated)
    assert out.getvalue() == expected.getvalue().encode("utf-8-sig")


# --- the Issues sheet, streamed too ---------------------------------------------------------------------

LONG_MESSAGE = "The score is not one of the options offered; choose one from the list and save. " * 6


def with_findings(schedule: Schedule) -> list[Return]:
    """The sample returns, kent-a with more findings: one about the whole file (no sheet, no cell), one with
    a long message, one whose values are the codes themselves and one with a file name that wraps."""
    long_file = "in/" + "a-very-long-folder-name/" * 3 + "kent-a.xlsx"
    extra = [
        Finding(file="in/kent-a.xlsx", code="not-a-return", severity=Severity.ERROR, message="Not a return."),
        Finding(file="in/kent-a.xlsx", code="invalid-score", severity=Severity.ERROR, message=LONG_MESSAGE,
                sheet="Step 1", cell="C12"),
        Finding(file="in/kent-a.xlsx", code="[x]", severity=Severity.WARNING, message="[z]", sheet="[x]", cell="C9"),
        Finding(file=long_file, code="=cmd", severity=Severity.WARNING, message="@short", sheet="Cover", cell="B4"),
    ]
    return [r.model_copy(update={"findings": [*r.findings, *extra]}) if r.file == "in/kent-a.xlsx" else r
            for r in sample_returns(schedule)]


@pytest.fixture(scope="module")
def issues_book(tmp_path_factory, schedule) -> tuple[Path, list[Finding]]:
    returns = with_findings(schedule)
    tmp = tmp_path_factory.mktemp("issues")
    write(tmp, schedule, stripped(returns), Counted(list(Run(schedule, returns).held_rows())))
    findings = [f for ret in Run(schedule, returns).returns for f in ret.findings]
    return tmp / "consolidated.xlsx", findings


def test_the_issues_sheet_reads_back_with_its_values_alignments_and_heights(issues_book):
    path, findings = issues_book
    ws = load_workbook(path)["Issues"]
    first, last = ws.tables["Issues"].ref.split(":")
    head = int(first[1:])
    assert [c.value for c in ws[head]] == ["File", "Sheet", "Cell", "Code", "Severity", "Message"]
    assert last == f"F{head + len(findings)}" and ws.max_row == head + len(findings)
    assert len(findings) >= 7 and any(f.sheet is None for f in findings)
    for r, f in enumerate(findings, start=head + 1):
        cells = ws[r]
        wanted = [f.file, f.sheet or "[z]", f.cell or "[z]", f.code, f.severity.value, f.message]
        assert [c.value for c in cells] == wanted, r
        assert all(c.data_type == "s" for c in cells)  # "=cmd" is text, not a formula
        for c, (cell, value) in enumerate(zip(cells, wanted, strict=True), start=1):
            assert cell.alignment.vertical == "top", cell.coordinate
            assert bool(cell.alignment.wrap_text) == (c in (1, 6)), cell.coordinate  # the file and the message wrap
            code = value in ("[z]", "[x]") and c not in (1, 6)
            assert cell.alignment.horizontal == ("right" if code else None), cell.coordinate
        lines = max(word_lines(f.message, 80), word_lines(f.file, 40))
        assert ws.row_dimensions[r].height == (min(409.0, 15.0 * lines + 4) if lines > 1 else None), r
    whole = next(r for r, f in enumerate(findings, start=head + 1) if f.sheet is None)
    assert ws.cell(whole, 2).alignment.horizontal == "right" == ws.cell(whole, 3).alignment.horizontal
    tall = next(r for r, f in enumerate(findings, start=head + 1) if f.message == LONG_MESSAGE)
    assert ws.row_dimensions[tall].height > 4 * 15  # the long message shows whole
    wrapped_file = next(r for r, f in enumerate(findings, start=head + 1) if f.message == "@short")
    assert ws.row_dimensions[wrapped_file].height > 15  # so does the long file name


def test_the_streamed_issues_sheet_validates(issues_book):
    require_schemas()
    path, _findings = issues_book
    assert_valid(ooxml.check_package(path), "consolidation with streamed issues")
    with zipfile.ZipFile(path) as z:
        sheet = next(n for n in z.namelist() if n.startswith("xl/worksheets/sheet") and b"Issues: every problem"
                     in z.read(n))
        xml = z.read(sheet)
    assert b't="s"' in xml and b"<f>" not in xml


def test_no_findings_leaves_one_row_that_says_so(tmp_path, schedule):
    returns = [r.model_copy(update={"findings": []}) for r in sample_returns(schedule)]
    data, _ = write(tmp_path, schedule, returns)
    ws = load_workbook(io.BytesIO(data))["Issues"]
    first, last = ws.tables["Issues"].ref.split(":")
    head = int(first[1:])
    assert last == f"F{head + 1}" and ws.max_row == head + 1
    row = ws[head + 1]
    assert [c.value for c in row] == ["None found", "[z]", "[z]", "[z]", "[z]", "[z]"]
    assert [c.alignment.horizontal for c in row] == [None, "right", "right", "right", "right", "right"]
