"""Feedback to forces: `--feedback DIR` writes an annotated copy of each return with a finding, which the
inspector fixes and sends back.

A return is filled as a person would (with a pasted score of 7, "Maybe" as a policy fit, a low score with
no evidence, no inspector, a formula as evidence, an item's wording typed over and a note typed in a locked
cell), ingested with --feedback, and the copy is read as the inspector and the central team would: its
Feedback sheet, the note and highlight on each cell, what it kept. It is then ingested as it is, fixed and
ingested again, tampered with, and checked against its blank's protection and metadata.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from test_versions import fill
from xlschedule import layout
from xlschedule.consolidation.kit import Frame
from xlschedule.feedback import (
    FEEDBACK_SHEET,
    SUMMARY_FILE,
    SUMMARY_HEADERS,
    add_summary_sheet,
    summary_rows,
    write_feedback,
)
from xlschedule.ingest import ingest
from xlschedule.model import COVER_SHEET, META_SHEET, Mode
from xlschedule.registry import REGISTRY_DIR, Registry

from conftest import PASSWORD, SCHEDULE_TOML, run_cli
from tables import table_rows

MODE = Mode.SCALE
STEP1 = "1 Initial contact"
WORDING_TYPED = "We changed this question"
NOTE_TYPED = "a note typed beside the item"
FORMULA = "=CONCATENATE(\"see \",\"file\")"
EVIDENCE_MARK = "invented for training"  # in every sample evidence text: must never reach the console


def problems(schedule) -> dict[tuple[str, str], object]:
    item_text = schedule.steps[0].items[0].text
    assert item_text  # typed over below
    return {
        (STEP1, "C6"): 7,  # a score pasted past the dropdown
        (STEP1, "D17"): "Maybe",  # policy fit of the step judgment
        (STEP1, "C7"): 1, (STEP1, "E7"): None,  # a low score with no evidence
        (COVER_SHEET, layout.cover_cell("inspector")): None,
        (STEP1, "E8"): FORMULA,
        (STEP1, "B6"): WORDING_TYPED,  # locked: the item's wording
        (STEP1, "G9"): NOTE_TYPED,  # locked and empty in the blank
    }


@pytest.fixture(scope="module")
def round_(tmp_path_factory, schedule):
    """Essex's blank (1-5 scale, with a password) with its registry, a return with problems, a clean one and a
    file that is not a workbook, ingested with --feedback."""
    tmp = tmp_path_factory.mktemp("feedback")
    out = tmp / "output"
    result = run_cli("build", "--schedule", str(SCHEDULE_TOML), "--mode", MODE.value, "--force", "Essex",
                     "--force", "Kent", "--out", str(out), "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    returns = tmp / "returns"
    bad = fill(out / "Essex.xlsx", returns / "Essex-E-9.xlsx", schedule, MODE, 1, "E-9", problems(schedule))
    fill(out / "Kent.xlsx", returns / "Kent-K-1.xlsx", schedule, MODE, 2, "K-1")
    (returns / "Cumbria-C-1.xlsx").write_text("force,ref\nCumbria,C-1\n")
    registry = out / REGISTRY_DIR
    feedback = tmp / "feedback"
    result = run_cli("ingest", str(returns), "--out", str(tmp / "c.xlsx"), "--report", str(tmp / "r.json"),
                     "--registry", str(registry), "--feedback", str(feedback))
    assert result.exit_code == 1, result.output
    report = json.loads((tmp / "r.json").read_text(encoding="utf-8"))
    return {"tmp": tmp, "registry": registry, "bad": bad, "feedback": feedback, "output": result.output,
            "report": report, "copy": feedback / "Essex-E-9-feedback.xlsx", "blank": out / "Essex.xlsx"}


def findings_of(report: dict, name: str) -> list[dict]:
    [ret] = [r for r in report["returns"] if Path(r["file"]).name == name]
    return ret["findings"]


def ingest_one(path: Path, schedule, registry: Path):
    report = ingest([path], schedule, registry=Registry(registry))
    [ret] = report.returns
    return ret


def answers_by_ref(ret) -> dict[str, tuple]:
    return {r.ref: (r.score, r.policy, r.evidence) for r in ret.responses}


def test_only_returns_with_findings_get_a_copy_and_the_console_never_shows_evidence(round_):
    names = sorted(p.name for p in round_["feedback"].iterdir())
    assert names == ["Essex-E-9-feedback.xlsx", SUMMARY_FILE]
    assert f"Feedback: 1 copy to send back in {round_['feedback']}" in round_["output"]
    assert "1 return could not be copied" in round_["output"]
    assert EVIDENCE_MARK not in round_["output"] and NOTE_TYPED not in round_["output"]


def test_the_summary_says_which_forces_have_copies_and_why_and_which_returns_got_none(round_):
    text = (round_["feedback"] / SUMMARY_FILE).read_text(encoding="utf-8")
    assert "Essex, return E-9: Essex-E-9-feedback.xlsx" in text
    for f in findings_of(round_["report"], "Essex-E-9.xlsx"):
        assert f["code"] in text
    assert "Cumbria-C-1.xlsx: it could not be read as a return of this round (not-a-workbook)" in text
    assert "Kent-K-1" not in text
    assert EVIDENCE_MARK not in text and NOTE_TYPED not in text and WORDING_TYPED not in text


def test_the_feedback_sheet_comes_first_and_lists_every_finding_with_a_link_to_its_cell(round_):
    wb = load_workbook(round_["copy"])
    assert wb.sheetnames[0] == FEEDBACK_SHEET and wb.active.title == FEEDBACK_SHEET
    findings = findings_of(round_["report"], "Essex-E-9.xlsx")
    rows = table_rows(round_["copy"], FEEDBACK_SHEET, first="Sheet")
    assert [(r["Sheet"], r["Cell"], r["Code"]) for r in rows] == [(f["sheet"] or "", f["cell"] or "", f["code"])
                                                                  for f in findings]
    for row, f in zip(rows, findings, strict=True):
        assert row["Stops acceptance"] == ("Yes" if f["severity"] == "error" else "No")
        assert row["What is wrong"] and f["message"].startswith(row["What is wrong"])
    ws = wb[FEEDBACK_SHEET]
    links = {c.value: c.hyperlink for r in ws.iter_rows() for c in r if c.hyperlink is not None and c.column == 2}
    for f in findings:
        if f["cell"]:
            assert links[f["cell"]].location == f"{layout.quote_sheet(f['sheet'])}!{f['cell']}"
            assert links[f["cell"]].target is None  # internal: no relationship for ingest to refuse
    text = " ".join(str(c.value) for r in ws.iter_rows() for c in r if c.value)
    assert "Feedback on return E-9 of Essex, from the xlschedule run of" in text
    assert f"{len(findings)} findings: " in text
    assert ws["A1"].value == "OFFICIAL-SENSITIVE" and "OFFICIAL-SENSITIVE" in ws.oddHeader.center.text


def test_each_flagged_cell_has_a_note_and_a_highlight_on_its_own_sheet(round_, schedule):
    wb = load_workbook(round_["copy"])
    for f in findings_of(round_["report"], "Essex-E-9.xlsx"):
        if not f["cell"]:
            continue
        cell = wb[f["sheet"]][f["cell"]]
        assert cell.comment is not None and f["code"] in cell.comment.text, (f["sheet"], f["cell"])
        assert cell.border.left.style == "medium"
        first = next(iter(wb[f["sheet"]].conditional_formatting))
        assert f["cell"] in str(first.sqref) and first.rules[0].priority == 1 and first.rules[0].stopIfTrue
    # The evidence cell a low score needs is marked too.
    assert "E7" in wb[STEP1]["E7"].comment.text or "C7" in wb[STEP1]["E7"].comment.text
    # A locked cell says what the blank has (and the copy has back) and what the return had.
    note = wb[STEP1]["B6"].comment.text
    assert schedule.steps[0].items[0].text in note and WORDING_TYPED in note
    assert wb[STEP1]["B6"].value == schedule.steps[0].items[0].text
    assert NOTE_TYPED in wb[STEP1]["G9"].comment.text and wb[STEP1]["G9"].value is None
    assert "return E-9 of Essex" in wb[COVER_SHEET][layout.cover_cell("force")].comment.text


def test_values_ingest_could_not_accept_are_kept_in_their_cells(round_):
    wb = load_workbook(round_["copy"])
    assert wb[STEP1]["C6"].value == 7 and wb[STEP1]["D17"].value == "Maybe"
    assert "kept in this cell" in wb[STEP1]["C6"].comment.text


def test_the_copy_is_a_blank_of_its_own_template_with_its_protection_validations_and_metadata(round_):
    copy_wb, blank_wb = load_workbook(round_["copy"]), load_workbook(round_["blank"])
    assert copy_wb.sheetnames == [FEEDBACK_SHEET, *blank_wb.sheetnames]
    assert copy_wb.security.lockStructure and copy_wb.security.workbookHashValue
    for ws in [*blank_wb.worksheets]:
        mine = copy_wb[ws.title]
        assert mine.protection.sheet == ws.protection.sheet
        assert mine.protection.hashValue == ws.protection.hashValue  # the password, as issued
        assert [str(dv.sqref) for dv in mine.data_validations.dataValidation] == \
               [str(dv.sqref) for dv in ws.data_validations.dataValidation]
    assert copy_wb[FEEDBACK_SHEET].protection.sheet
    assert copy_wb[META_SHEET].sheet_state == "veryHidden"
    meta = {r[0].value: r[1].value for r in copy_wb[META_SHEET].iter_rows()}
    original = {r[0].value: r[1].value for r in load_workbook(round_["bad"])[META_SHEET].iter_rows()}
    assert {k: meta[k] for k in original} == original  # the same blank, fingerprint and all


def test_the_copy_ingests_with_the_findings_still_to_fix_and_every_answer_as_sent(round_, schedule):
    before = ingest_one(round_["bad"], schedule, round_["registry"])
    after = ingest_one(round_["copy"], schedule, round_["registry"])
    put_right = {"locked-cell-changed", "formula-in-evidence"}
    assert [(f.code, f.sheet, f.cell) for f in after.findings] == \
           [(f.code, f.sheet, f.cell) for f in before.findings if f.code not in put_right]
    assert answers_by_ref(after) == answers_by_ref(before)
    assert (after.return_ref, after.inspector, after.date) == (before.return_ref, before.inspector, before.date)


def test_the_fixed_copy_is_accepted_with_every_other_answer_identical(round_, schedule, tmp_path):
    wb = load_workbook(round_["copy"])
    wb[STEP1]["C6"] = 3
    wb[STEP1]["D17"] = "Partly"
    wb[STEP1]["E7"] = "Evidence behind the low score."
    wb[COVER_SHEET][layout.cover_cell("inspector")] = "A. Inspector"
    fixed = tmp_path / "Essex-E-9-feedback.xlsx"
    wb.save(fixed)
    after = ingest_one(fixed, schedule, round_["registry"])
    assert after.findings == [] and after.status.value == "accepted"
    before = answers_by_ref(ingest_one(round_["bad"], schedule, round_["registry"]))
    got = answers_by_ref(after)
    changed = {ref for ref in got if got[ref] != before[ref]}
    assert changed == {"1.1", "1.2", "1.J"}
    assert got["1.1"][0] == "3" and got["1.J"][1] == "Partly" and got["1.2"][2] == "Evidence behind the low score."
    assert after.inspector == "A. Inspector"


def test_an_edited_feedback_sheet_or_another_sheet_is_still_caught(round_, schedule, tmp_path):
    wb = load_workbook(round_["copy"])
    wb[FEEDBACK_SHEET]["A3"] = "All fine, nothing to fix."
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    codes = [(f.code, f.sheet) for f in ingest_one(edited, schedule, round_["registry"]).findings]
    assert ("sheet-added", FEEDBACK_SHEET) in codes

    wb = load_workbook(round_["copy"])
    wb.create_sheet("My notes")["A1"] = "notes"
    added = tmp_path / "added.xlsx"
    wb.save(added)
    codes = [(f.code, f.sheet) for f in ingest_one(added, schedule, round_["registry"]).findings]
    assert ("sheet-added", "My notes") in codes and ("sheet-added", FEEDBACK_SHEET) not in codes

    wb = load_workbook(round_["copy"])
    wb[STEP1]["B7"] = "Reworded by the force"
    locked = tmp_path / "locked.xlsx"
    wb.save(locked)
    found = [(f.code, f.sheet, f.cell) for f in ingest_one(locked, schedule, round_["registry"]).findings]
    assert ("locked-cell-changed", STEP1, "B7") in found


def test_without_a_registry_the_copy_is_of_the_rebuilt_blank_and_the_same_every_time(schedule, tmp_path):
    sample = Path(__file__).resolve().parents[1] / "samples" / "Essex-E-002-with-problems.xlsx"
    report = ingest([sample], schedule)
    day = date(2026, 11, 26)
    first = write_feedback(report.returns, schedule, tmp_path / "a", run_date=day)
    second = write_feedback(report.returns, schedule, tmp_path / "b", run_date=day)
    assert first[0].out is not None and second[0].out is not None
    assert first[0].out.read_bytes() == second[0].out.read_bytes()
    again = ingest([first[0].out], schedule).returns[0]
    assert [f.code for f in again.findings] == [f.code for f in report.returns[0].findings]
    assert answers_by_ref(again) == answers_by_ref(report.returns[0])
    assert "run of 2026-11-26" in (tmp_path / "a" / SUMMARY_FILE).read_text(encoding="utf-8")


def test_what_is_wrong_is_the_whole_problem_even_when_a_value_in_it_reads_like_a_sentence_end(round_, schedule):
    """A return reference "Case 12. Revisit", quoted by a finding, is not cut at its full stop: the copy's
    columns are the code's problem and fix, never a message split back into parts."""
    tmp = round_["tmp"] / "case-12"
    kent = round_["registry"].parent / "Kent.xlsx"
    first = fill(kent, tmp / "returns" / "Kent-a.xlsx", schedule, MODE, 3, "Case 12. Revisit")
    second = fill(kent, tmp / "returns" / "Kent-b.xlsx", schedule, MODE, 4, "Case 12. Revisit",
                  {(COVER_SHEET, layout.cover_cell("inspector")): None})
    for run in ("read", "from the ledger"):  # the second run takes the judgments from the ledger
        result = run_cli("ingest", str(first), str(second), "--registry", str(round_["registry"]),
                         "--out", str(tmp / "c.xlsx"), "--feedback", str(tmp / run), "--report", str(tmp / "r.json"))
        assert result.exit_code == 1, result.output
        [*_, duplicate] = findings_of(json.loads((tmp / "r.json").read_text(encoding="utf-8")), "Kent-b.xlsx")
        assert duplicate["message"] == f"{duplicate['problem']} {duplicate['fix']}"
        own, row = table_rows(tmp / run / "Kent-b-feedback.xlsx", FEEDBACK_SHEET, first="Sheet")
        assert (own["Code"], own["What is wrong"], own["What to do"]) == (
            "missing-inspector", "No inspector named on the cover.", "Fill in who completed the return.")
        assert row["Code"] == "duplicate-return"
        assert row["What is wrong"] == f"Kent return 'Case 12. Revisit' is also in {first}: it is counted once."
        assert row["What to do"] == "Give each return its own reference."
    assert "(0 read, 2 from the ledger)" in result.output


