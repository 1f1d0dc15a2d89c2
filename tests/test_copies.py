"""What ingest, validate and upgrade write from a return, read back by readers that are not ours.

Text as Excel stores it (a bell, a pasted Word line break and an ESC as `_x0007_`, `_x000B_`, `_x001B_`)
comes back whole from every output; the consolidation is written before the feedback copies, and a copy
that cannot be written is named while the others are written; every name written fits the file system and
every text file escapes as the console does; and a copy's rows grow exactly where its blank's do (read from
the `customHeight` attribute of each row in the sheet XML, not from openpyxl).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string
from python_calamine import CalamineWorkbook

from test_versions import fill
from xlschedule import layout
from xlschedule.feedback import SUMMARY_FILE
from xlschedule.model import COVER_SHEET, Mode

from conftest import SCHEDULE_TOML, run_cli
from tables import table_rows

MODE = Mode.YESNO
REGISTRY = "xlschedule-registry"
#: Control characters as a person's Excel keeps them in a return: typed through Excel's own escape.
EVIDENCE = "Bell\x07, a pasted line break\x0b and ESC\x1b[31m red, all invented"
REF = "K\x07-1"
INSPECTOR = "Sgt\x1b[2J Smith"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def as_excel_stores(text: str) -> str:
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def as_excel_reads(value: object) -> object:
    """A string openpyxl read, with Excel's `_xHHHH_` escapes decoded as Excel decodes them."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value) if isinstance(value, str) else value


def cells(schedule) -> dict[str, tuple[str, str]]:
    cols, first = layout.columns(MODE), schedule.steps[0]
    return {"evidence": (first.sheet, f"{cols.evidence}{layout.item_row(0)}"),
            "ref": (COVER_SHEET, layout.cover_cell("return_ref")),
            "inspector": (COVER_SHEET, layout.cover_cell("inspector")),
            "score": (first.sheet, f"{cols.score}{layout.item_row(1)}"),
            "evidence 2": (first.sheet, f"{cols.evidence}{layout.item_row(1)}")}


