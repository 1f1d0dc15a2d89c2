"""Ingest as the central team uses it: returns filled in, some of them wrong, checked and reported.

Each check is asserted by its stable code and the cell it names (Report.flatten).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlschedule import layout
from xlschedule.ingest import ingest
from xlschedule.model import COVER_SHEET, META_SHEET, Mode, ReturnStatus
from xlschedule.samples import answers
from xlschedule.schedule import load_schedule as load_schedule_from

from conftest import SCHEDULE_TOML, CountingPool, blank_bytes, pool_threshold, run_cli
from hostile import rezip, write
from meaning import differences, workbook_meaning

FIELDS = ["sheet", "cell", "code"]


def make_return(
    folder: Path, schedule, name: str, force: str = "Kent", mode: Mode = Mode.YESNO, seed: int = 1,
    ref: str | None = None, values: dict | None = None, edit: Callable | None = None,
) -> Path:
    """A blank filled the way a person would, then optionally changed by `values` and `edit(wb)`.

    The blank is built once per force and mode (conftest.blank_bytes); each return fills its own copy."""
    filled = answers(schedule, mode, seed, ref or name)
    filled.update(values or {})
    wb = load_workbook(BytesIO(blank_bytes(schedule, force, mode)))
    for (sheet, cell), value in filled.items():
        wb[sheet][cell].value = value
    if edit:
        edit(wb)
    path = folder / f"{name}.xlsx"
    wb.save(path)
    return path


def judgment_cell(schedule, sheet: str, col: str) -> str:
    """The cell in column `col` of a sheet's judgment row."""
    return f"{col}{layout.judgment_row(next(s for s in schedule.sections if s.sheet == sheet))}"


def codes(report) -> list[list]:
    return report.flatten(FIELDS)


def test_complete_return_is_accepted_without_findings(tmp_path, schedule):
    path = make_return(tmp_path, schedule, "good")
    report = ingest([path], schedule)
    assert report.ok and codes(report) == []
    ret = report.returns[0]
    assert (ret.force, ret.mode, ret.return_ref, ret.date) == ("Kent", Mode.YESNO, "good", "2026-11-03")
    assert len(ret.responses) == schedule.item_count + len(schedule.sections)


@pytest.mark.parametrize("typed, expected",
                         [("4", "4"), (4, "4"), (4.0, "4"), ("4.0", "4"), (" 5 ", "5"), ("n/a", "N/A")])
def test_scale_scores_are_read_leniently_where_certain(tmp_path, schedule, typed, expected):
    path = make_return(tmp_path, schedule, "lenient", mode=Mode.SCALE, values={("1 Initial contact", "C6"): typed})
    report = ingest([path], schedule)
    assert report.ok, codes(report)
    score = next(r for r in report.returns[0].responses if r.ref == "1.1").score
    assert score == expected


@pytest.mark.parametrize("mode", list(Mode))
def test_returns_of_any_force_are_recognised_without_a_registry(tmp_path, schedule, mode):
    """With no registry, each return's blank is rebuilt from the schedule: its content fingerprint, which
    names the force, must be the one build gave that force's workbook, or the return is unknown-template."""
    forces = [schedule.forces.names[0], "Kent", schedule.forces.names[-1]]
    paths = [make_return(tmp_path, schedule, f"r{n}", force=f, mode=mode, seed=n) for n, f in enumerate(forces)]
    report = ingest(paths, schedule)
    assert [(r.force, r.status) for r in report.returns] == [(f, ReturnStatus.ACCEPTED) for f in forces]
    assert "unknown-template" not in {c for row in codes(report) for c in row}


def test_a_file_named_twice_is_read_once(tmp_path, schedule):
    """A folder and a file in it, both given: the file is one return, not a duplicate of itself."""
    paths = [make_return(tmp_path, schedule, f"r{n}", seed=n) for n in range(3)]
    report = ingest([tmp_path, paths[1], tmp_path / "." / "r2.xlsx"], schedule)
    assert sorted(r.file for r in report.returns) == sorted(str(p) for p in paths)
    assert {r.status for r in report.returns} == {ReturnStatus.ACCEPTED}


