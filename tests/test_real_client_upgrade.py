"""A return of an earlier schedule version, typed and saved in LibreOffice, upgraded and ingested again.

The inspector types every answer into a version 2026.1 blank in a real spreadsheet application; the
schedule then moves to 2026.2 (3.7 reworded, 2.4 removed, 1.3 renamed 1.3a, 9.8 new). `xlschedule
upgrade` carries the return into a fresh 2026.2 blank, which ingest accepts with every typed value on
its ref. The upgraded workbook shows, in LibreOffice, the note on the reworded item; answered there (9.8)
and saved, it is accepted with nothing to say: its cover's re-check line survives the save. Skipped with
a reason where LibreOffice is missing; CI (CI=true) turns that skip into a failure.
"""

from __future__ import annotations

import json
import shutil

from test_real_client_roundtrip import DATE_TYPED, INSPECTOR, expected_score, fill_spec, return_ref
from test_versions import version_b
from xlschedule.model import Mode
from xlschedule.registry import Form
from xlschedule.schedule import schedule_from_text

from conftest import SCHEDULE_TOML, run_cli
from libreoffice import fill, notes
from tables import table_rows

RENAMED = {"1.3": "1.3a"}


def version_b_sheet(step: int) -> str:
    return schedule_from_text(version_b()).steps[step - 1].sheet


def test_a_libreoffice_return_of_the_old_version_is_upgraded_with_every_typed_value(schedule, tmp_path):
    mode = Mode.SCALE
    out = tmp_path / "output"
    assert run_cli("build", "--schedule", str(SCHEDULE_TOML), "--mode", mode.value, "--force", "Kent",
                   "--out", str(out)).exit_code == 0
    blank = tmp_path / "blank.xlsx"
    shutil.copyfile(out / "Kent.xlsx", blank)
    typed_in = tmp_path / "returns" / "Kent-old.xlsx"
    typed_in.parent.mkdir()
    spec, typed = fill_spec(schedule, mode)
    done = fill(blank, typed_in, spec)
    assert done["errors"] == [] and done["written"] == len(spec), done

    b_toml = tmp_path / "b.toml"
    b_toml.write_text(version_b(), encoding="utf-8")
    result = run_cli("build", "--schedule", str(b_toml), "--mode", mode.value, "--force", "Kent", "--out", str(out))
    assert result.exit_code == 0, result.output
    before = typed_in.read_bytes()
    registry = out / "xlschedule-registry"
    result = run_cli("upgrade", str(typed_in), "--out", str(tmp_path / "upgraded"), "--schedule", str(b_toml),
                     "--registry", str(registry))
    assert result.exit_code == 0, result.output
    assert typed_in.read_bytes() == before

    report = tmp_path / "report.json"
    result = run_cli("ingest", str(tmp_path / "upgraded" / typed_in.name), "--schedule", str(b_toml),
                     "--out", str(tmp_path / "c.xlsx"), "--report", str(report),
                     "--registry", str(registry))
    data = json.loads(report.read_text(encoding="utf-8"))
    [ret] = data["returns"]
    assert ret["status"] == "accepted", result.output
    step9 = version_b_sheet(9)
    # Only 9.8, new in this version, is left to answer.
    assert [(f["code"], f["sheet"]) for f in ret["findings"]] == [("unanswered", step9)], result.output
    assert (ret["return_ref"], ret["inspector"], ret["date"]) == (return_ref(mode), INSPECTOR, DATE_TYPED)

    rows = {r["Ref"]: r for r in table_rows(tmp_path / "c.xlsx", "Responses")}
    missing = []
    for old_ref, want in typed.items():
        if old_ref in ("return_ref", "inspector", "date") or old_ref == "2.4":
            continue
        row = rows[RENAMED.get(old_ref, old_ref)]
        got = (row["Score"] if row["Score"] != "" else None, row["Policy fit"] or None, row["Evidence"])
        expected = (expected_score(mode, want.get("score")), want.get("policy"), want["evidence"])
        if got != expected:
            missing.append((old_ref, got, expected))
    assert not missing, missing
    assert rows["9.8"]["Score"] in ("", None) and rows["9.8"]["Item status"] == "current"

    # In LibreOffice: the reworded item's note shows; the new item answered there and saved is accepted clean.
    upgraded = tmp_path / "upgraded" / typed_in.name
    schedule_b = schedule_from_text(version_b())
    rows = {row.ref: row for row in Form.of(schedule_b, mode).rows}
    shown = notes(upgraded)["notes"]
    assert "Reworded in version 2026.2" in shown[rows["3.7"].sheet][rows["3.7"].score]
    assert shown[rows["9.8"].sheet][rows["9.8"].score] == "New in version 2026.2: answer it."
    answered = tmp_path / "answered" / typed_in.name
    answered.parent.mkdir()
    done = fill(upgraded, answered, [
        {"sheet": rows["9.8"].sheet, "cell": rows["9.8"].score, "value": "4", "kind": "input"},
        {"sheet": rows["9.8"].sheet, "cell": rows["9.8"].evidence, "value": "Told at booking in.", "kind": "input"},
    ])
    assert done["errors"] == [], done
    result = run_cli("ingest", str(answered), "--schedule", str(b_toml), "--out", str(tmp_path / "c2.xlsx"),
                     "--registry", str(registry))
    assert result.exit_code == 0, result.output
    assert f"{answered}  Kent  {return_ref(mode)}  accepted  0 errors  0 warnings" in result.output

