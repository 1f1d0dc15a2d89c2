"""Reading a table of the consolidated workbook the way an analyst's code would: below its marking and title."""

from __future__ import annotations

from pathlib import Path

from python_calamine import CalamineWorkbook


def table_rows(path: Path, sheet: str, first: str = "Force") -> list[dict]:
    """The rows of `sheet`'s table as dicts, the header being the first row whose first cell is `first`."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    head = next(i for i, row in enumerate(rows) if row and row[0] == first)
    return [dict(zip(rows[head], row)) for row in rows[head + 1:]]
