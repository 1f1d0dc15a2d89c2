"""A return filled in a real spreadsheet application (LibreOffice, standing in for Excel) and ingested.

Every input cell is typed the way a person types it, LibreOffice saves through its own xlsx filter,
and `xlschedule ingest` must accept the file and put every value on the right row of the consolidation.
Skipped with a reason where LibreOffice is missing; CI (CI=true) turns that skip into a failure.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlschedule import layout
from xlschedule.model import Mode, Schedule

from conftest import run_cli
from libreoffice import fill, unprotect

RESPONSE_COLUMNS = [
    "Force", "Return", "Section", "Ref", "Item", "Score", "Policy fit", "Evidence", "Source file", "Cell",
]
INSPECTOR = "Jo Bloggs"
DATE_TYPED = "2026-11-20"


def return_ref(mode: Mode) -> str:
    return f"RT-{mode.value}-1"


def evidence_text(ref: str) -> str:
    return f"Evidence for {ref}: seen in case notes"


def score_typed(schedule: Schedule, mode: Mode, index: int, judgment: bool) -> str:
    """A valid option, as typed: cycles through every option (N/A included) by index.

    Judgments never get N/A, so that a step is not both N/A and scored (a warning, not what this tests).
    """
    options = schedule.options(mode)
    if judgment:
        options = [o for o in options if o != schedule.schedule.not_applicable]
    return options[index % len(options)]


def policy_typed(schedule: Schedule, index: int) -> str:
    options = schedule.policy_fit_options()
    return options[index % len(options)]


def fill_spec(schedule: Schedule, mode: Mode) -> tuple[list[dict], dict[str, dict[str, str]]]:
    """Every input cell with what a person would type, and per ref what was typed by kind."""
    spec: list[dict] = []
    typed: dict[str, dict[str, str]] = {}
    cover = {"return_ref": return_ref(mode), "inspector": INSPECTOR, "date": DATE_TYPED}
    counters = {"score": 0, "policy": 0}
    for cell in layout.input_cells(schedule, mode):
        if cell.kind == "cover":
            value = cover[cell.ref]
        elif cell.kind == "score":
            value = score_typed(schedule, mode, counters["score"], cell.is_judgment)
            counters["score"] += 1
        elif cell.kind == "policy":
            value = policy_typed(schedule, counters["policy"])
            counters["policy"] += 1
        else:
            value = evidence_text(cell.ref)
        spec.append({"sheet": cell.sheet, "cell": cell.cell, "value": value, "kind": "input"})
        typed.setdefault(cell.ref, {})[cell.kind] = value
    return spec, typed


def expected_score(mode: Mode, typed: str | None) -> int | str | None:
    """How the consolidation shows a typed score: scale points as numbers, everything else as text."""
    if typed is None:
        return None
    return int(typed) if mode is Mode.SCALE and typed.isdigit() else typed


def ingest(run_dir: Path, *returns: Path):
    out, report, csv_path = run_dir / "consolidated.xlsx", run_dir / "report.json", run_dir / "responses.csv"
    result = run_cli("ingest", *map(str, returns), "--out", str(out), "--report", str(report), "--csv", str(csv_path))
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return result, data, out, csv_path


def findings(data: dict) -> list[tuple]:
    return [
        (f["severity"], f["code"], f["sheet"], f["cell"], f["message"]) for r in data["returns"] for f in r["findings"]
    ]


def explain(result, data: dict | None) -> str:
    """The command's output, then each finding on one line: (severity, code, sheet, cell, message)."""
    lines = ([result.output, "findings:"] + [repr(f) for f in findings(data)]) if data else [result.output]
    return "\n".join(lines)