def test_the_json_report_says_each_return_s_schedule_version_and_release(tmp_path, schedule):
    path = make_return(tmp_path, schedule, "good")
    report = tmp_path / "report.json"
    result = run_cli("ingest", str(path), "--out", str(tmp_path / "c.xlsx"), "--report", str(report),
                     "--schedule", str(SCHEDULE_TOML))
    assert result.exit_code == 0, result.output
    meta = load_workbook(path)[META_SHEET]
    said = {row[0].value: row[1].value for row in meta.iter_rows(min_col=1, max_col=2)}
    [entry] = json.loads(report.read_text(encoding="utf-8"))["returns"]
    assert (entry["schedule_version"], entry["release"]) == (said["schedule_version"], said["tool_version"])
    assert entry["schedule_version"] == schedule.schedule.version


def test_yes_with_a_trailing_space_is_yes(tmp_path, schedule):
    path = make_return(tmp_path, schedule, "yes", values={("2 Assessment and help", "C6"): "yes "})
    report = ingest([path], schedule)
    assert report.ok
    assert next(r for r in report.returns[0].responses if r.ref == "2.1").score == "Yes"


@pytest.mark.parametrize("mode, typed", [(Mode.SCALE, 7), (Mode.SCALE, "Maybe"), (Mode.SCALE, 3.5), (Mode.SCALE, "3.5"),
                                         (Mode.YESNO, "Maybe"), (Mode.YESNO, 1), (Mode.YESNO, "=1+1")])
def test_a_value_that_is_not_an_option_rejects_the_return(tmp_path, schedule, mode, typed):
    path = make_return(tmp_path, schedule, "bad", mode=mode, values={("4 Decision making", "C7"): typed})
    report = ingest([path], schedule)
    assert not report.ok
    assert ["4 Decision making", "C7", "invalid-score"] in codes(report)
    message = next(f.message for f in report.findings if f.code == "invalid-score")
    assert ", ".join(schedule.options(mode)) in message


def test_invalid_policy_fit(tmp_path, schedule):
    where = judgment_cell(schedule, "5 Trusted adult", "D")
    path = make_return(tmp_path, schedule, "policy", values={("5 Trusted adult", where): "Mostly"})
    assert ["5 Trusted adult", where, "invalid-policy-fit"] in codes(ingest([path], schedule))


def test_long_text_in_a_score_cell_is_not_quoted(tmp_path, schedule):
    secret = "The child disclosed something very sensitive here"
    path = make_return(tmp_path, schedule, "leak", values={("1 Initial contact", "C6"): secret})
    report = ingest([path], schedule)
    assert secret not in json.dumps(report.to_dict())


def test_locked_cell_changed(tmp_path, schedule):
    def edit(wb):
        wb["3 Investigation & enquiries"]["B12"].value = "Reworded by a force"

    report = ingest([make_return(tmp_path, schedule, "locked", edit=edit)], schedule)
    assert codes(report) == [["3 Investigation & enquiries", "B12", "locked-cell-changed"]]
    assert report.returns[0].status is ReturnStatus.REJECTED


def test_text_typed_into_a_locked_empty_cell(tmp_path, schedule):
    def edit(wb):
        wb["8 Recording"]["F12"].value = "note"

    assert codes(ingest([make_return(tmp_path, schedule, "typed", edit=edit)], schedule)) == [
        ["8 Recording", "F12", "locked-cell-changed"]
    ]


def test_force_changed_on_the_cover(tmp_path, schedule):
    def edit(wb):
        wb[COVER_SHEET][layout.cover_cell("force")].value = "Essex"

    assert codes(ingest([make_return(tmp_path, schedule, "force", edit=edit)], schedule)) == [
        [COVER_SHEET, layout.cover_cell("force"), "force-changed"]
    ]


def test_sheet_deleted_or_renamed(tmp_path, schedule):
    def delete(wb):
        del wb["7 Managing risk to children"]

    def rename(wb):
        wb["6 Ending of involvement"].title = "6 Ending"

    assert codes(ingest([make_return(tmp_path, schedule, "deleted", edit=delete)], schedule)) == [
        ["7 Managing risk to children", None, "sheet-missing"]
    ]
    assert codes(ingest([make_return(tmp_path, schedule, "renamed", edit=rename)], schedule)) == [
        ["6 Ending of involvement", None, "sheet-missing"],
        ["6 Ending", None, "sheet-added"],
    ]


