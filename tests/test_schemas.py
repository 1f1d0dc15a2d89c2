"""Every part of every .xlsx xlschedule writes, validated against the ISO/IEC 29500 schemas.

The blanks in each mode (and with a password), the committed sample returns and the consolidated
workbook go through `ooxml.check_package`: each part against its schema by content type, then the
rules no schema states. The schemas are in `tests/ooxml-xsd/` and travel with the tests
(`$XLSCHEDULE_SHARED/ooxml-xsd` overrides them). Where they are missing the tests skip and say why;
under CI (`CI=true`) they fail. The last tests show that the validator can fail.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import SCHEDULE_TOML, require, run_cli, under_ci

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.xlsx"))
MODES = ("yesno", "scale", "narrative")
STEP_SHEET = "xl/worksheets/sheet3.xml"  # "1 Initial contact" in a blank: validations on C6:C15, C17, D17
WORKBOOK = "xl/workbook.xml"


_in_ci = under_ci


try:
    import ooxml  # needs lxml, from the test extra
except ImportError as exc:
    if _in_ci():
        raise
    pytest.skip(f"{exc}: install the test extra, pip install '.[test]'", allow_module_level=True)


def require_schemas() -> Path:
    """The schema folder, compiled once; skip (or, under CI, fail) when it is missing."""
    folder = ooxml.xsd_dir()
    missing = not (folder / "transitional" / "sml.xsd").is_file()
    require(f"OOXML schemas not found at {folder} (they come with the repository in tests/ooxml-xsd; "
            f"${ooxml.SHARED_ENV}, if set, must hold an ooxml-xsd folder)" if missing else None)
    ooxml.load_schema(folder.resolve())
    return folder


@pytest.fixture(scope="module", autouse=True)
def schemas() -> Path:
    return require_schemas()


@pytest.fixture(scope="module")
def blanks(tmp_path_factory) -> dict[str, Path]:
    """A Kent blank in each mode, and a yes/no one with a password, built through the command line."""
    out = {}
    for label, mode, extra in [(m, m, ()) for m in MODES] + [("yesno-password", "yesno", ("--password", "s3cret"))]:
        folder = tmp_path_factory.mktemp(f"schemas-{label}")
        result = run_cli("build", "--schedule", str(SCHEDULE_TOML), "--mode", mode, "--force", "Kent",
                         "--out", str(folder), *extra)
        assert result.exit_code == 0, result.output
        out[label] = folder / "Kent.xlsx"
    return out


@pytest.fixture(scope="module")
def consolidated(tmp_path_factory) -> Path:
    """The consolidated workbook of the samples (exit status 1: one sample is rejected, by design)."""
    out = tmp_path_factory.mktemp("schemas-consolidated") / "consolidated.xlsx"
    result = run_cli("ingest", str(SAMPLES), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert out.is_file(), result.output
    return out


def assert_valid(report: ooxml.Report, label: str, *, except_codes: tuple[str, ...] = ()) -> None:
    """Fail naming every part and line that breaks a schema or rule; warn about parts left unchecked."""
    if report.unchecked:
        warnings.warn(f"{label}: parts with no schema here: {report.unchecked}", stacklevel=2)
    errors = report.errors_except(*except_codes)
    if errors:
        pytest.fail(f"{label}: {len(errors)} problem(s):\n  " + "\n  ".join(errors), pytrace=False)


# -- what we write ------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [*MODES, "yesno-password"])
def test_blank_validates(blanks: dict[str, Path], label: str) -> None:
    report = ooxml.check_package(blanks[label])
    assert_valid(report, f"blank {label}")
    kinds = set(report.checked.values())
    assert {"x:workbook", "x:worksheet", "x:styleSheet", "a:theme", "cp:coreProperties", "ep:Properties",
            "rel:Relationships", "ct:Types"} <= kinds, kinds


def test_password_blank_carries_a_hash(blanks: dict[str, Path]) -> None:
    """So the password blank's validation covers the hashed protection, not just plain protection."""
    sheet = zipfile.ZipFile(blanks["yesno-password"]).read(STEP_SHEET).decode()
    assert re.search(r'<sheetProtection [^>]*algorithmName="SHA-512"[^>]*spinCount="100000"', sheet), sheet[:2000]


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_sample_return_validates(sample: Path) -> None:
    assert_valid(ooxml.check_package(sample), f"samples/{sample.name}")


