"""How a feedback copy marks the sheet of findings it carries, and how ingest recognises that sheet.

A feedback copy (feedback.py) is a fresh blank with the return's answers and one sheet more, listing
the findings. Its metadata sheet names that sheet and records a digest of its text, so that ingest can
tell the sheet xlschedule wrote, unchanged, from a sheet somebody added: the first is not part of the
return and is passed over; anything else (the sheet edited, or another sheet) is `sheet-added`, as in
any return. The blank's own sheets are checked cell by cell as always.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from .read import WorkbookSnapshot, as_text

#: The metadata keys a feedback copy adds below the blank's own (layout.META_KEYS).
SHEET_KEY = "feedback_sheet"
DIGEST_KEY = "feedback_digest"
KEYS = (SHEET_KEY, DIGEST_KEY)


def sheet_digest(cells: Mapping[str, object]) -> str:
    """A digest of a sheet's text, cell by cell (coordinate -> value), as any client saves it back:
    white space runs (line breaks written as CR LF or LF) read as one space, empty cells not at all."""
    digest = hashlib.sha256()
    for coord in sorted(cells):
        text = " ".join(as_text(cells[coord]).split()) if cells[coord] is not None else ""
        if text:
            digest.update(f"{coord}\0{text}\0".encode())
    return digest.hexdigest()


def recognised(snap: WorkbookSnapshot) -> str | None:
    """The name of the feedback sheet xlschedule added to this workbook, if it is there unchanged; else None."""
    meta = snap.meta() or {}
    name, want = meta.get(SHEET_KEY), meta.get(DIGEST_KEY)
    sheet = snap.sheets.get(name or "")
    if sheet is None or not want:
        return None
    got = sheet_digest({coord: cv.value for coord, cv in sheet.cells.items() if not cv.is_formula})
    formulas = any(cv.is_formula for cv in sheet.cells.values())
    return name if got == want and not formulas else None