@pytest.mark.parametrize("mode", [Mode.YESNO, Mode.SCALE, Mode.NARRATIVE])
def test_return_typed_in_libreoffice_is_accepted_and_consolidated_row_by_row(built, schedule, mode, tmp_path):
    blank = tmp_path / "blank.xlsx"
    shutil.copyfile(built[mode], blank)
    filled = tmp_path / "returns" / "Kent-filled.xlsx"
    filled.parent.mkdir()
    spec, typed = fill_spec(schedule, mode)
    if mode is not Mode.NARRATIVE:  # the choices really do mix every option, N/A included
        scores = {t["score"] for t in typed.values() if "score" in t}
        assert scores == set(schedule.options(mode)), scores
        assert {t["policy"] for t in typed.values() if "policy" in t} == set(schedule.policy_fit_options())

    done = fill(blank, filled, spec)
    assert done["errors"] == [] and done["written"] == len(spec), done

    result, data, out, csv_path = ingest(tmp_path, filled)
    assert result.exit_code == 0, explain(result, data)
    assert data["counts"]["errors"] == 0, findings(data)
    [ret] = data["returns"]
    assert ret["status"] == "accepted", findings(data)
    # Every cell answered, every score backed by evidence: nothing to warn about either.
    assert ret["findings"] == [], findings(data)
    assert (ret["force"], ret["mode"], ret["return_ref"], ret["inspector"], ret["date"]) == (
        "Kent", mode.value, return_ref(mode), INSPECTOR, DATE_TYPED
    )
    refs = [ref for s in schedule.sections for ref in (s.judgment_ref, *(i.ref for i in s.items))]
    assert len(refs) == schedule.item_count + len(schedule.sections) == 107 + 11
    assert ret["responses"] == len(refs)
    assert ret["answered"] == len(layout.answer_cells(schedule, mode))

    # The consolidated workbook: one row per item and judgment, in schedule order, each value on its row.
    wb = load_workbook(out, read_only=True)
    try:
        rows = list(wb["Responses"].iter_rows(values_only=True))
    finally:
        wb.close()
    rows = rows[next(i for i, row in enumerate(rows) if row[0] == "Force"):]  # below the marking and title
    assert list(rows[0])[:len(RESPONSE_COLUMNS)] == RESPONSE_COLUMNS
    body = [dict(zip(RESPONSE_COLUMNS, row)) for row in rows[1:]]
    assert len(body) == len(refs), [r["Ref"] for r in body]
    assert [r["Ref"] for r in body] == refs

    cols = layout.columns(mode)
    where = {(c.ref, c.kind): c.cell for c in layout.input_cells(schedule, mode) if c.kind != "cover"}
    section_of = {ref: s for s in schedule.sections for ref in (s.judgment_ref, *(i.ref for i in s.items))}
    mismatches = []
    for row in body:
        ref = row["Ref"]
        want = typed[ref]
        expected = {
            "Force": "Kent",
            "Return": return_ref(mode),
            "Section": section_of[ref].label,
            "Score": expected_score(mode, want.get("score")),
            "Policy fit": want.get("policy"),
            "Evidence": evidence_text(ref),
            "Source file": str(filled),
            "Cell": where[(ref, "score")] if cols.score else where[(ref, "evidence")],
        }
        got = {k: row[k] for k in expected}
        if got != expected:
            mismatches.append((ref, {k: (got[k], v) for k, v in expected.items() if got[k] != v}))
    assert not mismatches, "(got, expected) per column:\n" + "\n".join(map(repr, mismatches))
    if mode is Mode.SCALE:  # a typed 4 is consolidated as the number 4, not the text "4"
        assert any(isinstance(r["Score"], int) for r in body)
        assert all(isinstance(r["Score"], int) or r["Score"] == "N/A" for r in body)

    # The CSV carries the same rows.
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        csv_rows = list(csv.reader(fh))
    assert csv_rows[0][:len(RESPONSE_COLUMNS)] == RESPONSE_COLUMNS
    assert len(csv_rows) - 1 == len(refs)
    assert [dict(zip(RESPONSE_COLUMNS, r))["Evidence"] for r in csv_rows[1:]] == [evidence_text(ref) for ref in refs]


def test_a_sheet_unprotected_but_unchanged_is_accepted(built, schedule, tmp_path):
    mode = Mode.SCALE
    blank = tmp_path / "blank.xlsx"
    shutil.copyfile(built[mode], blank)
    cells = layout.input_cells(schedule, mode)
    cover = {"return_ref": "RT-open-1", "inspector": INSPECTOR, "date": DATE_TYPED}
    spec = [
        {"sheet": c.sheet, "cell": c.cell, "value": cover[c.ref], "kind": "input"} for c in cells if c.kind == "cover"
    ]
    first = schedule.sections[1]
    typed = {"score": "4", "evidence": evidence_text(first.items[0].ref)}
    spec += [
        {"sheet": c.sheet, "cell": c.cell, "value": typed[c.kind], "kind": "input"}
        for c in layout.section_inputs(first, mode)
        if c.ref == first.items[0].ref
    ]
    assert len(spec) == 5
    filled = tmp_path / "filled.xlsx"
    done = fill(blank, filled, spec)
    assert done["errors"] == [] and done["written"] == len(spec), done

    opened = tmp_path / "returns" / "Kent-unprotected.xlsx"
    opened.parent.mkdir()
    visible = layout.sheet_names(schedule)[:-1]
    assert set(unprotect(filled, opened)["unprotected"]) >= set(visible)

    result, data, out, _csv = ingest(tmp_path, opened)
    assert result.exit_code == 0, explain(result, data)
    [ret] = data["returns"]
    assert ret["status"] == "accepted", findings(data)
    assert data["counts"]["errors"] == 0, findings(data)
    unprotected = [f for f in ret["findings"] if f["code"] == "sheet-unprotected"]
    assert all(f["severity"] == "warning" for f in unprotected)
    assert sorted(f["sheet"] for f in unprotected) == sorted(visible), findings(data)
    assert ret["return_ref"] == "RT-open-1"

    wb = load_workbook(out, read_only=True)
    try:
        rows = list(wb["Responses"].iter_rows(values_only=True))
        head = next(i for i, r in enumerate(rows) if r[0] == "Force")
        body = [dict(zip(RESPONSE_COLUMNS, r)) for r in rows[head + 1:]]
    finally:
        wb.close()
    row = next(r for r in body if r["Ref"] == first.items[0].ref)
    assert (row["Score"], row["Evidence"], row["Return"]) == (4, typed["evidence"], "RT-open-1")
