"""Returns are judged against the blank they were issued from, and answered schedules carry across versions.

The two failures of issue 10, reproduced and fixed: a later release rewording the cover's instructions no
longer rejects a return built before it, and a return of the previous schedule version ingests beside the
current version's returns, with reworded, removed and new items shown as such.
"""

from __future__ import annotations

import json
import re
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlschedule import build as build_module
from xlschedule import ingest as ingest_module
from xlschedule import layout
from xlschedule.build import build
from xlschedule.consolidate import RESPONSE_COLUMNS, write_outputs
from xlschedule.errors import ScheduleError
from xlschedule.feedback_mark import FLAG_FILL
from xlschedule.ingest import ingest
from xlschedule.model import COVER_SHEET, META_SHEET, Mode, Schedule
from xlschedule.registry import REGISTRY_DIR, Form, Registry
from xlschedule.samples import answers
from xlschedule.schedule import load_schedule, schedule_from_text

from conftest import SCHEDULE_TOML, run_cli
from tables import table_rows

TEXT_A = SCHEDULE_TOML.read_text(encoding="utf-8")
REWORDED_37 = "Any harm an investigation may do is assessed, and plans are made to reduce it."
NEW_98 = "Children and young people in custody are told, in words they understand, what happens next."


def version_b(text: str = TEXT_A, changes: bool = True) -> str:
    """Version 2026.2: 3.7 reworded, 2.4 removed, 1.3 renamed 1.3a, 9.8 added, the changes declared."""
    old_37 = "Potential negative impacts of any investigation are assessed and plans made to mitigate these."
    assert old_37 in text
    text = text.replace('version = "2026.1"', 'version = "2026.2"').replace(old_37, REWORDED_37)
    text = re.sub(r'\[\[steps\.items\]\]\nref = "2\.4"\ntext = "[^"]*"\n\n', "", text)
    text = text.replace('ref = "1.3"\n', 'ref = "1.3a"\n')
    nine_seven = re.search(r'ref = "9\.7"\ntext = "[^"]*"\n', text)
    assert nine_seven
    text = text[:nine_seven.end()] + f'\n[[steps.items]]\nref = "9.8"\ntext = "{NEW_98}"\n' + text[nine_seven.end():]
    if changes:
        text += '\n[changes]\nremoved = ["2.4"]\nrenamed = { "1.3" = "1.3a" }\n'
    return text


@pytest.fixture(scope="module")
def schedule_b() -> Schedule:
    return schedule_from_text(version_b())


def fill(blank: Path, out: Path, schedule: Schedule, mode: Mode, seed: int, ref: str, extra: dict | None = None,
         ) -> Path:
    """A person's return: every input of `blank` filled, saved with openpyxl (as a person's Excel would)."""
    wb = load_workbook(blank)
    values = answers(schedule, mode, seed, ref)
    values.update(extra or {})
    for (sheet, cell), value in values.items():
        wb[sheet][cell].value = value
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def responses_by_ref(report, file: Path) -> dict[str, object]:
    [ret] = [r for r in report.returns if r.file == str(file)]
    return {r.ref: r for r in ret.responses}


def clear_rebuilt(monkeypatch) -> None:
    """Forget the blanks this process rebuilt, as a fresh run of a later release would not have them."""
    for name in ("_REBUILT", "_LOCKED_VALUES", "_REBUILT_FINGERPRINTS"):
        monkeypatch.setattr(ingest_module, name, {})


# --- failure 1: a later release rewords the tool's own text --------------------------------------


@pytest.fixture()
def round_a(tmp_path, schedule) -> tuple[Path, Path]:
    """Kent's blank built through the command line, its registry, and a filled return."""
    out = tmp_path / "output"
    result = run_cli("build", "--schedule", str(SCHEDULE_TOML), "--force", "Kent", "--out", str(out))
    assert result.exit_code == 0, result.output
    ret = fill(out / "Kent.xlsx", tmp_path / "returns" / "Kent-K-1.xlsx", schedule, Mode.YESNO, 1, "K-1")
    return out / REGISTRY_DIR, ret


def reword_cover(monkeypatch) -> None:
    original = build_module._how_to

    def reworded(schedule, mode):
        steps = original(schedule, mode)
        return [steps[0].replace("Fill in the return reference", "Enter the return reference"), *steps[1:]]

    monkeypatch.setattr(build_module, "_how_to", reworded)
    clear_rebuilt(monkeypatch)


