"""The consolidated workbook as its readers meet it: the marking on every sheet and printed page, a print
setup, named fonts, a contents that reaches every sheet, notes that explain the codes, and colour that
survives greyscale and colour-blindness (never red against green)."""

from __future__ import annotations

import colorsys
import re
import zipfile

import pytest
from lxml import etree
from openpyxl import load_workbook

from xlschedule.consolidate import write_consolidation
from xlschedule.consolidation import palette

from test_consolidate import SHEETS, rows_of, sample_returns

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


@pytest.fixture(scope="module")
def written(tmp_path_factory, schedule):
    """The consolidation of test_consolidate's sample returns (three modes, a rejected return)."""
    path = tmp_path_factory.mktemp("frame") / "consolidated.xlsx"
    write_consolidation(schedule, sample_returns(schedule), path)
    return path


@pytest.fixture(scope="module")
def written_wb(written):
    return load_workbook(written)


@pytest.mark.parametrize("sheet", SHEETS)
def test_every_sheet_carries_the_marking_on_screen_and_in_print(written_wb, schedule, sheet):
    ws = written_wb[sheet]
    marking = schedule.schedule.protective_marking
    assert ws["A1"].value == marking  # the first thing seen on screen
    assert marking in ws.oddHeader.center.text and marking in ws.oddFooter.center.text
    assert "&P" in ws.oddFooter.right.text and "&N" in ws.oddFooter.right.text
    assert not ws.HeaderFooter.differentOddEven and not ws.HeaderFooter.differentFirst


@pytest.mark.parametrize("sheet", SHEETS)
def test_every_sheet_prints_to_the_pages_width_with_its_headings(written_wb, sheet):
    ws = written_wb[sheet]
    assert ws.page_setup.orientation in ("landscape", "portrait")
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    if sheet in ("Cover", "Charts"):
        return
    assert ws.page_setup.orientation == "landscape"
    (table,) = ws.tables.values()
    head = re.match(r"[A-Z]+(\d+)", table.ref).group(1)
    assert ws.print_title_rows.replace("$", "") == f"{head}:{head}"  # the table's header repeated on every page
    assert ws.freeze_panes.endswith(str(int(head) + 1))


@pytest.mark.parametrize("sheet", ["Judgments (scale)", "Policy by force", "Summary"])
def test_a_heat_map_prints_with_its_force_names(written_wb, sheet):
    assert written_wb[sheet].print_title_cols.replace("$", "") == "A:A"


def test_every_font_names_its_face_and_size(written):
    with zipfile.ZipFile(written) as z:
        styles = etree.fromstring(z.read("xl/styles.xml"))
        charts = [etree.fromstring(z.read(n)) for n in z.namelist() if n.startswith("xl/charts/chart")]
    fonts = styles.findall(f"{MAIN}fonts/{MAIN}font")
    assert fonts
    for font in fonts:
        assert font.find(f"{MAIN}name") is not None, etree.tostring(font)
        assert font.find(f"{MAIN}sz") is not None, etree.tostring(font)
    assert charts
    for chart in charts:
        props = chart.findall(f".//{A}defRPr")
        assert props and all(p.find(f"{A}latin") is not None and p.get("sz") for p in props)


def test_contents_links_to_every_sheet(written_wb):
    rows = rows_of(written_wb["Contents"])
    assert [r["Sheet"] for r in rows] == SHEETS
    assert all(r["What it holds"] for r in rows)
    ws = written_wb["Contents"]
    links = {c.value: c.hyperlink.location for (c,) in ws.iter_rows(min_col=1, max_col=1) if c.hyperlink}
    for name in SHEETS:
        assert links[name].endswith("!A1") and name in links[name]


def test_notes_explain_the_codes_means_n_and_thresholds(written_wb):
    notes = [r["Note text"] for r in rows_of(written_wb["Notes"])]
    assert [r["Note number"] for r in rows_of(written_wb["Notes"])] == list(range(1, len(notes) + 1))
    text = " ".join(notes)
    for needle in ("[z] means not applicable", "[x] means not available", "mean of the scores", "n is how many",
                   "incomplete", "a high score is 4 or more and a low score 2 or less"):
        assert needle in text, needle


