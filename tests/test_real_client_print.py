"""A return filled in LibreOffice (standing in for Excel) and printed to PDF, read back as its reader reads it.

An inspector types 2,000 characters of evidence into every item and judgment; the printed return must hold
every word of it, say on every page which return it is, and say where evidence too long to print whole
reads in full. Needs LibreOffice and pdftotext (Debian's poppler-utils): skipped with a reason where either
is missing, failed under CI (CI=true).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from xlschedule import layout
from xlschedule.model import COVER_SHEET, Mode

from conftest import require
from libreoffice import SOFFICE, fill_and_print, require_libreoffice

EVIDENCE_CHARS = 2000
LONG_CHARS = 5000
#: Excel's (and LibreOffice's) tallest row, in points.
MAX_ROW_POINTS = 409.0
RETURN_REF = "K-2049"
INSPECTOR = "Inspector Quillfeather"


def require_pdftotext() -> str:
    found = shutil.which("pdftotext")
    require(None if found else "pdftotext not found: apt-get install poppler-utils to read printed returns")
    assert found is not None
    return found


def evidence(cell_number: int, chars: int = EVIDENCE_CHARS) -> str:
    """`chars` characters of words no other cell uses: 'c17w0'... so each can be found in the PDF."""
    words: list[str] = []
    while len(" ".join(words)) < chars:
        words.append(f"c{cell_number}w{len(words)}")
    text = " ".join(words)
    return text[: text.rfind(" ", 0, chars + 1)] if len(text) > chars else text


EVIDENCE_WORD = re.compile(r"\bc\d+w\d+\b")


def pdf_pages(pdftotext: str, pdf: Path, layout: bool = False) -> list[str]:
    """The printed text, page by page, whitespace collapsed; a cell's wrapped lines read on in order (with
    `layout`, line by line across the page instead, as the eye reads a row)."""
    args = [pdftotext, *(["-layout"] if layout else []), str(pdf), "-"]
    text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    return [" ".join(page.split()) for page in pages]


def typed(schedule, mode: Mode, long_cell: str | None = None) -> tuple[list[dict], dict[str, str]]:
    """What the inspector types: the cover, a score and policy fit wherever asked, and evidence everywhere."""
    spec = [
        {"sheet": COVER_SHEET, "cell": layout.cover_cell("return_ref"), "value": RETURN_REF, "kind": "string"},
        {"sheet": COVER_SHEET, "cell": layout.cover_cell("inspector"), "value": INSPECTOR, "kind": "string"},
    ]
    texts: dict[str, str] = {}
    for number, cell in enumerate(c for c in layout.input_cells(schedule, mode) if c.kind != "cover"):
        where = f"{cell.sheet}!{cell.cell}"
        if cell.kind == "evidence":
            value = evidence(number, LONG_CHARS if where == long_cell else EVIDENCE_CHARS)
            texts[where] = value
        elif cell.kind == "score":
            value = schedule.options(mode)[1]
        else:
            value = schedule.policy_fit_options()[1]
        spec.append({"sheet": cell.sheet, "cell": cell.cell, "value": value, "kind": "string"})
    return spec, texts


@pytest.mark.parametrize("mode", [Mode.SCALE, Mode.NARRATIVE])
def test_every_word_of_2000_characters_of_evidence_prints(built, schedule, mode, tmp_path):
    require_libreoffice()
    pdftotext = require_pdftotext()
    spec, texts = typed(schedule, mode)
    pdf = tmp_path / "return.pdf"
    done = fill_and_print(built[mode], tmp_path / "return.xlsx", pdf, spec)
    assert done["errors"] == [] and done["written"] == len(spec)
    assert {len(t) for t in texts.values()} <= set(range(EVIDENCE_CHARS - 10, EVIDENCE_CHARS + 1))

    # Each evidence row grew with its text and stays well under the tallest row there is.
    for where in texts:
        sheet, cell = where.split("!")
        height = done["heights"][f"{sheet}!{re.sub(r'^[A-Z]+', '', cell)}"]
        assert 100 < height < MAX_ROW_POINTS * 0.85, (where, height)

    pages = pdf_pages(pdftotext, pdf)
    printed = set(" ".join(pages).split())
    for where, text in texts.items():
        missing = [w for w in text.split() if w not in printed]
        assert not missing, f"{where}: {len(missing)} of {len(text.split())} words not printed, e.g. {missing[:3]}"

    # Every printed page says which return it is.
    for number, page in enumerate(pages, start=1):
        assert f"Return {RETURN_REF}" in page and f"Inspector {INSPECTOR}" in page, f"page {number}"


def test_evidence_too_long_to_print_says_so_and_where_it_reads_in_full(built, schedule, tmp_path):
    require_libreoffice()
    pdftotext = require_pdftotext()
    mode = Mode.SCALE
    step = schedule.steps[0]
    cols = layout.columns(mode)
    long_cell = f"{step.sheet}!{cols.evidence}{layout.item_row(2)}"
    spec, texts = typed(schedule, mode, long_cell=long_cell)
    pdf = tmp_path / "return.pdf"
    done = fill_and_print(built[mode], tmp_path / "return.xlsx", pdf, spec)
    assert done["errors"] == []
    assert len(texts[long_cell]) > layout.LONG_EVIDENCE

    # the evidence's own words set aside: pdftotext may read them between the lines of the narrow note
    pages = [" ".join(EVIDENCE_WORD.sub(" ", p).split()) for p in pdf_pages(pdftotext, pdf)]
    step_pages = [p for p in pages if f"{step.label} Kent · Return" in p]  # titled as the step's own pages
    assert step_pages
    cell = long_cell.split("!")[1]
    note = f"Too long to print whole: {len(texts[long_cell]):,} characters"
    assert any(note in p for p in step_pages), "no note beside the long evidence"
    assert any(f"The full text is in cell {cell}" in p for p in step_pages)
    # The sheet's top row, printed on each of its pages, counts it; so does the cover.
    assert all("1 evidence too long to print whole" in p for p in step_pages)
    assert "1 evidence too long to print whole" in pages[0]
    # Evidence that fits says nothing of the kind.
    others = [p for p in pages if step.label not in p and "Cover" not in p]
    assert not any("Too long to print whole" in p for p in others)


def test_overall_sheet_shows_the_step_judgments_in_words_beside_its_own(built, schedule, tmp_path):
    require_libreoffice()
    pdftotext = require_pdftotext()
    mode = Mode.SCALE
    spec, _texts = typed(schedule, mode)
    pdf = tmp_path / "return.pdf"
    fill_and_print(built[mode], tmp_path / "return.xlsx", pdf, spec)
    pages = pdf_pages(pdftotext, pdf)
    overall = " ".join(p for p in pages if schedule.overall.label in p)
    option = schedule.options(mode)[1]
    words = f"{option} – {schedule.modes[mode].labels[option]}"
    steps = [*schedule.steps, schedule.leadership]
    # every step judgment, in the scale's words, each ref beside its own step's name
    assert overall.count(words) == len(steps)
    for section in steps:
        assert f"{section.judgment_ref} {section.label}" in overall, section.judgment_ref
    # straight after the overall judgment, not after the items
    last_item = schedule.overall.items[-1].ref
    assert overall.index(last_item) < overall.index(schedule.overall.judgment_ref) < overall.index(
        f"{steps[0].judgment_ref} {steps[0].label}")


#: Points between two cells' text for them to read apart (a word space is about 2 points here).
MIN_GAP = 10.0


def printed_line(pdftotext: str, pdf: Path, page: int, first_word: str) -> dict[str, tuple[float, float]]:
    """Each word on the printed line that starts with `first_word` on the 0-based `page`: its left and right
    edges, in points."""
    import xml.etree.ElementTree as ET

    args = [pdftotext, "-bbox", "-f", str(page + 1), "-l", str(page + 1), str(pdf), "-"]
    html = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    words = [w for w in ET.fromstring(html[html.index("<html"):]).iter() if w.tag.endswith("word")]
    start = next(w for w in words if w.text == first_word)
    top = float(start.get("yMin", ""))
    return {str(w.text): (float(w.get("xMin", "")), float(w.get("xMax", ""))) for w in words
            if abs(float(w.get("yMin", "")) - top) < 2}


#: Pages the blank scale return printed on before the cover and Overall were laid out for print.
PAGES_BEFORE = 18


def test_a_return_prints_compactly_with_each_page_headed_for_what_it_holds(built, schedule, tmp_path):
    """The cover on at most two pages, its instructions whole on one; the Overall judgment's score and policy
    fit apart; the items' headings not repeated over the step judgments; the column beside the evidence
    named and explained; and the whole return on fewer pages than before."""
    require_libreoffice()
    pdftotext = require_pdftotext()
    mode = Mode.SCALE
    cols = layout.columns(mode)
    overall = schedule.overall
    judged = layout.judgment_row(overall)
    score = max(schedule.modes[mode].labels)  # "5", as a number: what Excel's dropdown stores
    policy = schedule.policy_fit_options()[0]
    spec = [
        {"sheet": overall.sheet, "cell": f"{cols.score}{judged}", "value": score, "kind": "number"},
        {"sheet": overall.sheet, "cell": f"{cols.policy}{judged}", "value": policy, "kind": "string"},
    ]
    pdf = tmp_path / "return.pdf"
    done = fill_and_print(built[mode], tmp_path / "return.xlsx", pdf, spec)
    assert done["errors"] == []
    pages = pdf_pages(pdftotext, pdf)
    assert len(pages) < PAGES_BEFORE, len(pages)
    rows = pdf_pages(pdftotext, pdf, layout=True)

    def titled(section) -> list[int]:
        return [i for i, p in enumerate(pages) if p.startswith(f"OFFICIAL-SENSITIVE {section.label} Kent")]

    first_sheet = titled(overall)[0]
    cover = pages[:first_sheet]
    assert 1 <= len(cover) <= 2, len(cover)
    how_to = [p for p in cover if "How to complete this workbook" in p]
    assert len(how_to) == 1 and "Save as an Excel workbook" in how_to[0], "the instructions are split"

    on_page = next(i for i in titled(overall) if f"{overall.judgment_ref} Overall judgment" in rows[i])
    judgment_page = rows[on_page]
    assert re.search(rf"{overall.judgment_ref} Overall judgment .*? {score} {policy}\b", judgment_page)
    # Score and policy fit read apart: more than a word space between them on the judgment's line (it was
    # 1.6 points, less than a space, when the number stood right in its cell and the text left in the next).
    line = printed_line(pdftotext, pdf, on_page, overall.judgment_ref)
    (_x0, score_end), (policy_start, _x1) = line[score], line[policy]
    assert policy_start - score_end > MIN_GAP, line
    # The judgment's page carries its own headings and the step judgments', not the items'.
    assert "What we might expect to see" not in judgment_page
    assert "Judgment on the indicator Score Policy fit Summary evidence" in judgment_page
    assert f"{schedule.steps[0].judgment_ref} {schedule.steps[0].label}" in judgment_page

    # The column between score and evidence is named for what it says, and the cover says what that is.
    step_page = rows[titled(schedule.steps[0])[0]]
    heading = re.search(r"What we might expect to see Score (.+?) Evidence", step_page)
    assert heading and heading.group(1) != "Note", step_page[:400]
    assert f"the column '{heading.group(1)}' beside it says so in red" in how_to[0]


def _sheet_pages(pdftotext: str, pdf: Path) -> dict[str, int]:
    """The first page of each sheet of a printed consolidation (0-based), by the name in its header."""
    first: dict[str, int] = {}
    for i, page in enumerate(pdf_pages(pdftotext, pdf)):
        first.setdefault(page.split(" ", 1)[0], i)
    return first


def test_the_consolidation_prints_no_figure_run_together_with_the_text_beside_it(tmp_path):
    """The samples consolidated and printed as an analyst prints them: on the Summary a force's latest date of
    audit and its mode, on Returns a return's date and mode, on Feedback the count of warnings and the codes,
    and on Mismatches a score and its policy fit each read apart (more than a word space between them; they
    printed 1.8 points apart, as "2026-11-06Written", before)."""
    require_libreoffice()
    pdftotext = require_pdftotext()
    from openpyxl import load_workbook

    from conftest import ROOT, run_cli

    out = tmp_path / "c.xlsx"
    result = run_cli("ingest", str(ROOT / "samples"), "--out", str(out), "--feedback", str(tmp_path / "fb"))
    assert result.exit_code == 1, result.output  # the sample with problems is rejected
    keep = ("Summary", "Returns", "Feedback", "Mismatches")
    wb = load_workbook(out)
    for ws in [ws for ws in wb.worksheets if ws.title not in keep]:
        wb.remove(ws)
    wb.save(tmp_path / "print.xlsx")
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(tmp_path / "print.xlsx")],
                   check=True, capture_output=True, timeout=600)
    pdf = tmp_path / "print.pdf"
    pages = _sheet_pages(pdftotext, pdf)
    pairs = [("Summary", "2026-11-06", "Written"), ("Returns", "2026-11-06", "narrative"),
             ("Feedback", "2", "missing-inspector,"), ("Mismatches", "1", "Yes")]
    for sheet, left, right in pairs:
        words = _words_after(pdftotext, pdf, pages[sheet], left)
        assert words and words[1][0] == right, (sheet, words)
        assert words[1][1] - words[0][2] > MIN_GAP / 2, (sheet, words)


def _words_after(pdftotext: str, pdf: Path, page: int, word: str) -> list[tuple[str, float, float]]:
    """The first `word` on the 0-based `page` and the word after it on its line: each with its left and right
    edges, in points."""
    import xml.etree.ElementTree as ET

    args = [pdftotext, "-bbox", "-f", str(page + 1), "-l", str(page + 1), str(pdf), "-"]
    html = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    words = [w for w in ET.fromstring(html[html.index("<html"):]).iter() if w.tag.endswith("word")]
    at = next((i for i, w in enumerate(words) if w.text == word), None)
    if at is None:
        return []
    return [(str(w.text), float(w.get("xMin", "")), float(w.get("xMax", ""))) for w in words[at:at + 2]]