def test_samples_are_there() -> None:
    assert len(SAMPLE_FILES) == 5, SAMPLE_FILES


@pytest.fixture(scope="module")
def consolidated_report(consolidated: Path) -> ooxml.Report:
    return ooxml.check_package(consolidated)


def test_consolidated_validates(consolidated: Path, consolidated_report: ooxml.Report) -> None:
    """Every part, charts, drawing and table included."""
    report = consolidated_report
    assert_valid(report, "consolidated")
    kinds = set(report.checked.values())
    assert {"c:chartSpace", "xdr:wsDr", "x:table", "x:worksheet", "a:theme"} <= kinds, kinds
    # What the schema checks was actually there to check.
    z = zipfile.ZipFile(consolidated)
    sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    for element in ("<conditionalFormatting", "<tableParts", "<drawing ", "<pane ", "<hyperlink ", "<headerFooter",
                    "<pageSetup ", "<rowBreaks"):
        assert element in sheets, f"the consolidated workbook has no {element}>"
    # Both long sheets are streamed into the package (shared strings, rows past the template): both were checked.
    for title in (b"Responses: every answer", b"Issues: every problem"):
        part = next(n for n in z.namelist() if n.startswith("xl/worksheets/sheet") and title in z.read(n))
        assert part in report.checked and b't="s"' in z.read(part), part


def test_consolidated_has_one_selected_tab(consolidated_report: ooxml.Report) -> None:
    assert [str(f) for f in consolidated_report.findings if f.code == "selected-tab"] == []


# -- the validator can fail ---------------------------------------------------------------------------