@pytest.mark.parametrize("action", ["insert", "delete"])
def test_rows_inserted_or_deleted(tmp_path, schedule, action):
    def edit(wb):
        ws = wb["2 Assessment and help"]
        ws.insert_rows(12) if action == "insert" else ws.delete_rows(12)

    report = ingest([make_return(tmp_path, schedule, action, edit=edit)], schedule)
    assert ["2 Assessment and help", "A12", "rows-inserted-or-deleted"] in codes(report)
    assert not report.ok


def test_other_schedule_version_says_which(tmp_path, schedule):
    def edit(wb):
        meta = wb[META_SHEET]
        for row in meta.iter_rows():
            if row[0].value == "schedule_version":
                row[1].value = "2025.3"

    report = ingest([make_return(tmp_path, schedule, "old", edit=edit)], schedule)
    assert codes(report) == [[META_SHEET, None, "other-schedule-version"]]
    assert "version 2025.3" in report.findings[0].message


def test_not_built_by_xlschedule(tmp_path, schedule):
    def edit(wb):
        del wb[META_SHEET]

    assert codes(ingest([make_return(tmp_path, schedule, "foreign", edit=edit)], schedule)) == [
        [None, None, "not-xlschedule"]
    ]


@pytest.mark.parametrize("content", [b"", b"force,score\nKent,4\n", b"PK\x03\x04truncated"])
def test_not_a_workbook(tmp_path, schedule, content):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    good = make_return(tmp_path, schedule, "good")
    report = ingest([path, good], schedule)
    assert codes(report) == [[None, None, "not-a-workbook"]]
    assert [r.status for r in report.returns] == [ReturnStatus.REJECTED, ReturnStatus.ACCEPTED]


def test_veryhidden_turned_hidden_is_accepted(tmp_path, schedule):
    def edit(wb):
        wb[META_SHEET].sheet_state = "hidden"

    assert ingest([make_return(tmp_path, schedule, "hidden", edit=edit)], schedule).ok


def test_unprotected_sheet_with_unchanged_content_is_accepted_with_a_warning(tmp_path, schedule):
    def edit(wb):
        wb["9 Police detention"].protection.sheet = False

    path = make_return(tmp_path, schedule, "unprotected", edit=edit)
    report = ingest([path], schedule)
    assert report.ok
    assert codes(report) == [["9 Police detention", None, "sheet-unprotected"]]
    strict = ingest([path], schedule, strict=True)
    assert not strict.ok and "rejected-strict" in [f.code for f in strict.findings]


def test_soft_checks(tmp_path, schedule):
    na = schedule.schedule.not_applicable
    values = {
        ("1 Initial contact", "C6"): None,  # unanswered
        ("1 Initial contact", "C7"): "No",  # low score ...
        ("1 Initial contact", "E7"): None,  # ... with no evidence
        ("9 Police detention", judgment_cell(schedule, "9 Police detention", "C")): na,  # step N/A ...
        ("9 Police detention", "C6"): "Yes",  # ... but an item scored
        ("Leadership", "E6"): "=SUM(1,2)",  # a formula typed as evidence
        (COVER_SHEET, layout.cover_cell("return_ref")): None,
    }
    for i in range(1, 7):
        values[("9 Police detention", f"C{layout.item_row(i)}")] = na
    path = make_return(tmp_path, schedule, "soft", values=values)
    report = ingest([path], schedule)
    assert report.ok  # warnings only
    assert sorted(codes(report)) == sorted([
        [COVER_SHEET, "B9", "missing-return-reference"],
        ["1 Initial contact", "C6", "unanswered"],
        ["1 Initial contact", "C7", "low-score-no-evidence"],
        ["9 Police detention", judgment_cell(schedule, "9 Police detention", "C"), "na-step-with-scores"],
        ["Leadership", "E6", "formula-in-evidence"],
    ])
    evidence = next(r for r in report.returns[0].responses if r.ref == "LMG.1").evidence
    assert evidence == "=SUM(1,2)"
    assert not ingest([path], schedule, strict=True).ok


