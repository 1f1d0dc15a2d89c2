"""Baseline for `xlschedule build`: the same workbooks' cell values written with bare openpyxl.

No styles, widths, merges, validation, protection, print setup or fixed zip times: what someone
would write to put the same texts into 43 files. Usage: python bare_build.py VALUES.json OUT_DIR
(VALUES.json maps file name -> sheet -> [[row, column, value], ...]; run.py makes it).
"""

import json
import sys
from pathlib import Path

from openpyxl import Workbook

values = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
out_dir = Path(sys.argv[2])
out_dir.mkdir(parents=True, exist_ok=True)
for name, sheets in values.items():
    wb = Workbook()
    wb.remove(wb.active)
    for title, cells in sheets.items():
        ws = wb.create_sheet(title)
        for row, column, value in cells:
            ws.cell(row=row, column=column, value=value)
    wb.save(out_dir / name)
