"""The built workbooks, read back as Excel would see them: content, validations, protection, limits."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from python_calamine import CalamineWorkbook

from xlschedule import layout
from xlschedule.model import COVER_SHEET, META_SHEET, SHEET_NAME_FORBIDDEN, Mode, safe_filename
from xlschedule.protection import PasswordHash, hash_password, verify_password
from xlschedule.registry import REGISTRY_DIR

from conftest import PASSWORD, SCHEDULE_TOML, CountingPool, blank_bytes, cores, run_cli, work_in_one_process
from test_seed import SEED, squash


def validations_by_cell(ws) -> dict[str, list]:
    """Every cell covered by a data validation, with the validations covering it."""
    cover: dict[str, list] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row, col in rng.cells:
                cover.setdefault(f"{get_column_letter(col)}{row}", []).append(dv)
    return cover


def unlocked_cells(ws) -> set[str]:
    return {
        c.coordinate
        for row in ws.iter_rows(min_row=1, max_row=ws.max_row + 5, max_col=ws.max_column + 3)
        for c in row
        if not c.protection.locked
    }


# --- content -------------------------------------------------------------------------------


def test_bundled_schedule_has_every_section_and_107_items(schedule):
    assert [s.ref for s in schedule.sections] == ["OA", *map(str, range(1, 10)), "LMG"]
    assert schedule.item_count == 107
    assert len(schedule.forces.names) == 43
    assert schedule.steps[8].title == "Police detention"


def test_build_with_no_arguments_from_repo_root_makes_43_workbooks(built_all):
    files = sorted(p.name for p in built_all.folder.iterdir() if p.name != REGISTRY_DIR)
    assert len(files) == 43
    assert "Avon_and_Somerset.xlsx" in files and "Dyfed-Powys.xlsx" in files
    assert "Built 43" in built_all.output


def test_build_from_anywhere_uses_the_bundled_schedule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no schedule.toml here
    result = run_cli("build", "--force", "Kent", "--force", "city of london")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == ["City_of_London.xlsx", "Kent.xlsx", REGISTRY_DIR]


def cell_reader(path: Path):
    """The cell values of a workbook, read by calamine (a reader independent of openpyxl, and quick)."""
    book = CalamineWorkbook.from_path(str(path))
    grids: dict[str, list[list]] = {}

    def value(sheet: str, ref: str):
        if sheet not in grids:
            grids[sheet] = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        col, row = coordinate_from_string(ref)
        r, c = row - 1, column_index_from_string(col) - 1
        grid = grids[sheet]
        got = grid[r][c] if r < len(grid) and c < len(grid[r]) else ""
        return None if got == "" else got

    return value


def test_every_item_is_in_every_workbook_verbatim(built_all, schedule):
    seed = squash(SEED.read_text(encoding="utf-8")) if SEED.exists() else None
    assert len(list(built_all.folder.glob("*.xlsx"))) == 43
    cols = layout.columns(Mode.YESNO)
    for force in schedule.forces.names:
        path = built_all.folder / f"{safe_filename(force)}.xlsx"
        value = cell_reader(path)
        assert value(COVER_SHEET, layout.cover_cell("force")) == force
        for section in schedule.sections:
            for i, item in enumerate(section.items):
                row = layout.item_row(i)
                assert value(section.sheet, f"{cols.ref}{row}") == item.ref, (path.name, section.sheet, row)
                assert value(section.sheet, f"{cols.text}{row}") == item.text, (path.name, section.sheet, row)
                if seed is not None:
                    assert squash(value(section.sheet, f"{cols.text}{row}")) in seed, (path.name, item.ref)
            # straight after the last item, the judgment under its own heading
            after = layout.item_row(len(section.items))
            assert after == layout.judgment_header_row(section)
            assert value(section.sheet, f"{cols.ref}{after}") == "Ref"
            assert value(section.sheet, f"{cols.ref}{after + 1}") == section.judgment_ref


def test_sheets_are_in_order_with_hidden_metadata(built, schedule):
    wb = load_workbook(built[Mode.YESNO])
    assert wb.sheetnames == layout.sheet_names(schedule)
    assert wb.sheetnames[:3] == ["Cover", "Overall", "1 Initial contact"]
    assert [ws.sheet_state for ws in wb.worksheets] == ["visible"] * 12 + ["veryHidden"]
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    assert meta["format"] == "xlschedule-return"
    assert meta["force"] == "Kent"
    assert meta["mode"] == "yesno"
    assert meta["schedule_version"] == schedule.schedule.version
    assert meta["schedule_fingerprint"] == schedule.fingerprint
    assert re.fullmatch(r"[0-9a-f]{64}", meta["content_fingerprint"])


def test_overall_sheet_pulls_in_every_step_judgment_below_its_own(built, schedule):
    for mode in (Mode.YESNO, Mode.SCALE, Mode.NARRATIVE):
        ws = load_workbook(built[mode])["Overall"]
        cols = layout.columns(mode)
        start = layout.steps_block_start(schedule.overall)
        # the block's heading sits straight below the overall judgment it is read against
        assert start - 1 == layout.judgment_row(schedule.overall) + 1
        assert ws[f"A{start - 1}"].value == "Ref"
        for offset, section in enumerate([*schedule.steps, schedule.leadership]):
            row = start + offset
            assert ws[f"A{row}"].value == section.judgment_ref
            assert ws[f"B{row}"].value == section.label
            for col in (cols.score, cols.policy, cols.evidence):
                if col:
                    source = f"'{section.sheet}'!{col}{layout.judgment_row(section)}"
                    formula = ws[f"{col}{row}"].value
                    assert formula.startswith("=") and source in formula, (mode, row, col)
                    if col in (cols.score, cols.policy):
                        assert ws[f"{col}{row}"].alignment.horizontal == "center"
            assert {ws[f"{c}{row}"].alignment.vertical for c in cols.all} == {"top"}, row
        if mode is Mode.SCALE:  # the scale's words, from the schedule's labels
            formula = ws[f"{cols.score}{start}"].value
            for option, label in schedule.modes[mode].labels.items():
                assert f'"{option} – {label}"' in formula


def test_every_section_has_a_judgment_row(built, schedule):
    ws_by = load_workbook(built[Mode.SCALE])
    for section in schedule.sections:
        ws = ws_by[section.sheet]
        assert ws[f"A{layout.judgment_row(section)}"].value == f"{section.ref}.J"
        assert ws[f"B{layout.INDICATOR_ROW}"].value == section.indicator
        headers = [c.value for c in ws[layout.judgment_header_row(section)]]
        assert headers == ["Ref", "Judgment on the indicator", "Score", "Policy fit", "Summary evidence"]
        assert [c.value for c in ws[layout.HEADER_ROW]] == [
            "Ref", "What we might expect to see", "Score", "Too long?", "Evidence"]


# --- modes and validations -----------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.YESNO, Mode.SCALE])
def test_scored_modes_have_stop_dropdowns_on_every_score_and_policy_cell(built, schedule, mode):
    wb = load_workbook(built[mode])
    expected_scores = ",".join(schedule.options(mode))
    expected_policy = ",".join(schedule.policy_fit_options())
    for section in schedule.sections:
        ws = wb[section.sheet]
        covered = validations_by_cell(ws)
        for cell in layout.section_inputs(section, mode):
            dvs = covered.pop(cell.cell, [])
            if cell.kind == "evidence":
                assert dvs == [], (section.sheet, cell.cell)
                continue
            assert len(dvs) == 1, (section.sheet, cell.cell)
            dv = dvs[0]
            want = expected_scores if cell.kind == "score" else expected_policy
            assert dv.type == "list"
            assert dv.formula1 == f'"{want}"'
            assert dv.showErrorMessage is True
            assert dv.errorStyle == "stop"
            assert dv.showInputMessage is True and dv.prompt
            assert dv.allow_blank is True
        assert covered == {}, f"validation on cells that are not inputs: {sorted(covered)}"


def test_scale_prompt_explains_every_point_of_the_scale(built, schedule):
    ws = load_workbook(built[Mode.SCALE])["1 Initial contact"]
    dv = validations_by_cell(ws)[f"C{layout.item_row(0)}"][0]
    for value, label in schedule.modes[Mode.SCALE].labels.items():
        assert f"{value} {label}" in dv.prompt
    assert "N/A" in dv.prompt


def test_narrative_mode_has_no_score_or_policy_cells(built, schedule):
    wb = load_workbook(built[Mode.NARRATIVE])
    for section in schedule.sections:
        ws = wb[section.sheet]
        assert validations_by_cell(ws) == {}
        assert ws.max_column == 4
        assert [c.value for c in ws[layout.HEADER_ROW]] == [
            "Ref", "What we might expect to see", "Too long?", "Evidence"]
        assert {c.kind for c in layout.section_inputs(section, Mode.NARRATIVE)} == {"evidence"}


def test_excel_limits_on_validation_texts(built):
    for mode in Mode:
        for ws in load_workbook(built[mode]).worksheets:
            for dv in ws.data_validations.dataValidation:
                if dv.type == "list":
                    assert len(dv.formula1) <= 255 and dv.formula1.startswith('"')
                    assert "!" not in dv.formula1  # a literal list, never a cross-sheet reference
                assert len(dv.promptTitle or "") <= 32 and len(dv.errorTitle or "") <= 32
                assert len(dv.prompt or "") <= 255 and len(dv.error or "") <= 225
                assert dv.showErrorMessage and dv.errorStyle == "stop"


def test_no_cell_has_two_validations(built):
    for mode in Mode:
        for ws in load_workbook(built[mode]).worksheets:
            doubled = {cell: dvs for cell, dvs in validations_by_cell(ws).items() if len(dvs) > 1}
            assert doubled == {}, (mode, ws.title)


def test_cover_inputs_have_validations(built):
    ws = load_workbook(built[Mode.YESNO])[COVER_SHEET]
    covered = validations_by_cell(ws)
    assert covered[layout.cover_cell("date")][0].type == "date"
    assert covered[layout.cover_cell("return_ref")][0].type == "textLength"
    assert set(covered) == {layout.cover_cell(f) for f in layout.COVER_INPUTS}


# --- protection ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
def test_every_sheet_protected_and_only_inputs_unlocked(built, schedule, mode):
    wb = load_workbook(built[mode])
    assert wb.security.lockStructure
    expected: dict[str, set[str]] = {}
    for cell in layout.input_cells(schedule, mode):
        expected.setdefault(cell.sheet, set()).add(cell.cell)
    for ws in wb.worksheets:
        assert ws.protection.sheet is True, ws.title
        assert ws.protection.formatRows is False, "rows must stay resizable"
        assert unlocked_cells(ws) == expected.get(ws.title, set()), ws.title


def test_input_cells_wrap_and_look_like_inputs(built, schedule):
    wb = load_workbook(built[Mode.YESNO])
    for cell in layout.input_cells(schedule, Mode.YESNO):
        c = wb[cell.sheet][cell.cell]
        assert c.fill.fgColor.rgb.endswith("FFF2CC"), (cell.sheet, cell.cell)
        if cell.kind == "evidence":
            assert c.alignment.wrap_text


def test_password_is_stored_as_sha512_with_salt_and_spin_count(built_with_password):
    wb = load_workbook(built_with_password)
    stored = set()
    for ws in wb.worksheets:
        p = ws.protection
        assert p.sheet is True, ws.title
        assert p.password is None  # no legacy 16-bit hash beside it
        stored.add(PasswordHash(p.algorithmName, p.hashValue, p.saltValue, p.spinCount))
    sec = wb.security
    assert sec.workbookPassword is None
    stored.add(PasswordHash(sec.workbookAlgorithmName, sec.workbookHashValue, sec.workbookSaltValue,
                            sec.workbookSpinCount))
    # One hash, salt and spin count on every sheet and on the structure: verifying it once verifies all.
    assert len(stored) == 1, stored
    (one,) = stored
    assert (one.algorithm, one.spin_count) == ("SHA-512", 100000)
    assert len(one.salt_value) >= 20 and one.hash_value
    assert verify_password(PASSWORD, one)
    assert not verify_password(PASSWORD.replace("pass", "Pass"), one)


def test_password_never_comes_from_schedule_toml(tmp_path):
    text = SCHEDULE_TOML.read_text(encoding="utf-8").replace(
        'not_applicable = "N/A"', 'not_applicable = "N/A"\npassword = "x"', 1
    )
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    result = run_cli("build", "--schedule", str(tmp_path / "s.toml"), "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "schedule.password: unknown key" in result.output


def test_password_hash_matches_a_known_vector():
    # Independent of our code: computed with the ECMA-376 agile algorithm by hand for salt 16 x 00.
    import base64
    import hashlib

    salt = bytes(16)
    h = hashlib.sha512(salt + "abc".encode("utf-16-le")).digest()
    for i in range(100000):
        h = hashlib.sha512(h + i.to_bytes(4, "little")).digest()
    assert hash_password("abc", salt).hash_value == base64.b64encode(h).decode()


# --- tabs, sheet names, printing -----------------------------------------------------------


def test_exactly_one_selected_tab_the_cover(built):
    for mode in Mode:
        with zipfile.ZipFile(built[mode]) as z:
            sheets = sorted(n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
            selected = [n for n in sheets if 'tabSelected="1"' in z.read(n).decode()]
            assert selected == ["xl/worksheets/sheet1.xml"]
        assert load_workbook(built[mode]).active.title == COVER_SHEET


def test_sheet_names_are_valid_in_excel(built):
    names = load_workbook(built[Mode.YESNO]).sheetnames
    for name in names:
        assert 0 < len(name) <= 31
        assert not SHEET_NAME_FORBIDDEN.intersection(name)
        assert not name.startswith("'") and not name.endswith("'")
    assert len({n.casefold() for n in names}) == len(names)
    assert "3 Investigation & enquiries" in names


def test_printing_is_set_up(built, schedule):
    wb = load_workbook(built[Mode.YESNO])
    for ws in wb.worksheets[:-1]:
        # the cover is a page of text, printed upright; the sheets' tables across
        assert ws.page_setup.orientation == ("portrait" if ws.title == COVER_SHEET else "landscape")
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.oddFooter.left.text == "Kent"
        assert "OFFICIAL-SENSITIVE" in ws.oddHeader.center.text
    # the title row (with the return's identity) and the column headings print on every page; on Overall
    # only the title row, since its judgment starts a page under headings of its own
    assert wb[COVER_SHEET].print_title_rows == f"$1:${layout.COVER_ID_ROW}"
    for ws in wb.worksheets[1:-1]:
        titles = layout.TITLE_ROW if ws.title == schedule.overall.sheet else layout.HEADER_ROW
        assert ws.print_title_rows == f"${layout.TITLE_ROW}:${titles}", ws.title
        assert ws.freeze_panes == f"A{layout.HEADER_ROW + 1}", ws.title
    assert [b.id for b in wb[schedule.overall.sheet].row_breaks.brk] == [
        layout.judgment_header_row(schedule.overall) - 1]


# --- determinism ---------------------------------------------------------------------------


def test_two_builds_give_the_same_bytes(tmp_path, built, schedule):
    for mode in Mode:
        again = tmp_path / mode.value
        assert run_cli("build", "--mode", mode.value, "--force", "Essex", "--force", "Kent",
                       "--out", str(again)).exit_code == 0
        assert (again / "Kent.xlsx").read_bytes() == built[mode].read_bytes(), mode
        # and the same as building it in another way, through the library
        assert (again / "Essex.xlsx").read_bytes() == blank_bytes(schedule, "Essex", mode), mode


def test_timestamps_are_fixed(built):
    with zipfile.ZipFile(built[Mode.YESNO]) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2  # created and modified


# --- bad input -----------------------------------------------------------------------------


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SCHEDULE_TOML.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "schedule.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ('sheet = "8 Recording"', 'sheet = "3 Investigation/enquiries"', r"steps\[7\]\.sheet: .*/.*forbids"),
        ('sheet = "8 Recording"', 'sheet = "1 INITIAL CONTACT"', r"sheet name '1 INITIAL CONTACT' is used twice"),
        ('sheet = "8 Recording"', 'sheet = "8 Recording of cases and the records kept"', r"Excel allows 31"),
        ('ref = "3.7"', 'ref = "3.6"', r"ref '3.6' is used twice"),
        ('default_mode = "yesno"', 'default_mode = "traffic-lights"', r"schedule\.default_mode: Input should be"),
        ('ref = "2.4"\ntext = "', 'ref = "2.4"\ntext = "  ', None),  # leading spaces are fine
        ('ref = "1.1"\ntext = "The response', 'ref = "1.1"\ntext = "   "\nx = "', r"steps\[0\]\.items\[0\]\.text"),
        ('title = "Assessment Criteria"', 'title = "Assessment Criteria', r"not valid TOML"),
    ],
)
def test_broken_schedule_is_named_by_toml_path_with_exit_2(tmp_path, old, new, expected):
    path = _broken(tmp_path, old, new)
    result = run_cli("build", "--schedule", str(path), "--force", "Kent", "--out", str(tmp_path / "out"))
    if expected is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert re.search(expected, result.output), result.output
    assert str(path) in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_schedule_and_unknown_force_are_usage_errors(tmp_path):
    result = run_cli("build", "--schedule", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2 and "cannot read the schedule" in result.output
    result = run_cli("build", "--force", "Atlantis", "--out", str(tmp_path))
    assert result.exit_code == 2 and "'Atlantis' is not in the schedule" in result.output


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("build", "--force", "Kent", "--out", str(blocker / "sub"))
    assert result.exit_code == 2
    assert f"--out {blocker / 'sub'}: cannot create the folder" in result.output


def test_list_too_long_for_excel_is_refused(tmp_path):
    many = ", ".join(f'"option number {i}"' for i in range(20))
    path = _broken(tmp_path, 'options = ["Yes", "No"]', f"options = [{many}]")
    result = run_cli("build", "--schedule", str(path), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "Excel allows 255" in result.output


def test_readme_starts_with_the_two_commands():
    readme = (SCHEDULE_TOML.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    assert "xlschedule build" in blocks[0]
    assert "pytest" in blocks[1]
    assert os.path.exists(SCHEDULE_TOML)


def test_naming_a_reused_blank_gives_the_same_bytes_as_a_fresh_build(schedule):
    """build() names one blank per mode for each force in turn; that must equal building afresh."""
    from xlschedule.build import build_blank, name_force
    from xlschedule.packager import workbook_bytes

    for mode in Mode:
        reused = build_blank(schedule, mode, None)
        for force in ("Kent", "Dyfed-Powys", "City of London", "Kent"):
            fresh = blank_bytes(schedule, force, mode)  # build_workbook, once per force and mode
            assert workbook_bytes(name_force(reused, schedule, force)) == fresh, (mode, force)


def test_many_forces_build_on_all_cores_with_the_same_bytes(built_all, tmp_path, monkeypatch, schedule):
    import xlschedule.build as build_module

    parallel_out, serial_out = built_all.folder, tmp_path / "serial"
    if cores() > 1:
        assert built_all.pools_started >= 1, "43 workbooks on several cores were built without worker processes"
    forces = schedule.forces.names[::5]  # enough for a pool, spread over the list
    assert len(forces) >= build_module.POOL_THRESHOLD
    work_in_one_process(monkeypatch, build_module)
    monkeypatch.setattr("xlschedule.parallel.ProcessPoolExecutor", CountingPool)
    CountingPool.started = 0
    assert run_cli("build", *(a for f in forces for a in ("--force", f)), "--out", str(serial_out)).exit_code == 0
    assert CountingPool.started == 0, "the build meant for one process started worker processes"
    assert len(list(parallel_out.glob("*.xlsx"))) == 43
    names = sorted(p.name for p in serial_out.glob("*.xlsx"))
    assert len(names) == len(forces)
    for name in names:
        assert (parallel_out / name).read_bytes() == (serial_out / name).read_bytes(), name


# --- what an inspector sees --------------------------------------------------------------------

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def test_every_font_names_its_face_and_size(built):
    """A font without a name is drawn in whatever the reader substitutes (a wide serif clips 'Indicator')."""
    from lxml import etree

    for mode in Mode:
        with zipfile.ZipFile(built[mode]) as zf:
            styles = etree.fromstring(zf.read("xl/styles.xml"))
            sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        fonts = styles.findall(f"{MAIN}fonts/{MAIN}font") + styles.findall(f"{MAIN}dxfs/{MAIN}dxf/{MAIN}font")
        assert len(fonts) >= 5
        for font in fonts:
            assert font.find(f"{MAIN}name") is not None and font.find(f"{MAIN}sz") is not None, etree.tostring(font)
        for xml in sheets:  # header and footer text names its font too
            for part in re.findall(r"<(?:oddHeader|oddFooter)>(.*?)</", xml):
                assert all(section.startswith('&amp;"Calibri,Regular"&amp;9') for section in
                           re.split(r"&amp;[LCR]", part) if section), part


@pytest.mark.parametrize("mode", list(Mode))
def test_input_rows_grow_with_their_text_and_start_roomy(built, schedule, mode):
    """No custom height on a row with an input: Excel then refits it as the inspector types."""
    rows_with_inputs: dict[str, set[int]] = {}
    for cell in layout.input_cells(schedule, mode):
        if cell.sheet != COVER_SHEET:
            rows_with_inputs.setdefault(cell.sheet, set()).add(int(coordinate_from_string(cell.cell)[1]))
    wb = load_workbook(built[mode])
    with zipfile.ZipFile(built[mode]) as zf:
        for index, name in enumerate(wb.sheetnames, start=1):
            if name not in rows_with_inputs:
                continue
            xml = zf.read(f"xl/worksheets/sheet{index}.xml").decode()
            rows = {int(m.group(1)): m.group(0) for m in re.finditer(r'<row r="(\d+)"[^>]*>', xml)}
            for r in rows_with_inputs[name]:
                assert "customHeight" not in rows[r], (name, r)
                assert float(re.search(r'ht="([\d.]+)"', rows[r]).group(1)) >= 30, (name, r)


def test_cover_speaks_of_the_workbook_and_says_what_is_left(built, schedule):
    ws = load_workbook(built[Mode.YESNO])[COVER_SHEET]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any(re.search(r"\bcolumn [123]\b", t, re.I) for t in texts), "the paper schedule's columns"
    how_to = " ".join(texts)
    assert "policy fit" in how_to
    # a row per section sheet: its name, and a formula counting what is still to give there
    for offset, section in enumerate(schedule.sections, start=1):
        row = layout.COVER_PROGRESS_ROW + offset
        assert ws[f"A{row}"].value == section.sheet
        formula = ws[f"B{row}"].value
        assert formula.startswith("=") and f"COUNTA({layout.quote_sheet(section.sheet)}!" in formula
    # the return's identity under the title, in the rows printed on every page
    assert "'Cover'!$B$9" in ws[f"A{layout.COVER_ID_ROW}"].value and "$B$10" in ws[f"A{layout.COVER_ID_ROW}"].value


@pytest.mark.parametrize("mode", list(Mode))
def test_every_section_sheet_shows_its_return_and_labels_every_column(built, schedule, mode):
    wb = load_workbook(built[mode])
    cols = layout.columns(mode)
    for section in schedule.sections:
        ws = wb[section.sheet]
        identity = ws[f"{cols.after_text}{layout.TITLE_ROW}"].value
        assert identity.startswith("=") and "'Cover'!$B$9" in identity and "'Cover'!$B$10" in identity
        if section is not schedule.overall:
            assert ws.print_title_rows == f"${layout.TITLE_ROW}:${layout.HEADER_ROW}"
        assert all(ws[f"{col}{layout.HEADER_ROW}"].value for col in cols.all), section.sheet
        # inputs look different once filled: a conditional format over every input cell
        formatted = {cell for rng in ws.conditional_formatting for r in rng.sqref.ranges for cell in
                     (f"{get_column_letter(c)}{row}" for row, c in r.cells)}
        assert {c.cell for c in layout.section_inputs(section, mode)} <= formatted


#: Excel's longest formula, in characters.
EXCEL_FORMULA_MAX = 8192


@pytest.mark.parametrize("mode", list(Mode))
def test_every_formula_fits_excels_limit(built, mode):
    """The progress formulas count each score against every option, on every sheet for the cover: the longest
    must still be one Excel can hold."""
    wb = load_workbook(built[mode])
    longest = max((len(c.value), ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows()
                  for c in row if isinstance(c.value, str) and c.value.startswith("="))
    assert longest[0] <= EXCEL_FORMULA_MAX, longest