def test_cover_says_what_source_date_marking_and_contact(written_wb, schedule):
    ws = written_wb["Cover"]
    labels = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    for label in ("What this holds", "Source", "Dates of audit", "Protective marking", "Contact"):
        assert labels.get(label), label
    assert schedule.schedule.id in labels["Source"]
    assert "6 files received: 5 accepted, 1 rejected" in labels["What this holds"]


def test_no_cell_of_a_table_is_merged_and_every_cell_is_top_aligned(written_wb):
    for ws in written_wb.worksheets:
        assert not ws.merged_cells.ranges, ws.title
        for table in ws.tables.values():
            for row in ws[table.ref]:
                for cell in row:
                    assert cell.alignment.vertical == "top", (ws.title, cell.coordinate)


# --- colour ---------------------------------------------------------------------------------------


def hue_family(hex_colour: str) -> str | None:
    """'red' or 'green' for a saturated colour of that hue, else None."""
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4))
    h, light, s = colorsys.rgb_to_hls(r, g, b)
    if s < 0.25 or light > 0.92:
        return None
    degrees = h * 360
    if degrees < 20 or degrees > 340:
        return "red"
    if 90 <= degrees <= 150:
        return "green"
    return None


def scale_colours(written) -> list[list[str]]:
    with zipfile.ZipFile(written) as z:
        sheets = [etree.fromstring(z.read(n)) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    return [[c.get("rgb")[-6:] for c in scale.findall(f"{MAIN}color")]
            for sheet in sheets for scale in sheet.iter(f"{MAIN}colorScale")]


def test_heat_maps_are_one_sequential_palette_that_survives_greyscale(written):
    scales = scale_colours(written)
    assert len(scales) == 7  # judgments and items in three modes, and policy by force
    for colours in scales:
        lum = [palette.luminance(c) for c in colours]
        assert lum == sorted(lum, reverse=True), colours  # lighter to darker, all the way
        assert lum[0] / lum[-1] > 3, colours  # low and high print as clearly different greys
        assert "red" not in {hue_family(c) for c in colours}, colours
    assert palette.luminance(palette.HIGH) + 0.05 > 4.5 * 0.05  # black text readable on the darkest


def test_no_heat_map_legend_or_chart_sets_red_against_green(written):
    with zipfile.ZipFile(written) as z:
        styles = z.read("xl/styles.xml").decode()
        charts = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart"))
    fills = set(re.findall(r'<fgColor rgb="[0-9A-F]{2}([0-9A-F]{6})"', styles))
    chart_colours = set(re.findall(r'<a:srgbClr val="([0-9A-F]{6})"', charts))
    assert chart_colours == {palette.BAR}  # one colour: bars are read by their length and label
    families = {hue_family(c) for c in fills | chart_colours | {c for s in scale_colours(written) for c in s}}
    assert not {"red", "green"} <= families
    assert "red" not in families


def test_legend_shows_every_point_of_the_scale(written_wb, schedule):
    ws = written_wb["Judgments (scale)"]
    key_row = next(r for r in range(1, 10) if str(ws.cell(r, 1).value).startswith("Colour key"))
    labels = [ws.cell(key_row, c).value for c in range(3, 8)]
    spec = schedule.modes["scale"]
    assert labels == [f"{o} {spec.labels[o]}" for o in spec.options]
    greys = [palette.luminance(ws.cell(key_row, c).fill.fgColor.rgb[-6:]) for c in range(3, 8)]
    assert greys == sorted(greys, reverse=True) and len(set(greys)) == 5


def test_codes_and_numbers_look_different_from_blank(written_wb, schedule):
    """N/A, unanswered and no data each read differently: [z], [x], a number."""
    ws = written_wb["Judgments (yes-no)"]
    essex = {k: v for k, v in next(r for r in rows_of(ws) if r["Force"] == "Essex").items()}
    values = set(map(str, essex.values()))
    assert "[z]" in values and "[x]" in values
    assert None not in essex.values()


def test_loads_in_openpyxl_with_every_sheet(written):
    assert load_workbook(written).sheetnames == SHEETS