def sheet_text(path: Path) -> str:
    ws = load_workbook(path)[FEEDBACK_SHEET]
    return " ".join(str(c.value) for r in ws.iter_rows() for c in r if c.value)


def test_feedback_for_decides_whether_warnings_alone_earn_a_copy_and_each_copy_says_what_to_do(round_, schedule):
    """--feedback-for all (the default) gives a return accepted with warnings a copy that says so and what to do;
    --feedback-for errors gives it none, and says so on the console and in feedback.txt."""
    tmp = round_["tmp"] / "feedback-for"
    gaps = fill(round_["registry"].parent / "Kent.xlsx", tmp / "Kent-gaps.xlsx", schedule, MODE, 5, "K-gaps",
                {(COVER_SHEET, layout.cover_cell("inspector")): None})
    runs = {}
    for choice in ("all", "errors"):
        extra = () if choice == "all" else ("--feedback-for", "errors")
        runs[choice] = run_cli("validate", str(gaps), str(round_["bad"]), "--registry", str(round_["registry"]),
                               "--feedback", str(tmp / choice), *extra)
        assert runs[choice].exit_code == 1, runs[choice].output
        bad = sheet_text(tmp / choice / "Essex-E-9-feedback.xlsx")
        assert "Your return was not accepted: do what the last column says" in bad
    text = sheet_text(tmp / "all" / "Kent-gaps-feedback.xlsx")
    assert "Your return was accepted, with the gaps listed below: fill each" in text
    assert "save it and send it back, to take the place of the one you sent." in text
    assert not (tmp / "errors" / "Kent-gaps-feedback.xlsx").exists()
    assert "1 return accepted with warnings alone got none (--feedback-for errors)" in runs["errors"].output
    summary = (tmp / "errors" / SUMMARY_FILE).read_text(encoding="utf-8")
    assert "Accepted with warnings, no copy (--feedback-for errors" in summary
    assert f"- Kent, return K-gaps (from {gaps}): 1 warning(s): missing-inspector" in summary
    assert "if the gaps matter" not in (tmp / "all" / SUMMARY_FILE).read_text(encoding="utf-8")