def test_a_later_release_rewording_the_cover_still_ingests_the_return_clean(round_a, schedule, monkeypatch):
    registry, ret = round_a
    before = ingest([ret], schedule, registry=Registry(registry))
    reword_cover(monkeypatch)
    rebuilt = build_module.build_workbook(schedule, "Kent", Mode.YESNO)
    assert any("Enter the return reference" in str(c.value) for c in rebuilt[COVER_SHEET]["A"])  # it did change

    after = ingest([ret], schedule, registry=Registry(registry))
    assert after.flatten(["code", "sheet", "cell"]) == []
    assert after.counts.accepted == 1
    assert [r.model_dump() for r in after.returns[0].responses] == [r.model_dump() for r in before.returns[0].responses]
    values = answers(schedule, Mode.YESNO, 1, "K-1")
    got = responses_by_ref(after, ret)
    for cell in layout.input_cells(schedule, Mode.YESNO):
        if cell.kind == "cover":
            continue
        response = got[cell.ref]
        typed = values[(cell.sheet, cell.cell)]
        assert getattr(response, cell.kind) == str(typed), (cell.ref, cell.kind)


def test_without_the_registry_a_reworded_release_names_the_template_not_the_inspector(round_a, schedule, monkeypatch):
    _registry, ret = round_a
    reword_cover(monkeypatch)
    report = ingest([ret], schedule)
    assert report.flatten(["code", "sheet"]) == [["unknown-template", META_SHEET]]
    assert "--registry" in report.findings[0].message
    assert any("no registry" in note for note in report.notes)


def test_a_tampered_return_is_still_caught_cell_by_cell_whatever_the_release(round_a, schedule, monkeypatch, tmp_path):
    registry, ret = round_a
    wb = load_workbook(ret)
    first = schedule.steps[0]
    text_cell = f"{layout.columns(Mode.YESNO).text}{layout.item_row(0)}"
    wb[first.sheet][text_cell].value = "An easier standard"
    tampered = tmp_path / "returns" / "Kent-tampered.xlsx"
    wb.save(tampered)
    reword_cover(monkeypatch)
    report = ingest([tampered], schedule, registry=Registry(registry))
    assert report.flatten(["code", "sheet", "cell"]) == [["locked-cell-changed", first.sheet, text_cell]]


