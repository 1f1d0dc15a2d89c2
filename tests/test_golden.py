"""What a blank workbook means, against a committed snapshot (tests/golden/blank-<mode>.json).

Any change to the template (a text, a locked cell, a dropdown, protection, printing, metadata) shows up
in review as a diff of these files. After a deliberate change, regenerate them and commit the diff:

    XLSCHEDULE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from xlschedule.model import META_SHEET, Mode

from meaning import workbook_meaning

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("XLSCHEDULE_UPDATE_GOLDEN", "").strip() not in ("", "0")
REGENERATE = "XLSCHEDULE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py"
#: Metadata whose values change from release to release: only their presence is recorded.
VOLATILE = {"tool_version", "content_fingerprint"}
NOT_RECORDED = "(not recorded: changes between releases)"


def _row_col(coord: str) -> tuple[int, int]:
    col, row = coordinate_from_string(coord)
    return row, column_index_from_string(col)


def blank_snapshot(source: Path | bytes) -> dict:
    """Per sheet: locked cells with content, unlocked cells, validations, protection, state, print titles;
    for the hidden metadata sheet, its entries (keys only for those that change between releases)."""
    meaning = workbook_meaning(source)
    sheets: dict[str, dict] = {}
    for name, sheet in meaning["sheets"].items():
        cells = sheet["cells"]
        entry = {
            "state": sheet["state"],
            "protection": sheet["protection"],
            "print_titles": sheet["print_titles"],
            "validations": sheet["validations"],
            "unlocked": sorted((c for c, v in cells.items() if not v["locked"]), key=_row_col),
        }
        if name == META_SHEET:
            keys = {_row_col(c)[0]: v["value"] for c, v in cells.items() if c.startswith("A")}
            values = {_row_col(c)[0]: v["value"] for c, v in cells.items() if c.startswith("B")}
            entry["metadata"] = {
                key: NOT_RECORDED if key in VOLATILE else values.get(row) for row, key in keys.items()
            }
            assert VOLATILE <= set(entry["metadata"]), entry["metadata"]
        else:
            entry["locked"] = {c: v["value"] for c, v in cells.items() if v["locked"] and v["value"] is not None}
        sheets[name] = entry
    return {"sheet_order": meaning["sheet_order"], "structure_locked": meaning["structure_locked"], "sheets": sheets}


def as_json(snapshot: dict) -> str:
    return json.dumps(snapshot, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("mode", list(Mode), ids=[m.value for m in Mode])
def test_a_fresh_blank_means_what_its_committed_snapshot_says(built, mode):
    path = GOLDEN / f"blank-{mode.value}.json"
    fresh = as_json(blank_snapshot(built[mode]))
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(fresh, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run `{REGENERATE}` and commit it"
    committed = path.read_text(encoding="utf-8")
    if fresh != committed:
        diff = list(difflib.unified_diff(
            committed.splitlines(), fresh.splitlines(), f"committed {path.name}", f"fresh {path.name}", lineterm="",
        ))
        shown = "\n".join(diff[:80]) + (f"\n... {len(diff) - 80} more lines" if len(diff) > 80 else "")
        pytest.fail(
            f"The Kent {mode.value} blank no longer means what tests/golden/{path.name} says.\n{shown}\n\n"
            f"If the change is intended, regenerate the snapshots with\n    {REGENERATE}\n"
            "and commit the JSON diff with the change that caused it.",
            pytrace=False,
        )


def test_the_snapshot_records_what_an_inspector_meets(built, schedule):
    """The snapshot is not vacuous: it holds the items, the inputs, the dropdowns and the protection."""
    snap = blank_snapshot(built[Mode.SCALE])
    first = snap["sheets"][schedule.steps[0].sheet]
    assert schedule.steps[0].items[0].text in first["locked"].values()
    assert "C9" in first["unlocked"] and "E9" in first["unlocked"]
    assert {v["type"] for v in first["validations"]} == {"list"}
    assert first["protection"]["sheet"] and not first["protection"]["formatRows"]
    assert snap["structure_locked"] and snap["sheets"][META_SHEET]["state"] == "veryHidden"
    meta = snap["sheets"][META_SHEET]["metadata"]
    assert meta["force"] == "Kent" and meta["mode"] == "scale" and meta["tool_version"] == NOT_RECORDED