def test_the_summary_sheet_lists_each_return_that_needs_attention(round_, schedule, tmp_path):
    from xlschedule.ingest import ingest as run

    report = run([round_["bad"], round_["tmp"] / "returns" / "Cumbria-C-1.xlsx"], schedule,
                 registry=Registry(round_["registry"]))
    copies = write_feedback(report.returns, schedule, tmp_path / "fb", Registry(round_["registry"]),
                            run_date=date(2026, 11, 26))
    wb = Workbook()
    frame = Frame(marking="OFFICIAL-SENSITIVE", title="Consolidated returns")
    ws = add_summary_sheet(wb, frame, copies, date(2026, 11, 26))
    path = tmp_path / "summary.xlsx"
    wb.save(path)
    rows = table_rows(path, ws.title)
    assert list(rows[0]) == list(SUMMARY_HEADERS)
    assert [tuple(r.values()) for r in rows] == [tuple(v) for v in summary_rows(copies)]
    assert [r["Force"] for r in rows] == ["Essex", ""]
    assert rows[0]["Feedback copy"] == "Essex-E-9-feedback.xlsx"
    assert rows[1]["Next step"].startswith("No copy: it could not be read") and rows[1]["Feedback copy"] == ""
    assert ws["A1"].value == "OFFICIAL-SENSITIVE" and "Feedback" in ws.tables


