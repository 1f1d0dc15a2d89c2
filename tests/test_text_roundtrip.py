"""Any text an inspector types as evidence comes back whole in every output, and is never a formula.

Text of any Unicode category (control characters and XML's non-characters included, stored as Excel
stores them: its `_xHHHH_` escape), text that looks like that escape, text that starts like a formula,
empty text and text of Excel's longest, typed into a return's evidence cells and ingested, is read back by
readers that are not ours: openpyxl from the consolidated workbook, the csv module from the CSV (after
taking off its `'`, see the README), sqlite from the ledger. (The JSON report holds no evidence.)
"""

from __future__ import annotations

import csv
import re
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from test_properties import SCHEDULE, filled
from xlschedule import layout
from xlschedule.model import Mode

from conftest import run_cli
from test_consolidate import FORMULA_START, undo_csv

MODE = Mode.YESNO
#: The evidence cells of the return, by ref: each example types into the first CELLS of them.
EVIDENCE = [(c.ref, (c.sheet, c.cell)) for c in layout.input_cells(SCHEDULE, MODE) if c.kind == "evidence"]
CELLS = 12
#: Excel's longest text in a cell.
LONGEST = 32_767

#: Characters XML 1.0 cannot hold, which Excel writes as its `_xHHHH_` escape; CR too (XML reads it as LF).
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")
#: The start of what reads as Excel's escape, which Excel escapes (`_x005F_`) when it is literal text.
ESCAPE_LIKE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
EXCEL_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")


def as_excel_stores(text: str) -> str:
    """The text as Excel writes it in a cell's XML: a literal `_xHHHH_` escaped, then what XML cannot hold."""
    return NOT_IN_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", ESCAPE_LIKE.sub("_x005F_", text))


def as_excel_reads(stored: str) -> str:
    """What Excel reads from a cell's stored text: each `_xHHHH_` is the character it names."""
    return EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), stored)


#: Any character but a lone surrogate (no UTF-8 file can hold one) and XML's two non-characters U+FFFE and
#: U+FFFF (Excel cannot keep them: calamine, like us, reads their escape as the literal text `_xFFFE_`).
any_char = st.characters(exclude_categories=("Cs",), exclude_characters="\ufffe\uffff")
pieces = st.sampled_from(["_x0041_", "_x000D_", "_x005F_x0041_", "_x", "x0041_", "=", "+", "-", "@", "\t", "\r",
                          "\n", "\r\n", "'", "''", "\uff1d", "\x00", "\x07", "\x1b", "\x7f", " ", "\u00a0",
                          "\u2028", "\u202e", "é", "😀", '"', ",", "<", "&amp;", "]]>"])
short_text = st.lists(st.one_of(pieces, st.text(any_char, max_size=8)), max_size=10).map("".join)


def fitting(text: str) -> str:
    """The longest start of `text` whose stored form fits a cell (openpyxl, writing the test's returns, cuts a
    longer one, escapes included, at Excel's longest)."""
    if len(as_excel_stores(text)) <= LONGEST:
        return text
    lo, hi = 0, len(text)  # the stored form of a longer start is never shorter
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if len(as_excel_stores(text[:mid])) <= LONGEST else (lo, mid - 1)
    return text[:lo]


long_text = st.tuples(st.text(any_char, min_size=1, max_size=30), st.integers(1_000, LONGEST)).map(
    lambda t: fitting((t[0] * (t[1] // len(t[0]) + 1))[:t[1]]))
#: A return's typed evidence: short texts (empty ones among them), and one up to Excel's longest, or none.
returns_text = st.tuples(st.lists(short_text, min_size=CELLS - 1, max_size=CELLS - 1),
                         st.one_of(short_text, long_text)).map(lambda t: [*t[0], t[1]])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(texts=returns_text)
def test_typed_evidence_comes_back_whole_and_inert_everywhere(texts):
    expected = {ref: text for (ref, _cell), text in zip(EVIDENCE, texts)}
    edits = {cell: as_excel_stores(text) for (_ref, cell), text in zip(EVIDENCE, texts)}
    with tempfile.TemporaryDirectory(prefix="xlschedule-text-") as tmp:
        folder = Path(tmp)
        (folder / "in").mkdir()
        path = filled(MODE).save(edits, "Kent-text.xlsx", literal=set(edits))  # text, even when it starts with =
        (folder / "in" / path.name).write_bytes(path.read_bytes())
        out, table, db = folder / "consolidated.xlsx", folder / "responses.csv", folder / "ledger.sqlite"
        result = run_cli("ingest", str(folder / "in"), "--out", str(out), "--csv", str(table), "--db", str(db))
        assert result.exit_code == 0, result.output

        ws = load_workbook(out, read_only=True)["Responses"]
        head = next(c.row for (c,) in ws.iter_rows(min_col=1, max_col=1) if c.value == "Force")
        header = [c.value for c in ws[head]]
        ref_at, evidence_at = header.index("Ref"), header.index("Evidence")
        sheet = {}
        for row in ws.iter_rows(min_row=head + 1):
            assert all(c.data_type != "f" for c in row), [c.coordinate for c in row if c.data_type == "f"]
            cell = row[evidence_at]
            sheet[row[ref_at].value] = None if cell.value is None else as_excel_reads(cell.value)

        with table.open(encoding="utf-8-sig", newline="") as fh:
            lines = list(csv.DictReader(fh))
        for line in lines:
            assert not [f for f in line.values() if f[:1] in FORMULA_START and f], line
        in_csv = {line["Ref"]: undo_csv(line["Evidence"]) for line in lines}

        with sqlite3.connect(db) as con:
            ledger = dict(con.execute('SELECT "Ref", "Evidence" FROM responses'))
        con.close()

    for ref, text in expected.items():  # an empty cell is no evidence, whether a reader gives None or ""
        assert (sheet[ref] or None) == (text or None), ref
        assert in_csv[ref] == text, ref
        assert (ledger[ref] or None) == (text or None), ref
