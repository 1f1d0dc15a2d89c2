"""The feedback loop in a real spreadsheet application: ingest, send the copy back, ingest what comes back.

An inspector types a return in LibreOffice (standing in for Excel) with a score of 7 pasted past the
dropdown, a low score with no evidence and no inspector named. `xlschedule ingest --feedback` writes the
annotated copy; LibreOffice opens it and shows the Feedback sheet first, listing the findings, and a note
on each flagged cell. The inspector fixes the flagged cells in LibreOffice and saves; ingest accepts the
fixed copy with every other answer identical to the original return. Skipped with a reason where
LibreOffice is missing; CI (CI=true) turns that skip into a failure.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from test_real_client_roundtrip import fill_spec
from xlschedule import layout
from xlschedule.feedback import FEEDBACK_SHEET
from xlschedule.model import COVER_SHEET, Mode

from conftest import SCHEDULE_TOML, run_cli
from libreoffice import fill, notes

MODE = Mode.SCALE
INSPECTOR_CELL = layout.cover_cell("inspector")


def ingest(returns: Path, run: Path, registry: Path, feedback: Path | None = None) -> tuple[int, dict, str]:
    args = ["ingest", str(returns), "--out", str(run / "c.xlsx"), "--report", str(run / "r.json"),
            "--registry", str(registry)]
    if feedback is not None:
        args += ["--feedback", str(feedback)]
    result = run_cli(*args)
    return result.exit_code, json.loads((run / "r.json").read_text(encoding="utf-8")), result.output


def by_ref(path: Path, schedule, registry: Path) -> dict[str, tuple]:
    """Each ref's answers as ingest reads them (a rejected return's too)."""
    from xlschedule.ingest import ingest as read
    from xlschedule.registry import Registry

    [ret] = read([path], schedule, registry=Registry(registry)).returns
    return {r.ref: (r.score, r.policy, r.evidence) for r in ret.responses}


def test_the_inspector_fixes_the_feedback_copy_in_libreoffice_and_it_is_accepted(schedule, tmp_path):
    out = tmp_path / "output"
    assert run_cli("build", "--schedule", str(SCHEDULE_TOML), "--mode", MODE.value, "--force", "Essex",
                   "--out", str(out)).exit_code == 0
    registry = out / "xlschedule-registry"
    blank = tmp_path / "blank.xlsx"
    shutil.copyfile(out / "Essex.xlsx", blank)
    section = schedule.steps[0]
    rows = {r.ref: r for r in layout.answer_rows(section, MODE)}
    first, second = section.items[0].ref, section.items[1].ref
    spec, _typed = fill_spec(schedule, MODE)
    problems = {
        (section.sheet, rows[first].score): "7",  # pasted past the dropdown
        (section.sheet, rows[second].score): "1",  # a low score...
        (section.sheet, rows[second].evidence): "",  # ...with no evidence
        (COVER_SHEET, INSPECTOR_CELL): "",  # no inspector
    }
    spec = [{**e, "value": problems.get((e["sheet"], e["cell"]), e["value"])} for e in spec]
    returns = tmp_path / "returns"
    returns.mkdir()
    original = returns / "Essex-LO-1.xlsx"
    done = fill(blank, original, spec)
    assert done["errors"] == [], done

    feedback = tmp_path / "feedback"
    (tmp_path / "run1").mkdir()
    status, report, output = ingest(returns, tmp_path / "run1", registry, feedback)
    assert status == 1, output
    [ret] = report["returns"]
    flagged = {(f["sheet"], f["cell"]): f["code"] for f in ret["findings"]}
    assert flagged == {
        (COVER_SHEET, INSPECTOR_CELL): "missing-inspector",
        (section.sheet, rows[first].score): "invalid-score",
        (section.sheet, rows[second].score): "low-score-no-evidence",
    }, ret["findings"]
    before = by_ref(original, schedule, registry)

    copy = feedback / "Essex-LO-1-feedback.xlsx"
    seen = notes(copy)
    assert seen["sheets"][0] == FEEDBACK_SHEET
    listed = set(seen["first_sheet"].values())
    for (sheet, cell), code in flagged.items():
        assert code in listed and cell in listed, (code, cell)
        assert code in seen["notes"][sheet][cell], (sheet, cell, seen["notes"].get(sheet))
    assert "write here the evidence" in seen["notes"][section.sheet][rows[second].evidence]

    # The inspector fixes the flagged cells in LibreOffice, and saves.
    fixed = tmp_path / "back" / copy.name
    fixed.parent.mkdir()
    done = fill(copy, fixed, [
        {"sheet": section.sheet, "cell": rows[first].score, "value": "3", "kind": "input"},
        {"sheet": section.sheet, "cell": rows[second].evidence, "value": "Seen in the custody record", "kind": "input"},
        {"sheet": COVER_SHEET, "cell": INSPECTOR_CELL, "value": "Jo Bloggs", "kind": "input"},
    ])
    assert done["errors"] == [], done
    (tmp_path / "run2").mkdir()
    status, report, output = ingest(fixed.parent, tmp_path / "run2", registry)
    [back] = report["returns"]
    assert back["status"] == "accepted" and back["findings"] == [], output
    assert status == 0, output
    after = by_ref(fixed, schedule, registry)
    changed = {ref for ref in after if after[ref] != before[ref]}
    assert changed == {first, second}
    assert after[first][0] == "3" and before[first][0] is None and after[second][2] == "Seen in the custody record"
    assert (back["return_ref"], back["inspector"], back["date"]) == (ret["return_ref"], "Jo Bloggs", ret["date"])