def test_duplicate_file_and_duplicate_reference_are_counted_once(tmp_path, schedule):
    first = make_return(tmp_path, schedule, "a", ref="K-1")
    copy = tmp_path / "copy-of-a.xlsx"
    copy.write_bytes(first.read_bytes())
    same_ref = make_return(tmp_path, schedule, "b", ref="k-1", seed=9)
    other = make_return(tmp_path, schedule, "c", ref="K-2", seed=3)
    report = ingest([first, copy, same_ref, other], schedule)
    assert [r.status for r in report.returns] == [
        ReturnStatus.ACCEPTED, ReturnStatus.DUPLICATE, ReturnStatus.DUPLICATE, ReturnStatus.ACCEPTED
    ]
    assert codes(report) == [[None, None, "duplicate-file"], [None, None, "duplicate-return"]]
    assert len(report.accepted) == 2


def test_folders_are_searched_and_owner_files_skipped(tmp_path, schedule):
    make_return(tmp_path, schedule, "one")
    (tmp_path / "~$one.xlsx").write_bytes(b"owner")
    (tmp_path / "notes.txt").write_text("not a return")
    report = ingest([tmp_path], schedule)
    assert [Path(r.file).name for r in report.returns] == ["one.xlsx"]
    assert any("~$one.xlsx" in note for note in report.notes)


# --- the command line ----------------------------------------------------------------------


def test_ingest_exit_status_and_report(tmp_path, schedule):
    returns = tmp_path / "returns"
    returns.mkdir()
    make_return(returns, schedule, "good")
    make_return(returns, schedule, "bad", values={("1 Initial contact", "C6"): "Perhaps"})
    out = tmp_path / "consolidated.xlsx"
    result = run_cli("ingest", str(returns), "--out", str(out), "--report", str(tmp_path / "r.json"),
                     "--schedule", str(SCHEDULE_TOML))
    assert result.exit_code == 1, result.output
    assert out.exists()
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["counts"] == {"returns": 2, "accepted": 1, "rejected": 1, "duplicates": 0, "errors": 1, "warnings": 0,
                              "withdrawn": 0}
    assert "Traceback" not in result.output

    result = run_cli("validate", str(returns / "good.xlsx"))
    assert result.exit_code == 0, result.output


def test_evidence_is_never_printed(tmp_path, schedule):
    secret = "Child X disclosed abuse at school"
    values = {("1 Initial contact", "E6"): secret, ("Leadership", "E6"): "=HYPERLINK(\"x\")",
              ("1 Initial contact", "C7"): secret}
    path = make_return(tmp_path, schedule, "secret", values=values)
    result = run_cli("ingest", str(path), "--out", str(tmp_path / "c.xlsx"), "--report", str(tmp_path / "r.json"))
    assert secret not in result.output
    assert secret not in (tmp_path / "r.json").read_text()


def test_usage_errors_exit_2(tmp_path):
    result = run_cli("ingest", str(tmp_path / "missing"))
    assert result.exit_code == 2
    (tmp_path / "a-file").write_text("")
    result = run_cli("ingest", str(tmp_path), "--out", str(tmp_path / "a-file" / "such" / "c.xlsx"))
    assert result.exit_code == 2 and f"{tmp_path / 'a-file'} is a file, not a folder" in result.output


def test_ingest_and_validate_make_the_folders_their_outputs_go_in_as_build_does(tmp_path, schedule):
    path = make_return(tmp_path, schedule, "Kent-1")
    new = tmp_path / "new"
    outputs = {"--out": new / "out" / "c.xlsx", "--report": new / "report" / "r.json", "--csv": new / "csv" / "r.csv",
               "--db": new / "db" / "ledger.sqlite", "--feedback": new / "feedback" / "copies"}
    result = run_cli("ingest", str(path), *(a for option, out in outputs.items() for a in (option, str(out))))
    assert result.exit_code in (0, 1), result.output
    assert [option for option, out in outputs.items() if not out.exists()] == [], result.output
    assert (outputs["--feedback"] / "feedback.txt").is_file()
    report, db = tmp_path / "v" / "report" / "r.json", tmp_path / "v" / "db" / "ledger.sqlite"
    result = run_cli("validate", str(path), "--report", str(report), "--db", str(db))
    assert result.exit_code in (0, 1), result.output
    assert report.is_file() and db.is_file()


# --- through to the consolidated workbook -------------------------------------------------


def _responses(path: Path) -> list[dict]:
    ws = load_workbook(path)["Responses"]
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, row in enumerate(rows) if row[0] == "Force")  # below the marking and title
    return [dict(zip(rows[head], row)) for row in rows[head + 1:]]


