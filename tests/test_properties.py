"""Property tests: mutated returns never crash ingest, and never pass with their locked content changed."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell

from conftest import SCHEDULE_TOML
from test_ingest import make_return
from xlschedule import layout
from xlschedule.build import build_workbook
from xlschedule.ingest import Templates, check_return
from xlschedule.model import META_SHEET, Mode, ReturnStatus
from xlschedule.schedule import load_schedule

SCHEDULE = load_schedule(SCHEDULE_TOML)
TEMPLATES = Templates(SCHEDULE)
WORK = Path(tempfile.mkdtemp(prefix="xlschedule-props-"))
GOOD = make_return(WORK, SCHEDULE, "Kent-good", ref="K-1")
GOOD_BYTES = GOOD.read_bytes()
INPUTS = {(c.sheet, c.cell) for c in layout.input_cells(SCHEDULE, Mode.YESNO)}
BLANK = build_workbook(SCHEDULE, "Kent", Mode.YESNO)
#: Every locked cell of the visible sheets that holds something, with its value in the blank.
LOCKED = {
    (ws.title, c.coordinate): c.value
    for ws in BLANK.worksheets
    if ws.title != META_SHEET
    for row in ws.iter_rows()
    for c in row
    if c.value is not None and (ws.title, c.coordinate) not in INPUTS
}
#: Locked cells that are empty in the blank (inside the used area of each sheet).
EMPTY_LOCKED = sorted(
    (ws.title, c.coordinate)
    for ws in BLANK.worksheets
    if ws.title != META_SHEET
    for row in ws.iter_rows()
    for c in row
    if c.value is None and (ws.title, c.coordinate) not in INPUTS and not isinstance(c, MergedCell)
)

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
#: Each example of these builds, fills and saves a workbook: fewer of them.
CELL_PROPS = settings(max_examples=30, deadline=None)
#: What a person can type into a cell (openpyxl, like Excel's file format, refuses control characters).
typeable = st.text(max_size=40).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s))


class Unreadable(Exception):
    """The oracle (openpyxl) cannot read the file at all."""


def locked_content_intact(path: Path) -> bool:
    """Independently of the checker: does the file still hold the blank's locked content?"""
    try:
        wb = load_workbook(path, read_only=True)  # cells only: damage elsewhere does not blind the oracle
        cells = {
            (ws.title, cell.coordinate): cell.value
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for cell in row
            if getattr(cell, "coordinate", None)
        }
        wb.close()
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(type(exc).__name__) from exc
    return all(
        cells.get(key) == value or (isinstance(value, str) and value.startswith("="))
        for key, value in LOCKED.items()
    )


mutations = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), st.integers(0, len(GOOD_BYTES) - 1), st.integers(0, 255)),
        st.tuples(st.just("truncate"), st.integers(0, len(GOOD_BYTES) - 1), st.just(0)),
        st.tuples(st.just("insert"), st.integers(0, len(GOOD_BYTES) - 1), st.integers(0, 255)),
    ),
    min_size=1,
    max_size=8,
)


@PROPS
@given(mutations)
def test_mutated_bytes_never_crash_and_never_pass_changed(ops):
    data = bytearray(GOOD_BYTES)
    for op, pos, byte in ops:
        pos = min(pos, max(len(data) - 1, 0))
        if op == "flip" and data:
            data[pos] = byte
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data.insert(pos, byte)
    path = WORK / "mutated.xlsx"
    path.write_bytes(bytes(data))
    ret = check_return(path, SCHEDULE, TEMPLATES)  # unguarded: any exception fails the test
    if ret.status is ReturnStatus.ACCEPTED:
        assert locked_content_intact(path)  # a readable zip was damaged only where it does not matter


values = st.one_of(
    typeable,
    st.integers(-10, 10_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["=1+1", "Yes", "1.1", " ", "N/A"]),
)


