"""Gnumeric as a real client: returns saved through both of its xlsx writers ingest with every value intact,
and what it does to the metadata sheet is noted, not held against the return.

Skipped with a reason where ssconvert is missing; CI (CI=true) turns that skip into a failure.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from xlschedule import layout
from xlschedule.ingest import NO_REGISTRY_NOTE
from xlschedule.model import META_SHEET, Mode, Schedule

from conftest import run_cli
from gnumeric import ODS, XLSX_WRITERS, convert, require_gnumeric, to_native, type_cells
from tables import table_rows
from test_ingest import make_return

AUDIT_DATE = date(2026, 11, 20)
INSPECTOR = "Sam O'Neill & Jo <Bloggs>"


def ingest(folder: Path, path: Path) -> tuple[dict, dict[str, dict], str]:
    """The JSON report, the Responses rows by ref, and what the command printed."""
    out, report = folder / "c.xlsx", folder / "r.json"
    result = run_cli("ingest", str(path), "--out", str(out), "--report", str(report))
    assert "Traceback" not in result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    rows: dict[str, dict] = {}
    if out.exists():
        rows = {row["Ref"]: row for row in table_rows(out, "Responses")}
    return data, rows, result.output


def answers(rows: dict[str, dict]) -> dict[str, tuple]:
    return {ref: (r["Score"], r["Policy fit"], r["Evidence"]) for ref, r in rows.items()}


def assert_gnumeric_note(data: dict, path: Path) -> None:
    """Gnumeric's writers make the very hidden metadata sheet a visible tab and drop the structure lock."""
    [note] = [n for n in data["notes"] if n != NO_REGISTRY_NOTE]  # the run's own note aside
    assert note.startswith("1 return was saved by ") and f"shows the '{META_SHEET}' sheet" in note, note
    assert "structure" in note, note
    [ret] = [r for r in data["returns"] if r["file"] == str(path)]
    assert ret["client_changes"] == ["metadata-sheet-shown", "structure-unlocked"]


@pytest.mark.parametrize("writer", XLSX_WRITERS)
def test_a_filled_return_saved_by_gnumeric_ingests_with_every_value_intact(tmp_path, schedule, writer):
    require_gnumeric()
    filled = make_return(tmp_path, schedule, "Kent-filled", ref="K-gnumeric")
    (tmp_path / "before").mkdir()
    _data, before, _output = ingest(tmp_path / "before", filled)  # what the same return gives, not through Gnumeric
    saved = convert(filled, tmp_path / "Kent-gnumeric.xlsx", writer)

    data, after, output = ingest(tmp_path, saved)
    [ret] = data["returns"]
    assert ret["status"] == "accepted" and ret["findings"] == [], output
    assert (ret["force"], ret["return_ref"], ret["date"]) == ("Kent", "K-gnumeric", "2026-11-03")
    assert answers(after) == answers(before) and len(after) == schedule.item_count + len(schedule.sections)
    assert_gnumeric_note(data, saved)


def typed_in_gnumeric(schedule: Schedule, mode: Mode) -> tuple[dict, dict[str, tuple]]:
    """Every input cell with what a person types in Gnumeric, and per ref the (score, policy, evidence) the
    consolidation should show."""
    options, policies = schedule.options(mode), schedule.policy_fit_options()
    cover = {"return_ref": f"G-{mode.value}", "inspector": INSPECTOR, "date": AUDIT_DATE}
    typed: dict = {}
    expected: dict[str, list] = {}
    for i, cell in enumerate(layout.input_cells(schedule, mode)):
        if cell.kind == "cover":
            value = cover[cell.ref]
        elif cell.kind == "score":
            pick = options[i % len(options)] if not cell.is_judgment else options[0]
            value = int(pick) if pick.isdigit() else pick  # 4 typed in a cell is the number 4
        elif cell.kind == "policy":
            value = policies[i % len(policies)]
        else:
            value = f"Evidence for {cell.ref} typed in Gnumeric: <seen> & \"noted\""
        typed[(cell.sheet, cell.cell)] = value
        if cell.kind != "cover":
            slot = {"score": 0, "policy": 1, "evidence": 2}[cell.kind]
            expected.setdefault(cell.ref, ["", "", ""])[slot] = value
    return typed, {ref: tuple(v) for ref, v in expected.items()}


@pytest.mark.parametrize("writer", XLSX_WRITERS)
@pytest.mark.parametrize("mode", list(Mode))
def test_a_return_typed_in_gnumeric_ingests_with_every_value_intact(tmp_path, built, schedule, mode, writer):
    """The blank opened in Gnumeric, every input cell typed there (in Gnumeric's own file), and saved as xlsx."""
    require_gnumeric()
    native = to_native(built[mode], tmp_path)
    typed, expected = typed_in_gnumeric(schedule, mode)
    done = type_cells(native, typed, tmp_path / "typed.xml")
    saved = convert(done, tmp_path / "Kent-typed.xlsx", writer)

    data, rows, output = ingest(tmp_path, saved)
    [ret] = data["returns"]
    assert ret["status"] == "accepted" and ret["findings"] == [], output
    assert (ret["return_ref"], ret["inspector"], ret["date"]) == (f"G-{mode.value}", INSPECTOR, AUDIT_DATE.isoformat())
    assert answers(rows) == expected
    assert_gnumeric_note(data, saved)


def test_a_return_saved_as_opendocument_is_told_how_to_save_as_xlsx(tmp_path, schedule):
    require_gnumeric()
    filled = make_return(tmp_path, schedule, "Kent-filled", ref="K-ods")
    ods = convert(filled, tmp_path / "Kent-filled.ods", ODS)
    data, rows, output = ingest(tmp_path, ods)
    [ret] = data["returns"]
    assert [f["code"] for f in ret["findings"]] == ["opendocument-format"]
    message = ret["findings"][0]["message"]
    assert "OpenDocument" in message and ".xlsx" in message
    assert "Evidence for" not in output and "Sample evidence" not in output