def test_text_that_looks_like_a_formula_arrives_as_text(tmp_path, schedule):
    hostile = {"1.1": "=HYPERLINK(\"http://example.invalid\",\"x\")", "1.2": "+44 1632 960000",
               "1.3": "-2 days late", "1.4": "@SUM(A1:A3)"}
    values = {("1 Initial contact", f"E{layout.item_row(i)}"): text for i, text in enumerate(hostile.values())}
    values[(COVER_SHEET, layout.cover_cell("inspector"))] = "=cmd|' /C calc'!A0"
    path = make_return(tmp_path, schedule, "inject", values=values)
    out = tmp_path / "c.xlsx"
    result = run_cli("ingest", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    by_ref = {r["Ref"]: r for r in _responses(out)}
    for ref, text in hostile.items():
        assert by_ref[ref]["Evidence"] == text
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                live = cell.data_type == "f" and str(cell.value).startswith(("=HYPERLINK", "=cmd"))
                assert not live, (ws.title, cell.coordinate)
    returns = list(wb["Returns"].iter_rows(values_only=True))
    assert any("=cmd|' /C calc'!A0" in row for row in returns)


def test_several_returns_per_force_aggregate(tmp_path, schedule):
    """Two Essex returns judged 4 and 2 on step 1 average 3; an N/A third does not pull it to 2."""
    def judged(score):
        return {("1 Initial contact", judgment_cell(schedule, "1 Initial contact", "C")): score}

    paths = [
        make_return(tmp_path, schedule, "e1", force="Essex", mode=Mode.SCALE, seed=1, values=judged(4)),
        make_return(tmp_path, schedule, "e2", force="Essex", mode=Mode.SCALE, seed=2, values=judged("2")),
        make_return(tmp_path, schedule, "e3", force="Essex", mode=Mode.SCALE, seed=3, values=judged("N/A")),
        make_return(tmp_path, schedule, "k1", force="Kent", mode=Mode.SCALE, seed=4, values=judged(5)),
    ]
    out = tmp_path / "c.xlsx"
    result = run_cli("ingest", *map(str, paths), "--out", str(out))
    assert result.exit_code == 0, result.output
    ws = load_workbook(out)["Judgments (scale)"]
    rows = {row[0]: row for row in ws.iter_rows(values_only=True) if row and row[0] in ("Essex", "Kent")}
    header = next(row for row in ws.iter_rows(values_only=True) if row and row[0] == "Force")
    step1 = next(i for i, h in enumerate(header) if h and "Initial contact" in str(h))
    returns_col = header.index("Returns")
    assert rows["Essex"][returns_col] == 3 and rows["Kent"][returns_col] == 1
    assert rows["Essex"][step1] == pytest.approx(3.0)
    assert rows["Kent"][step1] == pytest.approx(5.0)
    judgments = [r for r in _responses(out) if r["Ref"] == "1.J" and r["Force"] == "Essex"]
    assert sorted(map(str, (r["Score"] for r in judgments))) == ["2", "4", "N/A"]


def test_committed_samples_are_in_step_with_the_schedule(tmp_path):
    result = run_cli("samples", "--out", str(tmp_path), "--schedule", str(SCHEDULE_TOML))
    assert result.exit_code == 0, result.output
    committed = SCHEDULE_TOML.parent / "samples"
    names = sorted(p.name for p in tmp_path.glob("*.xlsx"))
    assert names == sorted(p.name for p in committed.glob("*.xlsx"))
    for name in names:
        # What the cells mean, not the bytes: those also depend on how openpyxl serialises XML.
        fresh, kept = workbook_meaning(tmp_path / name), workbook_meaning(committed / name)
        assert fresh == kept, (
            f"samples/{name} is stale: run `xlschedule samples --out samples` and commit the result.\n"
            "(fresh != committed)\n" + "\n".join(differences(fresh, kept))
        )
    report = ingest([tmp_path], load_schedule_from(SCHEDULE_TOML))
    statuses = {Path(r.file).name: r.status for r in report.returns}
    assert statuses.pop("Essex-E-002-with-problems.xlsx") is ReturnStatus.REJECTED
    assert set(statuses.values()) == {ReturnStatus.ACCEPTED}


def with_return_ref(path: Path, ref: str) -> bytes:
    """A return's bytes with another return reference typed on its cover (openpyxl writes inline strings)."""
    cover = f'<c r="{layout.cover_cell("return_ref")}" '.encode()

    def rewrite(name: str, data: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":  # the cover
            start = data.index(cover)
            end = data.index(b"</c>", start)
            cell, count = re.subn(rb"<t>[^<]*</t>", f"<t>{ref}</t>".encode(), data[start:end])
            assert count == 1, cell
            data = data[:start] + cell + data[end:]
        return data

    return rezip(path.read_bytes(), rewrite)


def test_many_returns_checked_on_all_cores_match_checking_in_one_process(tmp_path, schedule, monkeypatch):
    import xlschedule.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "POOL_THRESHOLD", 8)  # what matters is pooled == serial, not how many
    many = pool_threshold(ingest_module)  # just enough files to be checked by worker processes
    forces = ["Kent", "Essex", "Cumbria", "Dyfed-Powys", "City of London"]
    made = [
        make_return(tmp_path, schedule, f"r{i:02d}", force=force, seed=i,
                    values={("1 Initial contact", "C6"): "Maybe"} if force == "Cumbria" else None)
        for i, force in enumerate(forces)
    ]
    good = [path for path, force in zip(made, forces) if force != "Cumbria"]
    for i in range(len(made), many):  # the rest: copies of the good ones under their own return reference
        write(tmp_path, f"r{i:02d}.xlsx", with_return_ref(good[i % len(good)], f"r{i:02d}"))
    assert len(list(tmp_path.glob("*.xlsx"))) == many
    monkeypatch.setattr("xlschedule.parallel.ProcessPoolExecutor", CountingPool)
    CountingPool.started = 0
    pooled = ingest([tmp_path], schedule, workers=2)
    pools = CountingPool.started
    assert pools >= 1, "the returns were not checked in worker processes"
    serial = ingest([tmp_path], schedule, workers=1)
    assert CountingPool.started == pools, "checking in one process started worker processes"
    assert [r.model_dump() for r in pooled.returns] == [r.model_dump() for r in serial.returns]
    assert len(pooled.accepted) == many - 1 and codes(pooled) == [["1 Initial contact", "C6", "invalid-score"]]
    assert {r.force for r in pooled.returns} == set(forces)

    class NoProcesses:
        """Where worker processes cannot start, every file is still checked, in this process."""

        def __init__(self, *args, **kwargs):
            from concurrent.futures.process import BrokenProcessPool

            raise BrokenProcessPool("no processes here")

    monkeypatch.setattr("xlschedule.parallel.ProcessPoolExecutor", NoProcesses)
    fallback = ingest([tmp_path], schedule, workers=2)
    assert [r.model_dump() for r in fallback.returns] == [r.model_dump() for r in serial.returns]


def test_cover_gaps_and_a_date_that_is_not_a_date(tmp_path, schedule):
    values = {(COVER_SHEET, layout.cover_cell("inspector")): None,
              (COVER_SHEET, layout.cover_cell("date")): "last Tuesday"}
    report = ingest([make_return(tmp_path, schedule, "cover", values=values)], schedule)
    assert report.ok
    assert codes(report) == [
        [COVER_SHEET, layout.cover_cell("date"), "date-not-recognised"],
        [COVER_SHEET, layout.cover_cell("inspector"), "missing-inspector"],
    ]
    assert report.returns[0].date == "last Tuesday"  # kept as typed, never guessed


@pytest.mark.parametrize("typed, expected", [("2026-11-20", "2026-11-20"), (46346, "2026-11-20")])
def test_dates_typed_as_text_or_as_a_bare_serial_are_read(tmp_path, schedule, typed, expected):
    values = {(COVER_SHEET, layout.cover_cell("date")): typed}
    report = ingest([make_return(tmp_path, schedule, "dated", values=values)], schedule)
    assert report.ok and codes(report) == []
    assert report.returns[0].date == expected


def test_a_return_for_a_force_no_longer_in_the_schedule(tmp_path, schedule):
    path = make_return(tmp_path, schedule, "gone")
    text = SCHEDULE_TOML.read_text(encoding="utf-8").replace('    "Kent",\n', "", 1)
    smaller = tmp_path / "schedule.toml"
    smaller.write_text(text, encoding="utf-8")
    other = load_schedule_from(smaller)
    assert "Kent" not in other.forces.names
    report = ingest([path], other)
    assert codes(report) == [[META_SHEET, None, "unknown-force"]]