@CELL_PROPS
@given(st.sampled_from(sorted(LOCKED)), values)
def test_a_changed_locked_cell_is_never_accepted(target, value):
    sheet, coord = target
    original = LOCKED[target]
    if value == original or (isinstance(value, str) and not value.strip() and original is None):
        return
    if isinstance(value, str) and value.startswith("=") and isinstance(original, str) and original.startswith("="):
        return

    def edit(wb):
        wb[sheet][coord].value = value if value != "" else None

    path = make_return(WORK, SCHEDULE, "changed", ref="K-2", edit=edit)
    ret = check_return(path, SCHEDULE, TEMPLATES)
    assert ret.status is ReturnStatus.REJECTED, (target, value, [f.code for f in ret.findings])


@CELL_PROPS
@given(st.sampled_from(EMPTY_LOCKED), typeable.filter(lambda s: s.strip()))
def test_text_typed_into_an_empty_locked_cell_is_never_accepted(target, value):
    sheet, coord = target

    def edit(wb):
        wb[sheet][coord].value = value

    path = make_return(WORK, SCHEDULE, "typed", ref="K-3", edit=edit)
    ret = check_return(path, SCHEDULE, TEMPLATES)
    assert ret.status is ReturnStatus.REJECTED, (target, value)


def test_the_unmutated_return_is_accepted():
    """The baseline the properties mutate from: without this, they could pass vacuously."""
    assert check_return(GOOD, SCHEDULE, TEMPLATES).status is ReturnStatus.ACCEPTED
    assert locked_content_intact(GOOD)
    assert len(LOCKED) > 300 and len(EMPTY_LOCKED) > 50
    with zipfile.ZipFile(io.BytesIO(GOOD_BYTES)) as zf:
        assert "xl/workbook.xml" in zf.namelist()


with zipfile.ZipFile(io.BytesIO(GOOD_BYTES)) as _zf:
    PARTS = {name: _zf.read(name) for name in _zf.namelist()}
XML_PARTS = sorted(n for n in PARTS if n.endswith(".xml"))
CONTENT_PARTS = {n for n in XML_PARTS if n.startswith("xl/worksheets/")} | {"xl/workbook.xml", "xl/sharedStrings.xml"}


def _mutated_file(part: str, flips: list[tuple[float, int]], name: str) -> Path:
    xml = bytearray(PARTS[part])
    for where, byte in flips:
        xml[int(where * len(xml))] = byte
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for part_name, data in PARTS.items():
            zf.writestr(part_name, bytes(xml) if part_name == part else data)
    path = WORK / name
    path.write_bytes(out.getvalue())
    return path


@PROPS
@given(st.sampled_from(XML_PARTS), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_xml_inside_a_sound_zip_never_crashes_or_passes_changed(part, flips):
    """Bytes changed inside the XML, then zipped properly: the parser and the checks see the damage."""
    path = _mutated_file(part, flips, "xml-mutated.xlsx")
    ret = check_return(path, SCHEDULE, TEMPLATES)
    if ret.status is not ReturnStatus.ACCEPTED or part not in CONTENT_PARTS:
        return  # damage to styles, theme or properties cannot change cell content
    try:
        assert locked_content_intact(path)
    except Unreadable:
        # openpyxl refuses some damage of its own accord (a page margin or a defined name that is
        # malformed). Cells live only in a sheet's sheetData, and sheet names and states only in the
        # workbook's sheets element: judge the damage inside those alone, which openpyxl can read.
        opening, closing = (b"<sheets", b"</sheets>") if part == "xl/workbook.xml" else (b"<sheetData", b"</sheetData>")
        original = PARTS[part]
        start, end = original.find(opening), original.find(closing) + len(closing)
        inside = [(w, b) for w, b in flips if start <= int(w * len(original)) < end]
        assert start >= 0
        if inside:
            assert locked_content_intact(_mutated_file(part, inside, "xml-mutated-content-only.xlsx"))
