"""A built workbook opened in a real spreadsheet application (LibreOffice, standing in for Excel).

Skipped with a reason where LibreOffice is missing; CI (CI=true) turns that skip into a failure.
"""

from __future__ import annotations

import pytest

from xlschedule import layout
from xlschedule.model import COVER_SHEET, META_SHEET, Mode

from conftest import PASSWORD
from libreoffice import fill, inspect, unprotect


@pytest.mark.parametrize("mode", [Mode.YESNO, Mode.SCALE, Mode.NARRATIVE])
def test_libreoffice_sees_protection_and_dropdowns(built, schedule, mode):
    report = inspect(built[mode])
    sheets = {s["name"]: s for s in report["sheets"]}
    assert list(sheets) == layout.sheet_names(schedule)
    visible = [s for s in report["sheets"] if s["visible"]]
    assert [s["name"] for s in visible] == layout.sheet_names(schedule)[:-1]
    assert not sheets[META_SHEET]["visible"]
    for sheet in visible:
        assert sheet["protected"], sheet["name"]

    expected_unlocked: dict[str, set[str]] = {}
    for cell in layout.input_cells(schedule, mode):
        expected_unlocked.setdefault(cell.sheet, set()).add(cell.cell)
    for name, cells in expected_unlocked.items():
        assert set(sheets[name]["unlocked"]) == cells, name

    for section in schedule.sections:
        validations = sheets[section.sheet]["validations"]
        for cell in layout.section_inputs(section, mode):
            if cell.kind == "score":
                v = validations[cell.cell]
                assert v["type"] == "LIST"
                assert v["choices"] == schedule.options(mode)
                assert v["show_error"] and v["error_style"] == "STOP"
                assert v["input_message"]
            elif cell.kind == "policy":
                assert validations[cell.cell]["choices"] == schedule.policy_fit_options()
            else:
                assert cell.cell not in validations
        if mode is Mode.NARRATIVE:
            assert validations == {}


def test_libreoffice_accepts_the_password_and_refuses_another(built_with_password, tmp_path):
    done = unprotect(built_with_password, tmp_path / "open.xlsx", password=PASSWORD)
    assert "Cover" in done["unprotected"] and "9 Police detention" in done["unprotected"]
    # Refused for the wrong password, on the first sheet: not a timeout or any other failure of the helper.
    with pytest.raises(AssertionError, match=r"cannot unprotect sheet 'Cover' \(password-protected\?\)"):
        unprotect(built_with_password, tmp_path / "nope.xlsx", password="wrong horse")
    assert not (tmp_path / "nope.xlsx").exists()


def _progress(path, schedule, mode) -> tuple[dict[str, str], dict[str, str], object]:
    """What the workbook says of its progress once LibreOffice has recalculated it: each section sheet's top
    row, the cover's "Still to do" line for each, and the cover's completion."""
    from openpyxl import load_workbook

    wb = load_workbook(path, data_only=True)
    cover = wb[COVER_SHEET]
    top = {s.sheet: str(wb[s.sheet][f"{layout.columns(mode).after_text}{layout.TITLE_ROW}"].value)
           for s in schedule.sections}
    lines = {s.sheet: str(cover[f"B{layout.COVER_PROGRESS_ROW + i}"].value)
             for i, s in enumerate(schedule.sections, start=1)}
    return top, lines, cover[layout.cover_cell("completion")].value


@pytest.mark.parametrize("mode", [Mode.SCALE, Mode.YESNO])
def test_progress_counts_only_answers_that_are_one_of_the_options(built, schedule, mode, tmp_path):
    """Scores pasted past the dropdown ('Good', 'three') are not answers: the sheet's top row and the cover
    say how many are not one of the options, and the completion leaves them out. A score typed as a number
    and one picked as text both count, and so does N/A."""
    options, na = schedule.options(mode), schedule.schedule.not_applicable
    policy = schedule.policy_fit_options()[0]
    spec: list[dict] = []
    bad_step, part_step = schedule.steps[0], schedule.steps[1]
    answered = 0
    for section in schedule.sections:
        for n, cell in enumerate(c for c in layout.section_inputs(section, mode) if c.kind != "evidence"):
            if section is part_step and n >= 3:
                continue  # three given (one of them not an option), the rest still to give
            value: object = policy if cell.kind == "policy" else options[n % len(options)]
            kind = "number" if mode is Mode.SCALE and value != na and cell.kind == "score" and n % 2 else "string"
            if section is bad_step and n in (1, 2) or section is part_step and n == 0:
                value, kind = ("Good", "string") if n != 2 else ("three", "string")
            elif cell.kind == "score":
                answered += 1
            spec.append({"sheet": section.sheet, "cell": cell.cell, "value": value, "kind": kind})
    done = fill(built[mode], tmp_path / "return.xlsx", spec)
    assert done["errors"] == []
    top, lines, completion = _progress(tmp_path / "return.xlsx", schedule, mode)

    bad_total = len(layout.to_do_cells(bad_step, mode))
    part_total = len(layout.to_do_cells(part_step, mode))
    assert top[bad_step.sheet].endswith("This sheet: 2 answers are not one of the options")
    assert lines[bad_step.sheet] == "2 answers are not one of the options"
    want = f"1 answer is not one of the options; {part_total - 3} of {part_total} answers still to give"
    assert top[part_step.sheet].endswith(f"This sheet: {want}") and lines[part_step.sheet] == want
    others = [s for s in schedule.sections if s not in (bad_step, part_step)]
    for section in others:
        total = len(layout.to_do_cells(section, mode))
        assert lines[section.sheet] == f"all {total} answers given", section.sheet
    assert bad_total > 2
    scores = len(layout.answer_cells(schedule, mode))
    assert completion == pytest.approx(answered / scores)


def test_a_reference_pasted_past_the_covers_limit_is_cut_in_the_identity_printed_on_every_page(built, schedule,
                                                                                              tmp_path):
    """A 1,500-character return reference (pasted past the cover's validation; ingest refuses it) shows cut to
    its first words in the identity line every page prints at its top, so no page loses lines to it; the cover
    keeps it whole. A short one shows whole."""
    from openpyxl import load_workbook

    from xlschedule.build import IDENTITY_CHARS

    mode = Mode.SCALE
    long_ref = " ".join(f"ref{n}" for n in range(300))[:1500]
    spec = [{"sheet": COVER_SHEET, "cell": layout.cover_cell("return_ref"), "value": long_ref, "kind": "string"},
            {"sheet": COVER_SHEET, "cell": layout.cover_cell("inspector"), "value": "A. Inspector", "kind": "string"}]
    done = fill(built[mode], tmp_path / "return.xlsx", spec)
    assert done["errors"] == []
    wb = load_workbook(tmp_path / "return.xlsx", data_only=True)
    assert wb[COVER_SHEET][layout.cover_cell("return_ref")].value == long_ref
    top = str(wb[schedule.steps[0].sheet][f"{layout.columns(mode).after_text}{layout.TITLE_ROW}"].value)
    shown = long_ref[: IDENTITY_CHARS - 1] + "…"
    assert f"Return {shown}  ·  Inspector A. Inspector  ·  This sheet:" in top, top[:200]
    assert len(top) < 200