@pytest.mark.parametrize("key, value", [
    ("content_fingerprint", "0" * 64),
    ("tool_version", "99.0-made-up"),
    ("layout_version", "7"),
    ("force", "Essex"),
])
def test_metadata_the_registry_does_not_confirm_is_an_unknown_template(round_a, schedule, tmp_path, key, value):
    registry, ret = round_a
    wb = load_workbook(ret)
    meta = wb[META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == key:
            row[1].value = value
    if key == "force":
        wb[COVER_SHEET][layout.cover_cell("force")].value = value
    edited = tmp_path / "returns" / f"edited-{key}.xlsx"
    wb.save(edited)
    report = ingest([edited], schedule, registry=Registry(registry))
    assert report.flatten(["code", "sheet"]) == [["unknown-template", META_SHEET]]
    message = report.findings[0].message
    assert str(registry) in message and "--registry" in message


def test_without_a_registry_bogus_metadata_is_still_refused(round_a, schedule, tmp_path):
    _registry, ret = round_a
    for key, value in (("content_fingerprint", "f" * 64), ("tool_version", "not a release"), ("layout_version", "0")):
        wb = load_workbook(ret)
        for row in wb[META_SHEET].iter_rows():
            if row[0].value == key:
                row[1].value = value
        edited = tmp_path / f"bogus-{key}.xlsx"
        wb.save(edited)
        report = ingest([edited], schedule)
        assert report.flatten(["code"]) == [["unknown-template"]], key


def test_an_older_layout_is_read_where_its_blank_put_the_answers(tmp_path, schedule, monkeypatch):
    """A blank built by a release whose item rows started a row lower is judged and read by its own form."""
    registry = tmp_path / "output" / REGISTRY_DIR
    with monkeypatch.context() as old_release:
        old_release.setattr(layout, "FIRST_ITEM_ROW", layout.FIRST_ITEM_ROW + 1)
        old_release.setattr(layout, "LAYOUT_VERSION", 0)
        build(schedule, tmp_path / "output", ["Kent"], Mode.SCALE, registry=registry)
        ret = fill(tmp_path / "output" / "Kent.xlsx", tmp_path / "Kent-old.xlsx", schedule, Mode.SCALE, 3, "K-OLD")
        typed = answers(schedule, Mode.SCALE, 3, "K-OLD")
        old_cells = layout.input_cells(schedule, Mode.SCALE)
    clear_rebuilt(monkeypatch)
    report = ingest([ret], schedule, registry=Registry(registry))
    assert report.flatten(["code", "sheet", "cell"]) == []
    got = responses_by_ref(report, ret)
    for cell in old_cells:
        if cell.kind != "cover":
            assert getattr(got[cell.ref], cell.kind) == str(typed[(cell.sheet, cell.cell)]), cell
    assert report.returns[0].return_ref == "K-OLD"


# --- failure 2: a new schedule version orphans the returns of the old one ------------------------


@pytest.fixture()
def two_versions(tmp_path, schedule, schedule_b):
    """Version A built and returned by Kent; then version B built into the same place, returned by Essex."""
    out = tmp_path / "output"
    a_toml, b_toml = tmp_path / "a.toml", tmp_path / "b.toml"
    a_toml.write_text(TEXT_A, encoding="utf-8")
    b_toml.write_text(version_b(), encoding="utf-8")
    assert run_cli("build", "--schedule", str(a_toml), "--force", "Kent", "--out", str(out)).exit_code == 0
    kent = fill(out / "Kent.xlsx", tmp_path / "returns" / "Kent-K-1.xlsx", schedule, Mode.YESNO, 1, "K-1")
    result = run_cli("build", "--schedule", str(b_toml), "--force", "Essex", "--force", "Kent", "--out", str(out))
    assert result.exit_code == 0, result.output
    essex = fill(out / "Essex.xlsx", tmp_path / "returns" / "Essex-E-1.xlsx", schedule_b, Mode.YESNO, 2, "E-1")
    return out / REGISTRY_DIR, kent, essex, b_toml


def test_a_version_a_return_ingests_under_version_b_beside_b_returns(two_versions, schedule, schedule_b, tmp_path):
    registry, kent, essex, _ = two_versions
    report = ingest([kent, essex], schedule_b, registry=Registry(registry))
    assert report.flatten(["file", "code"]) == []
    assert report.counts.accepted == 2
    old = responses_by_ref(report, kent)
    typed = answers(schedule, Mode.YESNO, 1, "K-1")
    cols = layout.columns(Mode.YESNO)
    step3 = schedule.steps[2]
    at_37 = next(i for i, item in enumerate(step3.items) if item.ref == "3.7")
    assert old["3.7"].status == "reworded" and old["3.7"].worded_as == "2026.1"
    assert old["3.7"].score == str(typed[(step3.sheet, f"{cols.score}{layout.item_row(at_37)}")])
    assert old["2.4"].status == "removed" and old["2.4"].score is not None
    assert old["1.3a"].status == "carried" and old["1.3a"].asked_ref == "1.3"
    assert old["9.8"].status == "not asked" and old["9.8"].score is None
    assert old["3.1"].status == "carried"
    assert {r.schedule_version for r in old.values()} == {"2026.1"}
    new = responses_by_ref(report, essex)
    assert {r.status for r in new.values()} == {"current"} and {r.schedule_version for r in new.values()} == {"2026.2"}

    out = tmp_path / "consolidated.xlsx"
    write_outputs(schedule_b, report, out, csv_path=tmp_path / "responses.csv")
    rows = table_rows(out, "Responses")
    assert list(rows[0]) == list(RESPONSE_COLUMNS)
    kent_rows = {r["Ref"]: r for r in rows if r["Force"] == "Kent"}
    essex_rows = {r["Ref"]: r for r in rows if r["Force"] == "Essex"}
    assert (kent_rows["3.7"]["Item status"], kent_rows["3.7"]["Wording answered"]) == ("reworded", "2026.1")
    assert kent_rows["3.7"]["Item"] == REWORDED_37
    assert kent_rows["2.4"]["Item status"] == "removed" and kent_rows["2.4"]["Score"] in ("Yes", "No", "N/A")
    assert kent_rows["2.4"]["Item"].startswith("Plans include what help")  # the wording it was answered to
    assert (kent_rows["9.8"]["Item status"], kent_rows["9.8"]["Score"] or None) == ("not asked", None)
    assert essex_rows["9.8"]["Item status"] == "current" and essex_rows["9.8"]["Score"] in ("Yes", "No", "N/A")
    assert "2.4" not in essex_rows
    assert {r["Schedule version"] for r in kent_rows.values()} == {"2026.1"}
    assert {r["Schedule version"] for r in essex_rows.values()} == {"2026.2"}
    assert all(r["Release"] for r in rows)


def test_without_the_registry_the_old_version_is_named(two_versions, schedule_b):
    _registry, kent, essex, _ = two_versions
    report = ingest([kent, essex], schedule_b)
    assert report.flatten(["file", "code"]) == [[str(kent), "other-schedule-version"]]
    assert "2026.1" in report.findings[0].message and "--registry" in report.findings[0].message


def test_ingest_finds_the_registry_where_build_wrote_it(two_versions, tmp_path, monkeypatch):
    _registry, kent, essex, b_toml = two_versions
    monkeypatch.chdir(tmp_path)  # where `xlschedule build` was run: its registry is output/xlschedule-registry
    result = run_cli("ingest", "returns", "--schedule", str(b_toml), "--out", str(tmp_path / "c.xlsx"))
    assert result.exit_code == 0, result.output
    assert "note: no registry" not in result.output
    assert "2 of 2 returns accepted" in result.output


# --- item 5: changing a ref is a decision --------------------------------------------------------


def test_dropping_a_ref_without_declaring_it_is_refused_naming_the_ref_and_version(two_versions, tmp_path):
    registry, *_ = two_versions
    undeclared = tmp_path / "c.toml"
    undeclared.write_text(version_b(changes=False).replace('version = "2026.2"', 'version = "2026.3"'))
    result = run_cli("build", "--schedule", str(undeclared), "--out", str(tmp_path / "output"))
    assert result.exit_code == 2
    assert "ref '2.4' of version 2026.1" in result.output and "ref '1.3' of version 2026.1" in result.output
    assert "[changes]" in result.output
    schedule_c = load_schedule(undeclared)
    with pytest.raises(ScheduleError, match="ref '2.4' of version 2026.1"):
        ingest([], schedule_c, registry=Registry(registry))


def test_changes_must_name_refs_of_this_schedule(tmp_path):
    bad = version_b().replace('renamed = { "1.3" = "1.3a" }', 'renamed = { "1.3" = "1.3b" }')
    with pytest.raises(ScheduleError, match="renames '1.3' to '1.3b', which is not a ref"):
        schedule_from_text(bad)


def test_reissuing_a_version_with_other_content_is_refused(two_versions, tmp_path):
    same_version = tmp_path / "b2.toml"
    same_version.write_text(version_b().replace(NEW_98, NEW_98 + " Again."))
    result = run_cli("build", "--schedule", str(same_version), "--out", str(tmp_path / "output"))
    assert result.exit_code == 2 and "version 2026.2 was already issued with other content" in result.output


# --- upgrade ----------------------------------------------------------------------------------------


def test_upgrade_turns_a_version_a_return_into_a_b_return_with_the_same_answers(two_versions, schedule_b, tmp_path):
    registry, kent, essex, b_toml = two_versions
    before = kent.read_bytes()
    result = run_cli("upgrade", str(kent), "--out", str(tmp_path / "upgraded"), "--schedule", str(b_toml),
                     "--registry", str(registry))
    assert result.exit_code == 0, result.output
    assert kent.read_bytes() == before  # the input is never changed
    line = result.output.splitlines()[0]
    assert "schedule 2026.1 -> 2026.2" in line
    assert "reworded since, check the answer: 1 (3.7)" in line
    assert "removed from the schedule: 1 (2.4)" in line and "new, to answer: 1 (9.8)" in line
    upgraded = tmp_path / "upgraded" / kent.name
    assert sorted(p.name for p in upgraded.parent.iterdir()) == [kent.name]  # written atomically, nothing else

    old = responses_by_ref(ingest([kent], schedule_b, registry=Registry(registry)), kent)
    report = ingest([upgraded], schedule_b, registry=Registry(registry))
    assert report.returns[0].status == "accepted"
    [warning] = report.findings  # the new item, not yet answered: the only thing left to do
    assert (warning.code, warning.sheet) == ("unanswered", schedule_b.steps[8].sheet)
    new = responses_by_ref(report, upgraded)
    assert report.returns[0].schedule_version == "2026.2" and report.returns[0].return_ref == "K-1"
    for ref, response in new.items():
        if ref == "9.8":
            assert response.score is None and response.status == "current"
            continue
        assert (response.score, response.policy, response.evidence) == (
            old[ref].score, old[ref].policy, old[ref].evidence), ref
    wb = load_workbook(BytesIO(upgraded.read_bytes()))
    assert all(ws.protection.sheet for ws in wb.worksheets) and wb.security.lockStructure
    meta = {row[0].value: row[1].value for row in wb[META_SHEET].iter_rows()}
    assert meta["schedule_version"] == "2026.2" and meta["force"] == "Kent"
    entries = [json.loads(p.read_text()) for p in (registry / "blanks").glob("*.json")]
    assert any(meta["content_fingerprint"] in e["forces"].values() for e in entries)


def _highlighted(ws, coord: str) -> bool:
    """The cell is under the sheet's first conditional format, and that format is the red highlight."""
    first = next(iter(ws.conditional_formatting))
    [rule] = first.rules
    return coord in first.sqref and rule.priority == 1 and rule.dxf.fill.bgColor.rgb.endswith(FLAG_FILL)


def test_an_upgraded_return_marks_what_to_recheck_says_how_many_and_is_accepted_once_filled(
        two_versions, schedule_b, tmp_path):
    registry, kent, _essex, b_toml = two_versions
    out = tmp_path / "upgraded"
    result = run_cli("upgrade", str(kent), "--out", str(out), "--schedule", str(b_toml), "--registry", str(registry))
    assert result.exit_code == 0, result.output
    upgraded = out / kent.name
    wb = load_workbook(upgraded)
    rows = {row.ref: row for row in Form.of(schedule_b, Mode.YESNO).rows}
    for ref, words in (("3.7", "Reworded in version 2026.2, since your return was filled (version 2026.1): read "
                               "the item again and re-check your answer"),
                       ("9.8", "New in version 2026.2: answer it.")):
        ws = wb[rows[ref].sheet]
        cell = ws[rows[ref].score]
        assert cell.comment is not None and words in cell.comment.text, ref
        assert _highlighted(ws, cell.coordinate), ref
    carried = wb[rows["3.1"].sheet][rows["3.1"].score]
    assert carried.comment is None and not _highlighted(wb[rows["3.1"].sheet], carried.coordinate)
    cover = {c.coordinate: c.value for row in wb[COVER_SHEET].iter_rows() for c in row if c.value is not None}
    [(at, _)] = [(coord, v) for coord, v in cover.items() if v == "To re-check"]
    line = cover[at.replace(layout.COVER_LABEL_COL, layout.COVER_VALUE_COL)]
    assert line.startswith("Upgraded from schedule version 2026.1 to 2026.2: 2 items to re-check, each highlighted")
    assert "1 reworded (re-check the answer): 3.7; 1 new (answer it): 9.8. Not carried, as version 2026.2 no " \
           "longer asks them: 2.4." in line

    # the inspector answers the new item, saves, sends it: accepted, with nothing to say
    new = wb[rows["9.8"].sheet]
    new[rows["9.8"].score], new[rows["9.8"].evidence] = "Yes", "Seen in the custody record."
    filled = tmp_path / "back" / kent.name
    filled.parent.mkdir()
    wb.save(filled)
    result = run_cli("ingest", str(filled), "--schedule", str(b_toml), "--registry", str(registry),
                     "--out", str(tmp_path / "c.xlsx"))
    assert result.exit_code == 0, result.output
    assert f"{filled}  Kent  K-1  accepted  0 errors  0 warnings" in result.output
    # the line is passed over only as written: changed, it is a locked cell changed, as any other
    wb[COVER_SHEET][at.replace(layout.COVER_LABEL_COL, layout.COVER_VALUE_COL)] = "Nothing to re-check."
    wb.save(tmp_path / "edited.xlsx")
    report = ingest([tmp_path / "edited.xlsx"], schedule_b, registry=Registry(registry))
    assert report.flatten(["code", "sheet"]) == [["locked-cell-changed", COVER_SHEET]] * 2


def test_a_second_run_takes_old_version_answers_from_the_ledger_as_they_were(two_versions, tmp_path, monkeypatch):
    """The ledger keeps each answer's version, release and status: a run that reads nothing again gives the
    same Responses as the run that read the files."""
    _registry, kent, essex, b_toml = two_versions
    monkeypatch.chdir(tmp_path)
    tables = []
    for run in (1, 2):
        out = tmp_path / f"run{run}" / "c.xlsx"
        out.parent.mkdir()
        result = run_cli("ingest", "returns", "--schedule", str(b_toml), "--out", str(out),
                         "--db", str(tmp_path / "ledger.sqlite"))
        assert result.exit_code == 0, result.output
        tables.append(table_rows(out, "Responses"))
    assert "2 unchanged, 0 withdrawn (0 read, 2 from the ledger)" in result.output
    assert tables[0] == tables[1]
    kent_rows = {r["Ref"]: r for r in tables[1] if r["Force"] == "Kent"}
    assert (kent_rows["3.7"]["Item status"], kent_rows["3.7"]["Wording answered"]) == ("reworded", "2026.1")
    assert kent_rows["2.4"]["Item status"] == "removed"
    assert kent_rows["9.8"]["Item status"] == "not asked"
