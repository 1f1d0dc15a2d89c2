"""What a plain `pip install .` writes: openpyxl without lxml serialises XML with the standard library, spaced
differently; every sheet we write must read the same through any reader whichever serialiser wrote it.
(.ci/as-installed checks the same in a real fresh install.)"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

ROOT = Path(__file__).resolve().parents[1]


def row_counts(path: Path) -> dict[str, tuple[int, int, int, int]]:
    """Each sheet's rows as openpyxl read-only says (its dimension, and rows iterated), as openpyxl's full
    load has them, and as calamine reads them."""
    quick = load_workbook(path, read_only=True)
    full = load_workbook(path)
    calamine = CalamineWorkbook.from_path(str(path))
    counts = {ws.title: (ws.max_row or 0, sum(1 for _ in ws.iter_rows()), full[ws.title].max_row,
                         len(calamine.get_sheet_by_name(ws.title).to_python())) for ws in quick.worksheets}
    quick.close()
    return counts


@pytest.mark.parametrize("lxml", ["False", "True"])
def test_every_sheet_reads_the_same_whichever_xml_serialiser_openpyxl_uses(tmp_path, lxml):
    out, table = tmp_path / "consolidated.xlsx", tmp_path / "responses.csv"
    env = {**os.environ, "OPENPYXL_LXML": lxml}
    done = subprocess.run([sys.executable, "-m", "xlschedule", "ingest", str(ROOT / "samples"), "--out", str(out),
                           "--csv", str(table), "--db", str(tmp_path / "ledger.sqlite")],
                          env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # one sample is rejected: exit 1, as documented
    counts = row_counts(out)
    assert {name: len(set(c)) for name, c in counts.items()} == {name: 1 for name in counts}, counts
    with table.open(encoding="utf-8-sig", newline="") as fh:
        answers = len(list(csv.reader(fh))) - 1
    assert answers > 400
    assert counts["Responses"][0] == 4 + answers  # title, note and a blank row above the header, then the header


def respelled(package: bytes) -> bytes:
    """The same package, its XML spelt another legal way: attributes in single quotes, a space before `/>`,
    every empty element with an end tag."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as zin, zipfile.ZipFile(out, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name.endswith((".xml", ".rels")):
                data = re.sub(rb'="([^"\']*)"', rb"='\1'", data)
                data = re.sub(rb"<([\w:]+)([^<>]*?)\s*/>", rb"<\1\2 ></\1>", data)
            zout.writestr(name, data)
    return out.getvalue()


def test_the_streamed_sheets_do_not_depend_on_how_the_template_is_spelt(tmp_path, monkeypatch, schedule):
    from xlschedule import consolidate
    from xlschedule.report import Report

    from test_consolidate import sample_returns

    spelt = consolidate.workbook_bytes
    monkeypatch.setattr(consolidate, "workbook_bytes", lambda wb: respelled(spelt(wb)))
    out = tmp_path / "consolidated.xlsx"
    returns = sample_returns(schedule)
    consolidate.write_outputs(schedule, Report(returns=returns), out)
    counts = row_counts(out)
    assert {name: len(set(c)) for name, c in counts.items()} == {name: 1 for name in counts}, counts
    answers = sum(len(r.responses) for r in returns if r.status.value == "accepted")
    assert counts["Responses"][0] == 4 + answers
    assert load_workbook(out)["Responses"].tables["Responses"].ref == f"A4:N{4 + answers}"