def build(tmp: Path, *forces: str) -> Path:
    out = tmp / "output"
    args = [a for f in forces for a in ("--force", f)]
    result = run_cli("build", "--schedule", str(SCHEDULE_TOML), "--mode", MODE.value, *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def controlled_return(out: Path, path: Path, schedule, finding: bool) -> Path:
    """Kent's return with control characters in its evidence, reference and inspector; with `finding`, a
    low score with no evidence too (a warning: the return is accepted, and gets a feedback copy)."""
    where = cells(schedule)
    extra: dict = {where["evidence"]: as_excel_stores(EVIDENCE), where["ref"]: as_excel_stores(REF),
                   where["inspector"]: as_excel_stores(INSPECTOR)}
    if finding:
        extra[where["score"]], extra[where["evidence 2"]] = "No", None
    return fill(out / "Kent.xlsx", path, schedule, MODE, 1, "K-1", extra)


def read_both(path: Path, sheet: str, cell: str) -> tuple[object, object]:
    """A cell as openpyxl reads it (Excel's escapes decoded) and as calamine reads it."""
    by_openpyxl = as_excel_reads(load_workbook(path)[sheet][cell].value)
    col, row = column_index_from_string(cell.rstrip("0123456789")), int(cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    by_calamine = rows[row - 1][col - 1] if row <= len(rows) and col <= len(rows[row - 1]) else None
    return by_openpyxl, by_calamine


# --- item 1: control characters --------------------------------------------------------------------------


def test_control_characters_come_back_whole_from_every_output_and_are_never_printed(tmp_path, schedule):
    out = build(tmp_path, "Kent")
    ret = controlled_return(out, tmp_path / "returns" / "Kent-K-1.xlsx", schedule, finding=True)
    fb, c = tmp_path / "fb", tmp_path / "c.xlsx"
    result = run_cli("ingest", str(ret), "--out", str(c), "--csv", str(tmp_path / "r.csv"), "--report",
                     str(tmp_path / "r.json"), "--feedback", str(fb), "--registry", str(out / REGISTRY))
    assert result.exit_code == 0, result.output
    assert "low-score-no-evidence" in result.output
    for shown in (result.output, (fb / SUMMARY_FILE).read_text(encoding="utf-8")):
        assert "Bell" not in shown and "\x1b" not in shown and "\x07" not in shown
    assert "K\\x07-1" in (fb / SUMMARY_FILE).read_text(encoding="utf-8")  # escaped as the console escapes
    where = cells(schedule)
    copy = fb / "Kent-K-1-feedback.xlsx"
    for name, want in (("evidence", EVIDENCE), ("ref", REF), ("inspector", INSPECTOR)):
        assert read_both(copy, *where[name]) == (want, want), name
    [row] = [r for r in table_rows(c, "Returns", first="File") if r["Force"] == "Kent"]
    assert row["Return reference"] == REF and row["Inspector"] == INSPECTOR  # calamine
    assert any(r["Return"] == REF for r in table_rows(c, "Feedback"))
    responses = load_workbook(c, read_only=True)["Responses"]
    assert EVIDENCE in {as_excel_reads(v) for r in responses.iter_rows(values_only=True) for v in r}
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert (report["returns"][0]["return_ref"], report["returns"][0]["inspector"]) == (REF, INSPECTOR)
    title = as_excel_reads(load_workbook(copy)["Feedback"]["A2"].value)
    assert REF in str(title), title
    # The copy is read back by ingest as sent: the same answers, its Feedback sheet recognised as ours.
    again = run_cli("validate", str(copy), "--registry", str(out / REGISTRY), "--report", str(tmp_path / "a.json"))
    back = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["returns"][0]
    assert (back["return_ref"], back["inspector"]) == (REF, INSPECTOR)
    assert "sheet-added" not in again.output

    checked = run_cli("validate", str(ret), "--feedback", str(tmp_path / "fb2"), "--registry", str(out / REGISTRY))
    assert checked.exit_code == 0 and "Bell" not in checked.output
    assert read_both(tmp_path / "fb2" / copy.name, *where["evidence"]) == (EVIDENCE, EVIDENCE)


def test_upgrade_carries_control_characters_whole(tmp_path, schedule):
    out = build(tmp_path, "Kent")
    ret = controlled_return(out, tmp_path / "returns" / "Kent-K-1.xlsx", schedule, finding=False)
    result = run_cli("upgrade", str(ret), "--out", str(tmp_path / "up"), "--registry", str(out / REGISTRY))
    assert result.exit_code == 0, result.output
    assert "Bell" not in result.output
    where = cells(schedule)
    for name, want in (("evidence", EVIDENCE), ("ref", REF), ("inspector", INSPECTOR)):
        assert read_both(tmp_path / "up" / ret.name, *where[name]) == (want, want), name


# --- item 2: outputs are independent -----------------------------------------------------------------------


def test_a_copy_that_cannot_be_written_is_named_and_the_consolidation_and_other_copies_are_written(
    tmp_path, schedule,
):
    out = build(tmp_path, "Kent", "Essex")
    returns = tmp_path / "returns"
    score = {cells(schedule)["score"]: "Maybe"}
    fill(out / "Kent.xlsx", returns / "Kent-K-1.xlsx", schedule, MODE, 1, "K-1", score)
    fill(out / "Essex.xlsx", returns / "Essex-E-1.xlsx", schedule, MODE, 2, "E-1", score)
    fb = tmp_path / "fb"
    (fb / "Kent-K-1-feedback.xlsx").mkdir(parents=True)  # where Kent's copy would go: it cannot be written
    c, csv, report = tmp_path / "c.xlsx", tmp_path / "r.csv", tmp_path / "r.json"
    result = run_cli("ingest", str(returns), "--out", str(c), "--csv", str(csv), "--report", str(report),
                     "--feedback", str(fb), "--registry", str(out / REGISTRY))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    named = [line for line in result.output.splitlines() if "Kent-K-1-feedback.xlsx" in line]
    assert named and "could not be written" in named[0], result.output
    assert {r["Force"] for r in table_rows(c, "Returns", first="File")} == {"Kent", "Essex"}
    assert csv.stat().st_size > 0 and len(json.loads(report.read_text(encoding="utf-8"))["returns"]) == 2
    assert load_workbook(fb / "Essex-E-1-feedback.xlsx")["Feedback"] is not None
    summary = (fb / SUMMARY_FILE).read_text(encoding="utf-8")
    assert "Essex-E-1-feedback.xlsx" in summary
    assert any("Kent-K-1-feedback.xlsx" in line and "could not be written" in line for line in summary.splitlines())


# --- item 9: names --------------------------------------------------------------------------------------------


def _name_bytes(path: Path) -> int:
    return len(os.fsencode(path.name))


def test_long_names_are_shortened_to_fit_and_never_collide(tmp_path, schedule):
    out = build(tmp_path, "Kent")
    returns = tmp_path / "returns"
    score = {cells(schedule)["score"]: "Maybe"}
    stem = "Kent-" + "x" * 235  # a legal name (247 bytes with its ending); its copy's name would not be
    for n, tail in enumerate(("-A", "-B"), start=1):
        fill(out / "Kent.xlsx", returns / f"{stem}{tail}.xlsx", schedule, MODE, n, f"K-{n}", score)
    fb = tmp_path / "fb"
    result = run_cli("ingest", str(returns), "--out", str(tmp_path / "c.xlsx"), "--feedback", str(fb),
                     "--registry", str(out / REGISTRY))
    assert result.exit_code == 1, result.output
    copies = sorted(p for p in fb.iterdir() if p.name != SUMMARY_FILE)
    assert len(copies) == 2 and all(_name_bytes(p) <= 255 for p in copies)
    assert all(p.name.startswith("Kent-xxx") and p.name.endswith("-feedback.xlsx") for p in copies)
    summary = (fb / SUMMARY_FILE).read_text(encoding="utf-8")
    assert all(p.name in summary for p in copies)
    assert not [p for p in fb.iterdir() if p.name.startswith(".")]  # no temporary file left

    up = run_cli("upgrade", str(returns / f"{stem}-A.xlsx"), "--out", str(tmp_path / "up"),
                 "--registry", str(out / REGISTRY))
    assert up.exit_code == 1 and "Traceback" not in up.output  # not upgraded: its score is not an option
    fill(out / "Kent.xlsx", tmp_path / "ok" / f"{stem}-C.xlsx", schedule, MODE, 3, "K-3")
    up = run_cli("upgrade", str(tmp_path / "ok" / f"{stem}-C.xlsx"), "--out", str(tmp_path / "up"),
                 "--registry", str(out / REGISTRY))
    assert up.exit_code == 0, up.output
    assert [p.name for p in (tmp_path / "up").iterdir()] == [f"{stem}-C.xlsx"]


def test_feedback_txt_escapes_names_and_references_as_the_console_does(tmp_path, schedule):
    out = build(tmp_path, "Kent")
    returns = tmp_path / "returns"
    returns.mkdir()
    where = cells(schedule)
    odd_ref = "K-\u202e1\x1b[2J"
    odd = fill(out / "Kent.xlsx", tmp_path / "a.xlsx", schedule, MODE, 1, "K-1",
               {where["score"]: "Maybe", where["ref"]: as_excel_stores(odd_ref)})
    os.rename(odd, os.path.join(os.fsencode(returns), b"Kent-\xff-\n\xe2\x80\xae.xlsx"))
    fb = tmp_path / "fb"
    result = run_cli("ingest", str(returns), "--out", str(tmp_path / "c.xlsx"), "--feedback", str(fb),
                     "--registry", str(out / REGISTRY))
    assert result.exit_code == 1, result.output
    text = (fb / SUMMARY_FILE).read_text(encoding="utf-8")
    assert all(ch.isprintable() for line in text.splitlines() for ch in line), text
    assert "K-\\u202e1\\x1b[2J" in text and "Kent-\\xff-\\n\\u202e" in text
    [copy] = [p for p in fb.iterdir() if p.name != SUMMARY_FILE]
    assert load_workbook(copy)["Feedback"] is not None


# --- item 10: copies that grow ------------------------------------------------------------------------------


def row_heights(path: Path) -> dict[str, tuple[set[int], set[int]]]:
    """Sheet name -> (rows with a height, rows whose height is fixed: customHeight="1"), from the XML."""
    with zipfile.ZipFile(path) as zf:
        book = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        target = dict(re.findall(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
        target.update({i: t for t, i in re.findall(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
        out = {}
        for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', book):
            part = target[rid].lstrip("/")
            xml = zf.read(part if part.startswith("xl/") else f"xl/{part}").decode()
            rows = re.findall(r"<row\b[^>]*>", xml)
            number = [(int(re.search(r'\br="(\d+)"', r).group(1)), r) for r in rows]
            out[name] = ({n for n, r in number if " ht=" in r},
                         {n for n, r in number if re.search(r'customHeight="(1|true)"', r)})
        return out


def test_every_copy_has_exactly_its_blanks_growing_rows(tmp_path, schedule):
    out = build(tmp_path, "Kent")
    blank = row_heights(out / "Kent.xlsx")
    step = schedule.steps[0].sheet
    assert len(blank[step][1]) < len(blank[step][0])  # the blank's items grow: some rows are not fixed
    ret = fill(out / "Kent.xlsx", tmp_path / "returns" / "Kent-K-1.xlsx", schedule, MODE, 1, "K-1")
    assert run_cli("upgrade", str(ret), "--out", str(tmp_path / "up"), "--registry",
                   str(out / REGISTRY)).exit_code == 0
    bad = fill(out / "Kent.xlsx", tmp_path / "bad" / "Kent-K-2.xlsx", schedule, MODE, 2, "K-2",
               {cells(schedule)["score"]: "Maybe"})
    assert run_cli("validate", str(bad), "--feedback", str(tmp_path / "fb"), "--registry",
                   str(out / REGISTRY)).exit_code == 1
    assert run_cli("samples", "--out", str(tmp_path / "samples"), "--schedule", str(SCHEDULE_TOML)).exit_code == 0
    sample_blank = out.parent / "sample-blank"
    assert run_cli("build", "--schedule", str(SCHEDULE_TOML), "--force", "Kent", "--out",
                   str(sample_blank)).exit_code == 0
    upgraded = row_heights(tmp_path / "up" / ret.name)
    feedback = row_heights(tmp_path / "fb" / "Kent-K-2-feedback.xlsx")
    sample = row_heights(tmp_path / "samples" / "Kent-K-001.xlsx")
    for name, want in blank.items():
        assert upgraded[name] == want, name
        assert feedback[name] == want, name
    for name, want in row_heights(sample_blank / "Kent.xlsx").items():
        assert sample[name] == want, name


@pytest.mark.parametrize("name", ["a" * 241 + ".xlsx", "b" * 250 + ".xlsx"])
def test_a_file_of_any_legal_name_is_written_atomically(tmp_path, name):
    from xlschedule.packager import write_atomic

    write_atomic(tmp_path / name, b"data")
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_full_disk_or_a_fault_in_one_copy_leaves_the_others_and_never_prints_evidence(
    tmp_path, schedule, monkeypatch,
):
    import errno

    from xlschedule import feedback

    out = build(tmp_path, "Kent", "Essex", "Cumbria")
    returns = tmp_path / "returns"
    score = {cells(schedule)["score"]: "Maybe"}
    for n, force in enumerate(("Kent", "Essex", "Cumbria"), start=1):
        fill(out / f"{force}.xlsx", returns / f"{force}-{n}.xlsx", schedule, MODE, n, f"R-{n}", score)
    real_write, real_copy = feedback.write_atomic, feedback.annotated_copy

    def full_disk(path: Path, data: bytes) -> None:
        if path.name.startswith("Kent-"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(path, data)

    def faulty(path: Path, *args, **kwargs):
        if path.name.startswith("Essex-"):
            raise RuntimeError(f"cannot handle {EVIDENCE}")  # a fault whose message holds evidence
        return real_copy(path, *args, **kwargs)

    monkeypatch.setattr(feedback, "write_atomic", full_disk)
    monkeypatch.setattr(feedback, "annotated_copy", faulty)
    fb, c = tmp_path / "fb", tmp_path / "c.xlsx"
    result = run_cli("ingest", str(returns), "--out", str(c), "--feedback", str(fb), "--registry", str(out / REGISTRY))
    assert result.exit_code == 2, result.output
    assert "Bell" not in result.output and "Traceback" not in result.output
    lines = result.output.splitlines()
    assert any("Kent-1-feedback.xlsx" in line and "No space left on device" in line for line in lines), lines
    assert any("Essex-2-feedback.xlsx" in line and "RuntimeError" in line for line in lines), lines
    assert sorted(p.name for p in fb.iterdir()) == ["Cumbria-3-feedback.xlsx", SUMMARY_FILE]
    assert len(table_rows(c, "Returns", first="File")) == 3
    summary = (fb / SUMMARY_FILE).read_text(encoding="utf-8")
    assert "Bell" not in summary and "No space left on device" in summary and "RuntimeError" in summary


def _row_xml(path: Path, sheet: str, row: int) -> str:
    """The <row> start tag of `row` on `sheet`, as written."""
    with zipfile.ZipFile(path) as zf:
        book = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        rid = dict(re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', book))[sheet]
        target = re.search(rf'<Relationship[^>]*(?:Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}")',
                           rels)
        part = (target.group(1) or target.group(2)).lstrip("/")
        xml = zf.read(part if part.startswith("xl/") else f"xl/{part}").decode()
    return re.search(rf'<row\b[^>]*\br="{row}"[^>]*>', xml).group()


def test_long_evidence_shows_whole_in_every_copy(tmp_path, schedule):
    """Excel and LibreOffice do not refit a row on opening: a copy's row is as tall as its evidence needs."""
    from xlschedule.styles import text_height

    out = build(tmp_path, "Kent")
    sheet, cell = cells(schedule)["evidence"]
    long = "The call handler identified the risk to the child and passed it on at once. " * 20
    extra = {(sheet, cell): long, cells(schedule)["score"]: "Maybe"}
    ret = fill(out / "Kent.xlsx", tmp_path / "returns" / "Kent-K-1.xlsx", schedule, MODE, 1, "K-1", extra)
    assert run_cli("validate", str(ret), "--feedback", str(tmp_path / "fb"), "--registry",
                   str(out / REGISTRY)).exit_code == 1
    ok = fill(out / "Kent.xlsx", tmp_path / "ok" / "Kent-K-2.xlsx", schedule, MODE, 2, "K-2", {(sheet, cell): long})
    assert run_cli("upgrade", str(ok), "--out", str(tmp_path / "up"), "--registry", str(out / REGISTRY)).exit_code == 0
    row = int(cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    width = load_workbook(out / "Kent.xlsx")[sheet].column_dimensions[cell.rstrip("0123456789")].width
    blank_height = float(re.search(r'\bht="([\d.]+)"', _row_xml(out / "Kent.xlsx", sheet, row)).group(1))
    assert text_height(long, width) > blank_height  # the blank's starting height would cut it
    for copy in (tmp_path / "fb" / "Kent-K-1-feedback.xlsx", tmp_path / "up" / "Kent-K-2.xlsx"):
        tag = _row_xml(copy, sheet, row)
        assert "customHeight" not in tag, copy  # still grows as the inspector edits it
        assert float(re.search(r'\bht="([\d.]+)"', tag).group(1)) >= text_height(long, width), copy


def test_a_fault_in_xlschedule_is_one_line_that_never_quotes_a_return(tmp_path, schedule, monkeypatch):
    """A bug's exception may carry evidence in its message: the command line names its type only."""
    from click.testing import CliRunner

    from xlschedule import consolidate
    from xlschedule.cli import main

    def fault(*_args, **_kwargs):
        raise RuntimeError(f"could not place {EVIDENCE}")

    monkeypatch.setattr(consolidate, "write_outputs", fault)
    monkeypatch.delenv("XLSCHEDULE_DEBUG", raising=False)
    out = build(tmp_path, "Kent")
    ret = controlled_return(out, tmp_path / "returns" / "Kent-K-1.xlsx", schedule, finding=False)
    result = CliRunner().invoke(main, ["ingest", str(ret), "--out", str(tmp_path / "c.xlsx"), "--registry",
                                       str(out / REGISTRY)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "RuntimeError" in result.output and "XLSCHEDULE_DEBUG=1" in result.output
    assert "Bell" not in result.output and "\x1b" not in result.output
    monkeypatch.setenv("XLSCHEDULE_DEBUG", "1")
    again = CliRunner().invoke(main, ["ingest", str(ret), "--out", str(tmp_path / "c.xlsx"), "--registry",
                                      str(out / REGISTRY)])
    assert isinstance(again.exception, RuntimeError)  # asked for: the fault itself, to report it


def test_an_upgraded_file_that_cannot_be_written_is_named_and_the_others_are_written(tmp_path, schedule, monkeypatch):
    import errno

    from xlschedule import upgrade

    out = build(tmp_path, "Kent", "Essex")
    returns = tmp_path / "returns"
    first = fill(out / "Kent.xlsx", returns / "Kent-1.xlsx", schedule, MODE, 1, "K-1")
    second = fill(out / "Essex.xlsx", returns / "Essex-2.xlsx", schedule, MODE, 2, "E-2")
    real = upgrade.write_atomic

    def full_for_kent(path, data):
        if path.name == first.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, data)

    monkeypatch.setattr(upgrade, "write_atomic", full_for_kent)
    result = run_cli("upgrade", str(first), str(second), "--out", str(tmp_path / "up"), "--registry",
                     str(out / REGISTRY))
    assert result.exit_code == 2, result.output
    assert f"{first}: not upgraded: {tmp_path / 'up' / first.name}: cannot write (No space left on device)" \
        in result.output
    assert [p.name for p in (tmp_path / "up").iterdir()] == [second.name]  # the other is written, whole
    assert "Upgraded 1 of 2 returns" in result.output
