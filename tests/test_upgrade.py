"""`xlschedule upgrade`: answers carried into a fresh blank, inputs untouched, bad returns reported as ingest would."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from test_versions import fill
from xlschedule import layout
from xlschedule.build import open_blank
from xlschedule.ingest import ingest
from xlschedule.model import COVER_SHEET, Mode, Return
from xlschedule.registry import REGISTRY_DIR, Form, Registry
from xlschedule.upgrade import Answers, RowAnswer, Upgraded, carry, mark_changes

from conftest import SCHEDULE_TOML, blank_bytes, run_cli


def kent_round(tmp_path: Path, schedule, extra: dict | None = None) -> tuple[Path, Path]:
    out = tmp_path / "output"
    assert run_cli("build", "--schedule", str(SCHEDULE_TOML), "--force", "Kent", "--out", str(out)).exit_code == 0
    ret = fill(out / "Kent.xlsx", tmp_path / "returns" / "Kent-K-1.xlsx", schedule, Mode.YESNO, 1, "K-1", extra)
    return out / REGISTRY_DIR, ret


def test_an_unreadable_return_gets_ingests_findings_and_the_run_goes_on(tmp_path, schedule):
    registry, good = kent_round(tmp_path, schedule)
    bad = tmp_path / "returns" / "Essex-E-1.xlsx"
    bad.write_text("force,ref\nEssex,E-1\n")
    result = run_cli("upgrade", str(tmp_path / "returns"), "--out", str(tmp_path / "up"), "--registry", str(registry))
    assert result.exit_code == 1
    ingested = ingest([bad], schedule, registry=Registry(registry))
    [finding] = ingested.findings
    assert f"{bad}: error {finding.code}: {finding.message}" in result.output
    assert f"{bad}: not upgraded: 1 error(s)" in result.output
    assert sorted(p.name for p in (tmp_path / "up").iterdir()) == [good.name]
    assert "Upgraded 1 of 2 returns" in result.output


def test_upgrade_never_writes_over_a_return(tmp_path, schedule):
    registry, good = kent_round(tmp_path, schedule)
    before = good.read_bytes()
    result = run_cli("upgrade", str(good), "--out", str(good.parent), "--registry", str(registry))
    assert result.exit_code == 2 and "would overwrite a return" in result.output
    assert good.read_bytes() == before
    assert sorted(p.name for p in good.parent.iterdir()) == [good.name]


def test_evidence_is_carried_as_text_with_its_line_breaks(tmp_path, schedule):
    cols = layout.columns(Mode.YESNO)
    first = schedule.steps[0]
    odd = {
        (first.sheet, f"{cols.evidence}{layout.item_row(0)}"): "=1+1 is what the log says",
        (first.sheet, f"{cols.evidence}{layout.item_row(1)}"): "Line one\r\nline two\nline three",
    }
    registry, ret = kent_round(tmp_path, schedule, odd)
    read = ingest([ret], schedule, registry=Registry(registry))
    result = run_cli("upgrade", str(ret), "--out", str(tmp_path / "up"), "--registry", str(registry))
    assert result.exit_code == 0, result.output
    again = ingest([tmp_path / "up" / ret.name], schedule, registry=Registry(registry))
    assert again.flatten(["code"]) == []  # the formula-like text is now plain text: nothing to warn about
    before = {r.ref: r.evidence for r in read.returns[0].responses}
    after = {r.ref: r.evidence for r in again.returns[0].responses}
    assert after == before
    assert after[first.items[1].ref] == "Line one\r\nline two\nline three"
    cell = load_workbook(tmp_path / "up" / ret.name)[first.sheet][f"{cols.evidence}{layout.item_row(0)}"]
    assert cell.data_type == "s"


def test_carry_is_a_library_function_on_any_blank(schedule):
    form = Form.of(schedule, Mode.SCALE)
    answers = Answers(cover={"return_ref": "R-9", "inspector": "A. Person"},
                      rows={"3.7": RowAnswer("4", None, "seen"), "3.J": RowAnswer("N/A", "Partly", None),
                            "no-such-ref": RowAnswer("1")})
    data = carry(answers, blank_bytes(schedule, "Essex", Mode.SCALE), form)
    wb = load_workbook(__import__("io").BytesIO(data))
    row = next(r for r in form.rows if r.ref == "3.7")
    judgment = next(r for r in form.rows if r.ref == "3.J")
    assert wb[row.sheet][row.score].value == 4 and wb[row.sheet][row.evidence].value == "seen"
    assert (wb[judgment.sheet][judgment.score].value, wb[judgment.sheet][judgment.policy].value) == ("N/A", "Partly")
    assert wb["Cover"][layout.cover_cell("return_ref")].value == "R-9"
    assert wb[row.sheet].protection.sheet and wb.security.lockStructure


def test_upgrade_help_says_the_schedule_is_the_one_returns_are_upgraded_to():
    result = run_cli("upgrade", "--help")
    assert result.exit_code == 0
    said = " ".join(result.output.split())
    assert "--schedule FILE The schedule to upgrade the returns to: the fresh blanks are built from it" in said
    assert "the returns were built from" not in said


def test_a_score_no_longer_an_option_is_marked_on_its_cell_and_counted_on_the_cover(schedule):
    for mode, marked in ((Mode.SCALE, "score"), (Mode.NARRATIVE, "evidence")):
        form = Form.of(schedule, mode)
        wb = open_blank(blank_bytes(schedule, "Kent", mode))
        row = next(r for r in form.rows if r.ref == "3.1")
        result = Upgraded(Return(file="Kent.xlsx", schedule_version="2026.0"), dropped=["3.1"])
        mark_changes(wb, result, form, "2026.1")
        note = wb[row.sheet][getattr(row, marked)].comment
        assert note is not None and note.text.startswith("Your score was not carried: it is not one of the options "
                                                         "in version 2026.1. Pick one"), mode
        line = wb[COVER_SHEET][f"{layout.COVER_VALUE_COL}{layout.COVER_PROGRESS_ROW - 1}"].value
        assert line.startswith("Upgraded from schedule version 2026.0 to 2026.1: 1 item to re-check")
        assert line.endswith("1 whose score is no longer an option (pick one): 3.1.")