def edit_package(data: bytes, edits: dict[str, Callable[[str], str]], add: dict[str, bytes] | None = None) -> bytes:
    """The package with some parts' text edited (each edit must change its part) and parts added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            body = source.read(info)
            if info.filename in edits:
                text = body.decode("utf-8")
                edited = edits[info.filename](text)
                assert edited != text, f"the edit of {info.filename} changed nothing"
                body = edited.encode("utf-8")
            z.writestr(info.filename, body)
        for name, body in (add or {}).items():
            z.writestr(name, body)
    return out.getvalue()


def replace(old: str, new: str) -> Callable[[str], str]:
    return lambda text: text.replace(old, new, 1)


def move_protection_after_page_setup(text: str) -> str:
    protection = re.search(r"<sheetProtection [^>]*/>", text)[0]
    text = text.replace(protection, "")
    setup = re.search(r"<pageSetup [^>]*/>", text)[0]
    return text.replace(setup, setup + protection)




def literal_list(length: int) -> str:
    """A quoted list formula whose text inside the quotes is `length` characters."""
    return '"' + ("ab," * length)[: length - 1] + 'z"'


BROKEN = {  # id: (source, part, edit, the part named in the finding, text the finding must contain)
    "sheetProtection-after-pageSetup": ("blank", STEP_SHEET, move_protection_after_page_setup, STEP_SHEET,
                                        "Element 'x:sheetProtection': This element is not expected"),
    "unknown-attribute": ("blank", STEP_SHEET, replace("<sheetData>", '<sheetData bogus="1">'), STEP_SHEET,
                          "attribute 'bogus' is not allowed"),
    "bad-enumeration": ("blank", STEP_SHEET, replace('errorStyle="stop"', 'errorStyle="halt"'), STEP_SHEET,
                        "'halt' is not an element of the set"),
    "core-date": ("blank", "docProps/core.xml", replace(">2000-01-01T00:00:00Z<", ">last Tuesday<"),
                  "docProps/core.xml", "'last Tuesday' is not a valid value"),
    "content-types": ("blank", "[Content_Types].xml", replace("<Default ", '<Default Bogus="1" '),
                      "[Content_Types].xml", "attribute 'Bogus' is not allowed"),
    "relationships": ("blank", "_rels/.rels", replace("<Relationship ", "<Relationship Bogus='1' "),
                      "_rels/.rels", "attribute 'Bogus' is not allowed"),
    "theme": ("blank", "xl/theme/theme1.xml", replace("<a:themeElements>", '<a:themeElements bogus="1">'),
              "xl/theme/theme1.xml", "attribute 'bogus' is not allowed"),
    "styles": ("blank", "xl/styles.xml", replace("<fonts ", "<typefaces "), "xl/styles.xml", "not well-formed"),
    "wrong-root": ("blank", "xl/styles.xml", lambda t: re.sub(r"\bstyleSheet\b", "worksheet", t), "xl/styles.xml",
                   "root is x:worksheet, but its content type calls for x:styleSheet"),
    "xml-space": ("blank", STEP_SHEET, replace("<t>", '<t xml:space="keep">'), STEP_SHEET, "xml:space='keep'"),
    "chart": ("consolidated", "xl/charts/chart1.xml", replace("<barDir val=\"bar\"/>", "<barDir val=\"up\"/>"),
              "xl/charts/chart1.xml", "'up' is not an element of the set"),
    "drawing": ("consolidated", "xl/drawings/drawing1.xml", replace("<xfrm/>", ""), "xl/drawings/drawing1.xml",
                "Element 'a:graphic': This element is not expected"),
    "table-schema": ("consolidated", "xl/tables/table1.xml", replace("<autoFilter ", "<autoFilta "),
                     "xl/tables/table1.xml", "Element 'x:autoFilta': This element is not expected"),
    # The rules no schema states.
    "sheet-name-32": ("blank", WORKBOOK, replace('name="Cover"', f'name="{"C" * 32}"'), WORKBOOK,
                      "is 32 characters: Excel allows 1 to 31"),
    "sheet-name-repeats": ("blank", WORKBOOK, replace('name="Overall"', 'name="COVER"'), WORKBOOK,
                           "sheet name 'COVER' repeats 'Cover'"),
    "two-selected-tabs": ("blank", STEP_SHEET, replace('tabSelected="0"', 'tabSelected="1"'), WORKBOOK,
                          "2 sheets have tabSelected=1 (Cover, 1 Initial contact)"),
    "selected-not-active": ("blank", WORKBOOK, replace('activeTab="0"', 'activeTab="1"'), WORKBOOK,
                            "the selected tab is 'Cover' but activeTab=1"),
    "validation-overlap": ("blank", STEP_SHEET,
                           replace('<dataValidation sqref="D17"', '<dataValidation sqref="C17:D17"'), STEP_SHEET,
                           "C17:D17 overlaps C17"),
    "list-256": ("blank", STEP_SHEET, replace('"Yes,No,N/A"', literal_list(256)), STEP_SHEET,
                 "literal list is 256 characters; Excel allows 255"),
    "prompt-title-33": ("blank", STEP_SHEET, replace('promptTitle="Score: Yes / No"', f'promptTitle="{"T" * 33}"'),
                        STEP_SHEET, "promptTitle is 33 characters; Excel allows 32"),
    "error-226": ("blank", STEP_SHEET, lambda t: re.sub(r'error="[^"]*"', f'error="{"e" * 226}"', t, count=1),
                  STEP_SHEET, "error is 226 characters; Excel allows 225"),
    "prompt-256": ("blank", STEP_SHEET, lambda t: re.sub(r'prompt="[^"]*"', f'prompt="{"p" * 256}"', t, count=1),
                   STEP_SHEET, "prompt is 256 characters; Excel allows 255"),
    "table-header-mismatch": ("consolidated", "xl/tables/table1.xml",
                              replace('name="What it holds"', 'name="What it held"'),
                              "xl/tables/table1.xml", "column 2 is named 'What it held', but its header cell B4"),
    "table-column-repeats": ("consolidated", "xl/tables/table1.xml", replace('name="What it holds"', 'name="sheet"'),
                             "xl/tables/table1.xml", "column name 'sheet' repeats"),
}


def test_validator_accepts_the_limits_themselves(blanks: dict[str, Path]) -> None:
    """31, 255, 32, 255 and 225 characters are allowed: the rules must not over-report."""
    assert len(literal_list(255)) == 255 + 2
    data = edit_package(blanks["yesno"].read_bytes(), {
        WORKBOOK: replace('name="Cover"', f'name="{"C" * 31}"'),
        STEP_SHEET: lambda t: re.sub(r'promptTitle="[^"]*"', f'promptTitle="{"T" * 32}"', re.sub(
            r'error="[^"]*"', f'error="{"e" * 225}"', re.sub(r'prompt="[^"]*"', f'prompt="{"p" * 255}"', t.replace(
                '"Yes,No,N/A"', literal_list(255), 1), count=1), count=1), count=1),
    })
    assert_valid(ooxml.check_package(data), "blank at the limits")


@pytest.mark.parametrize("case", list(BROKEN))
def test_validator_reports_a_broken_part(case: str, blanks: dict[str, Path], consolidated: Path) -> None:
    source, part, edit, named, expected = BROKEN[case]
    data = (blanks["yesno"] if source == "blank" else consolidated).read_bytes()
    errors = ooxml.check_package(edit_package(data, {part: edit})).errors
    hits = [e for e in errors if e.startswith(f"{named}:") and expected in e]
    assert hits, f"expected a finding in {named} containing {expected!r}; got:\n" + "\n".join(errors)


def test_finding_names_part_line_and_element(blanks: dict[str, Path]) -> None:
    data = edit_package(blanks["yesno"].read_bytes(), {STEP_SHEET: move_protection_after_page_setup})
    errors = ooxml.check_package(data).errors
    assert any(re.match(rf"{re.escape(STEP_SHEET)}:\d+: Element 'x:sheetProtection': This element is not "
                        r"expected\. .* \(at /x:worksheet/x:sheetProtection\)$", e) for e in errors), errors


X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"


def excel_markup(text: str) -> str:
    """What Excel itself writes that the 2006 schemas do not know: ignorable attributes,
    AlternateContent, xml:space on <t>, and an x14 extension."""
    text = text.replace(
        "<worksheet ", f'<worksheet xmlns:mc="{ooxml.MC}" xmlns:x14ac="{X14AC}" mc:Ignorable="x14ac" ', 1)
    text = text.replace('<row r="1">', '<row r="1" x14ac:dyDescent="0.25">', 1)
    text = text.replace("<t>", '<t xml:space="preserve">', 1)
    text = text.replace("</sheetData>", f'</sheetData><mc:AlternateContent><mc:Choice Requires="x14">'
                                        f'<x14:unknown xmlns:x14="{ooxml.X14}"/></mc:Choice></mc:AlternateContent>', 1)
    return text.replace("</worksheet>", f'<extLst><ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}}" '
                        f'xmlns:x14="{ooxml.X14}"><x14:dataValidations count="1" xmlns:xm="{ooxml.XM}">'
                        '<x14:dataValidation type="list"><x14:formula1><xm:f>$Z$1:$Z$3</xm:f></x14:formula1>'
                        '<xm:sqref>Z9</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst>'
                        "</worksheet>", 1)


def test_validator_is_lenient_where_excel_is(blanks: dict[str, Path]) -> None:
    data = edit_package(blanks["yesno"].read_bytes(), {STEP_SHEET: excel_markup})
    assert_valid(ooxml.check_package(data), "blank with Excel's own markup")
    # ...but an x14 validation still counts towards "one validation a cell".
    data = edit_package(data, {STEP_SHEET: replace("<xm:sqref>Z9</xm:sqref>", "<xm:sqref>C9</xm:sqref>")})
    assert any("overlaps" in e for e in ooxml.check_package(data).errors)


@pytest.fixture(scope="module")
def feedback_copy(tmp_path_factory) -> Path:
    """The feedback copy of the sample return with problems (a Feedback sheet, notes on cells)."""
    from datetime import date

    from xlschedule.feedback import write_feedback
    from xlschedule.ingest import ingest
    from xlschedule.schedule import load_schedule

    schedule = load_schedule(SCHEDULE_TOML)
    report = ingest([SAMPLES / "Essex-E-002-with-problems.xlsx"], schedule)
    [made] = write_feedback(report.returns, schedule, tmp_path_factory.mktemp("schemas-feedback"),
                            run_date=date(2026, 11, 26))
    assert made.out is not None
    return made.out


def test_feedback_copy_validates(feedback_copy: Path) -> None:
    report = ooxml.check_package(feedback_copy)
    assert_valid(report, "feedback copy")
    comments = sorted(p for p, root in report.checked.items() if root == "x:comments")
    assert len(comments) == 2  # the cover, and the step sheet
    assert all(p.endswith(".vml") for p in report.unchecked)  # VML: checked by rule (_check_notes), no schema


def test_upgraded_return_with_what_to_recheck_marked_validates(tmp_path: Path) -> None:
    from test_versions import TEXT_A, fill, version_b
    from xlschedule.model import Mode
    from xlschedule.schedule import load_schedule

    out = tmp_path / "output"
    (tmp_path / "a.toml").write_text(TEXT_A, encoding="utf-8")
    (tmp_path / "b.toml").write_text(version_b(), encoding="utf-8")
    assert run_cli("build", "--schedule", str(tmp_path / "a.toml"), "--force", "Kent", "--out", str(out)).exit_code == 0
    kent = fill(out / "Kent.xlsx", tmp_path / "returns" / "Kent.xlsx", load_schedule(SCHEDULE_TOML), Mode.YESNO, 1,
                "K-1")
    assert run_cli("build", "--schedule", str(tmp_path / "b.toml"), "--force", "Kent", "--out", str(out)).exit_code == 0
    result = run_cli("upgrade", str(kent), "--out", str(tmp_path / "up"), "--schedule", str(tmp_path / "b.toml"),
                     "--registry", str(out / "xlschedule-registry"))
    assert result.exit_code == 0, result.output
    report = ooxml.check_package(tmp_path / "up" / kent.name)
    assert_valid(report, "upgraded return")
    assert len([p for p, root in report.checked.items() if root == "x:comments"]) == 2  # 3.7's sheet and 9.8's


def test_feedback_summary_sheet_validates(tmp_path: Path) -> None:
    from datetime import date

    from openpyxl import Workbook

    from xlschedule.consolidation.kit import Frame
    from xlschedule.feedback import Copy, add_summary_sheet
    from xlschedule.ingest import ingest
    from xlschedule.schedule import load_schedule

    report = ingest([SAMPLES / "Essex-E-002-with-problems.xlsx"], load_schedule(SCHEDULE_TOML))
    wb = Workbook()
    wb.active.sheet_view.tabSelected = True
    add_summary_sheet(wb, Frame("OFFICIAL-SENSITIVE", "Consolidated"), [Copy(report.returns[0])], date(2026, 11, 26))
    path = tmp_path / "summary.xlsx"
    wb.save(path)
    assert_valid(ooxml.check_package(path), "feedback summary sheet")


def test_validator_finds_notes_with_no_shape(feedback_copy: Path) -> None:
    data = feedback_copy.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        vml = next(n for n in zf.namelist() if n.endswith(".vml"))
    broken = edit_package(data, {vml: replace('ObjectType="Note"', 'ObjectType="Button"')})
    assert any("note shapes on" in e for e in ooxml.check_package(broken).errors)


def test_validator_covers_shared_strings_and_comments_and_lists_what_it_cannot_check() -> None:
    """Parts we do not write today (openpyxl writes inline strings) still get their schema."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment

    wb = Workbook()
    wb.active.sheet_view.tabSelected = True
    wb.active["A1"] = "hello"
    wb.active["A1"].comment = Comment("a note", "an inspector")
    buffer = io.BytesIO()
    wb.save(buffer)
    sst = f'<sst xmlns="{ooxml.X}" count="1" uniqueCount="1"><si><t>hello</t></si></sst>'.encode()
    ctype = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ooxml._SML}.sharedStrings+xml"/></Types>'
    rel = ('<Relationship Id="rIdSst" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
           'officeDocument/2006/relationships/sharedStrings"/></Relationships>')
    data = edit_package(buffer.getvalue(), {"[Content_Types].xml": replace("</Types>", ctype),
                                            "xl/_rels/workbook.xml.rels": replace("</Relationships>", rel)},
                        add={"xl/sharedStrings.xml": sst})
    report = ooxml.check_package(data)
    assert report.errors == []
    assert report.checked["xl/sharedStrings.xml"] == "x:sst"
    assert report.checked["xl/comments/comment1.xml"] == "x:comments"
    assert list(report.unchecked) == ["xl/drawings/commentsDrawing1.vml"]  # VML: reported, not passed
    broken = edit_package(data, {"xl/sharedStrings.xml": replace("<si>", "<si><b/>")})
    assert any(e.startswith("xl/sharedStrings.xml:1: Element 'x:b'") for e in ooxml.check_package(broken).errors)
