"""The registry of issued blanks: what `xlschedule build` records, where, and how ingest finds it."""

from __future__ import annotations

import json
from pathlib import Path

from test_versions import fill
from xlschedule.model import Mode
from xlschedule.registry import REGISTRY_DIR, Registry, default_location

from conftest import PASSWORD, SCHEDULE_TOML, run_cli


def entries(registry: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((registry / "blanks").glob("*.json"))]


def test_build_records_one_blank_per_mode_with_each_force_issued(tmp_path):
    out = tmp_path / "output"
    registry = out / REGISTRY_DIR
    for args in (["--force", "Kent"], ["--force", "Essex", "--force", "Kent"], ["--mode", "scale", "--force", "Kent"]):
        result = run_cli("build", "--schedule", str(SCHEDULE_TOML), *args, "--out", str(out))
        assert result.exit_code == 0, result.output
    recorded = entries(registry)
    assert sorted(e["mode"] for e in recorded) == ["scale", "yesno"]
    yesno = next(e for e in recorded if e["mode"] == "yesno")
    assert sorted(yesno["forces"]) == ["Essex", "Kent"]
    assert len(set(yesno["forces"].values())) == 2  # each force's workbook has its own fingerprint
    assert sorted(p.name for p in (registry / "blanks").glob("*.xlsx")) == sorted(f"{e['id']}.xlsx" for e in recorded)
    [stored] = list((registry / "schedules").glob("*.toml"))
    assert stored.read_text(encoding="utf-8") == SCHEDULE_TOML.read_text(encoding="utf-8")
    assert "keep it with the round's records" in (registry / "README.txt").read_text(encoding="utf-8")
    # What each force was issued is what its workbook's metadata records.
    from openpyxl import load_workbook

    meta = {r[0].value: r[1].value for r in load_workbook(out / "Essex.xlsx")["_xlschedule"].iter_rows()}
    assert yesno["forces"]["Essex"] == meta["content_fingerprint"]
    assert Registry(registry).by_fingerprint(meta["content_fingerprint"])[1] == "Essex"


def test_a_password_does_not_make_another_blank(tmp_path):
    out = tmp_path / "output"
    assert run_cli("build", "--force", "Kent", "--out", str(out)).exit_code == 0
    result = run_cli("build", "--force", "Essex", "--out", str(out), env={"XLSCHEDULE_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    [entry] = entries(out / REGISTRY_DIR)
    assert sorted(entry["forces"]) == ["Essex", "Kent"]


def test_builds_into_output_and_below_share_one_registry(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli("build", "--force", "Kent").exit_code == 0
    assert run_cli("build", "--mode", "scale", "--force", "Kent", "--out", "output/scale").exit_code == 0
    assert run_cli("build", "--force", "Kent", "--out", "elsewhere").exit_code == 0
    assert sorted(e["mode"] for e in entries(tmp_path / "output" / REGISTRY_DIR)) == ["scale", "yesno"]
    assert not (tmp_path / "output" / "scale" / REGISTRY_DIR).exists()
    assert len(entries(tmp_path / "elsewhere" / REGISTRY_DIR)) == 1
    assert default_location(Path("output/scale")) == Path("output") / REGISTRY_DIR


def test_ingest_without_a_registry_says_so_once(tmp_path, schedule, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not where a registry might have been built (the checkout's output/)
    out = tmp_path / "output"
    assert run_cli("build", "--force", "Kent", "--force", "Essex", "--out", str(out), "--registry",
                   str(tmp_path / "kept-elsewhere")).exit_code == 0
    returns = [fill(out / f"{f}.xlsx", tmp_path / "returns" / f"{f}.xlsx", schedule, Mode.YESNO, 1, f) for f in
               ("Kent", "Essex")]
    result = run_cli("validate", *map(str, returns))
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("note:")] == [
        "note: no registry of issued blanks was found, so returns were checked against blanks rebuilt from the "
        "current schedule (other versions and releases cannot be checked); give --registry to use one"
    ]
    with_registry = run_cli("validate", *map(str, returns), "--registry", str(tmp_path / "kept-elsewhere"))
    assert with_registry.exit_code == 0 and "note:" not in with_registry.output


def test_a_registry_option_naming_no_registry_is_a_usage_error(tmp_path, schedule):
    result = run_cli("validate", str(SCHEDULE_TOML.parent / "samples"), "--registry", str(tmp_path))
    assert result.exit_code == 2
    assert f"error: --registry {tmp_path}: no registry of issued blanks there" in result.output
