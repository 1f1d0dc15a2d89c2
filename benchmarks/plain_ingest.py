"""Baseline for `xlschedule ingest`: the plain script an analyst would write instead, with no checks.

Reads every sheet's values of every return with openpyxl and stacks them into one sheet.
Usage: python plain_ingest.py RETURNS_DIR OUT.xlsx
"""

import sys
from pathlib import Path

from openpyxl import Workbook, load_workbook

folder, out_path = Path(sys.argv[1]), Path(sys.argv[2])
out = Workbook()
stacked = out.active
stacked.append(["File", "Sheet", "Row"])
for path in sorted(folder.glob("*.xlsx")):
    wb = load_workbook(path, read_only=True)
    for ws in wb.worksheets:
        for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if any(v is not None for v in row):
                stacked.append([path.name, ws.title, r, *row])
    wb.close()
out.save(out_path)