def test_a_feedback_folder_that_cannot_be_made_is_refused_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli("validate", str(tmp_path), "--feedback", str(blocker / "sub"))
    assert result.exit_code == 2 and "--feedback" in result.output


def test_the_copy_holds_no_active_content(round_):
    with zipfile.ZipFile(io.BytesIO(round_["copy"].read_bytes())) as zf:
        names = zf.namelist()
        rels = "".join(zf.read(n).decode() for n in names if n.endswith(".rels"))
    assert not any(n.startswith(("xl/vbaProject", "xl/externalLinks", "xl/embeddings")) for n in names)
    assert 'TargetMode="External"' not in rels
    assert any("comments" in n for n in names)


def test_the_consolidated_workbook_of_a_feedback_run_lists_the_copies(round_):
    """ingest --feedback puts the run's feedback summary in the consolidated workbook, listed on Contents."""
    path = round_["tmp"] / "c.xlsx"
    rows = table_rows(path, "Feedback")
    assert [(r["Force"], r["Feedback copy"]) for r in rows if r["Feedback copy"]] == [
        ("Essex", "Essex-E-9-feedback.xlsx")]
    assert any("Cumbria-C-1.xlsx" in r["File"] for r in rows)  # unreadable: no copy, and why
    contents = table_rows(path, "Contents", first="Sheet")
    assert "Feedback" in [r["Sheet"] for r in contents]
