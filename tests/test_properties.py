"""Property tests, both ways round.

Valid answers, however leniently spelled, come back on their refs as the canonical values; damaged
returns never crash ingest, and never pass with their locked content (text, values or formulas) changed.
"""

from __future__ import annotations

import functools
import html
import io
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.worksheet._writer import WorksheetWriter

from xlschedule import checks, layout
from xlschedule.build import build_workbook
from xlschedule.ingest import Templates, check_return
from xlschedule.model import COVER_SHEET, META_SHEET, Mode, ReturnStatus
from xlschedule.packager import workbook_bytes
from xlschedule.samples import answers
from xlschedule.schedule import load_schedule

from conftest import SCHEDULE_TOML
from test_ingest import make_return

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
parse_cover_date = getattr(checks, "parse_cover_date", None) or checks._as_date

#: Each example checks a file: the damage properties. Most byte mutations are refused before any XML is parsed.
BYTE_PROPS = settings(max_examples=100, deadline=None)
XML_PROPS = settings(max_examples=60, deadline=None)
#: Each example of these types into a workbook, saves and checks it: fewer of them.
CELL_PROPS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Pure functions: many examples.
PURE = settings(max_examples=150, deadline=None)
#: What a person can type into a cell (openpyxl, like Excel's file format, refuses control characters).
typeable = st.text(max_size=40).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s))
#: A character that is not whitespace (nor one Excel's file format refuses).
visible_char = st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="\ufffe\uffff")


# --- answering a blank, fast ---------------------------------------------------------------


@functools.cache
def blank_bytes(mode: Mode) -> bytes:
    return workbook_bytes(build_workbook(SCHEDULE, "Kent", mode))


def zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


class Filled:
    """A blank answered as `samples.answers` answers it, loaded once. `save` types edits into it with
    openpyxl, writes the file and undoes the edits. Only the sheets edited are serialised again; the
    rest of the package is reused (a test below checks this writes what openpyxl's own writer does)."""

    def __init__(self, mode: Mode, seed: int = 1, ref: str = "K-1") -> None:
        self.mode = mode
        self.values = answers(SCHEDULE, mode, seed, ref)
        self.wb = load_workbook(io.BytesIO(blank_bytes(mode)))
        for (sheet, cell), value in self.values.items():
            self.wb[sheet][cell].value = value
        workbook_bytes(self.wb)  # numbers the sheet parts, and settles what openpyxl sets while writing
        with zipfile.ZipFile(io.BytesIO(workbook_bytes(self.wb))) as zf:
            self.parts = {name: zf.read(name) for name in zf.namelist()}

    def save(self, edits: dict[tuple[str, str], object], name: str, literal: set = frozenset(),
             full: bool = False) -> Path:
        """Type `edits` ((sheet, cell) -> value); cells in `literal` are text even when they start with '='
        (as a person gets typing '=x' after an apostrophe in Excel)."""
        undo: list[tuple[object, tuple[int, int], object]] = []
        styles = len(self.wb._cell_styles)
        try:
            for (sheet, coord), value in edits.items():
                ws = self.wb[sheet]
                key = coordinate_to_tuple(coord)
                old = ws._cells.get(key)
                undo.append((ws, key, None if old is None else (old._value, old.data_type, copy(old._style))))
                cell = ws[coord]
                cell.value = value
                if (sheet, coord) in literal:
                    cell.data_type = "s"
            if full or len(self.wb._cell_styles) != styles:  # a new style: styles.xml changes too
                data = workbook_bytes(self.wb)
            else:
                parts = dict(self.parts)
                for sheet in {s for s, _ in edits}:
                    writer = WorksheetWriter(self.wb[sheet], out=io.BytesIO())
                    writer.write()
                    parts[self.wb[sheet].path[1:]] = writer.read()
                data = zipped(parts)
        finally:
            for ws, key, old in reversed(undo):
                if old is None:
                    ws._cells.pop(key, None)
                else:
                    cell = ws._cells[key]
                    cell._value, cell.data_type, cell._style = old
        path = WORK / name
        path.write_bytes(data)
        return path


@functools.cache
def filled(mode: Mode) -> Filled:
    return Filled(mode)


# --- the oracle: openpyxl, independently of the checker -------------------------------------


class Unreadable(Exception):
    """The oracle (openpyxl) cannot read the file at all."""


def formula_tokens(formula: object) -> tuple | None:
    """What decides a formula's result, read by openpyxl's tokenizer: spaces between tokens, `$`, the case
    of functions, references and sheet names, and quotes a sheet name does not need make no difference."""
    text = str(formula)
    if not text.startswith("="):
        return None
    try:
        items = Tokenizer(text).items
    except Exception:  # noqa: BLE001 - openpyxl raises assorted errors on malformed formulas
        return None
    out = []
    for tok in items:
        value: object = tok.value
        if tok.type == Token.WSPACE:
            continue
        if tok.type == Token.OPERAND and tok.subtype == Token.RANGE:
            sheet, bang, ref = tok.value.rpartition("!")
            if len(sheet) >= 2 and sheet[0] == sheet[-1] == "'":
                sheet = sheet[1:-1].replace("''", "'")
            value = (sheet.casefold(), bang, ref.replace("$", "").upper())
        elif tok.type == Token.FUNC:
            value = tok.value.upper()
        out.append((tok.type, tok.subtype, value))
    return tuple(out)


def formulas_equivalent(a: object, b: object) -> bool:
    ta, tb = formula_tokens(a), formula_tokens(b)
    return a == b if ta is None or tb is None else ta == tb


def only_whitespace_differs(a: object, b: object) -> bool:
    """Two formulas that differ in meaning only by whitespace inside quoted sheet names or text, or by a
    character such as a no-break space that is not formula whitespace: a change, however small it looks."""
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    return not formulas_equivalent(a, b) and formulas_equivalent(re.sub(r"\s", "", a), re.sub(r"\s", "", b))


def locked_content_intact(path: Path) -> bool:
    """Independently of the checker: does the file still hold the blank's locked content, with nothing typed
    into a locked cell?"""
    try:
        wb = load_workbook(path, read_only=True)  # cells only: damage elsewhere does not blind the oracle
        cells = {
            (ws.title, cell.coordinate): cell.value
            for ws in wb.worksheets
            if ws.title != META_SHEET
            for row in ws.iter_rows()
            for cell in row
            if getattr(cell, "coordinate", None) and cell.value is not None
        }
        wb.close()
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(type(exc).__name__) from exc
    return _intact(cells)


def sheet_intact(sheet: str, xml: bytes) -> bool:
    """The same judgment on one sheet's part alone, read by openpyxl's worksheet parser (when nothing else
    in the package was touched)."""
    try:
        cells = {
            (sheet, f"{get_column_letter(c['column'])}{c['row']}"): c["value"]
            for _, row in WorkSheetParser(io.BytesIO(xml), []).parse()
            for c in row
            if c["value"] is not None
        }
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(type(exc).__name__) from exc
    return _intact(cells, {sheet})


def _intact(cells: dict[tuple[str, str], object], sheets: set[str] | None = None) -> bool:
    intact = True
    for key, value in LOCKED.items():
        if sheets is not None and key[0] not in sheets:
            continue
        got = cells.get(key)
        if isinstance(value, str) and value.startswith("="):
            if not formulas_equivalent(value, got):
                intact = False
        elif got != value:
            intact = False
    typed = [key for key in cells.keys() - LOCKED.keys() - INPUTS if cells[key] != ""]
    return intact and not typed


def outcome(ret) -> str:
    errors = ret.errors()
    return f"rejected: {errors[0].code}" if errors else f"{ret.status.value}"


# --- damage is never accepted: bytes ------------------------------------------------------


mutations = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), st.integers(0, len(GOOD_BYTES) - 1), st.integers(0, 255)),
        st.tuples(st.just("truncate"), st.integers(0, len(GOOD_BYTES) - 1), st.just(0)),
        st.tuples(st.just("insert"), st.integers(0, len(GOOD_BYTES) - 1), st.integers(0, 255)),
    ),
    min_size=1,
    max_size=8,
)


@BYTE_PROPS
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
    event(outcome(ret))
    if ret.status is ReturnStatus.ACCEPTED:
        assert locked_content_intact(path)  # a readable zip was damaged only where it does not matter


# --- damage is never accepted: cells typed with openpyxl ----------------------------------


values = st.one_of(
    typeable,
    st.integers(-10, 10_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["=1+1", "Yes", "1.1", " ", "N/A"]),
)


@settings(CELL_PROPS, max_examples=15)
@given(st.sampled_from(sorted(LOCKED)), values)
def test_a_changed_locked_cell_is_never_accepted(target, value):
    original = LOCKED[target]
    if value == original or (isinstance(value, str) and not value.strip() and original is None):
        return
    if isinstance(value, str) and value.startswith("=") and isinstance(original, str) and original.startswith("="):
        return  # formula for formula: test_a_changed_formula_is_never_accepted
    ret = check_return(filled(Mode.YESNO).save({target: value if value != "" else None}, "changed.xlsx"),
                       SCHEDULE, TEMPLATES)
    event(outcome(ret))
    assert ret.status is ReturnStatus.REJECTED, (target, value, [f.code for f in ret.findings])


@settings(CELL_PROPS, max_examples=15)
@given(st.sampled_from(EMPTY_LOCKED), st.tuples(typeable, visible_char, typeable).map("".join))
def test_text_typed_into_an_empty_locked_cell_is_never_accepted(target, value):
    ret = check_return(filled(Mode.YESNO).save({target: value}, "typed.xlsx"), SCHEDULE, TEMPLATES)
    event(outcome(ret))
    assert ret.status is ReturnStatus.REJECTED, (target, value)


# --- damage is never accepted: XML inside a sound zip -------------------------------------


with zipfile.ZipFile(io.BytesIO(GOOD_BYTES)) as _zf:
    PARTS = {name: _zf.read(name) for name in _zf.namelist()}
XML_PARTS = sorted(n for n in PARTS if n.endswith(".xml"))
CONTENT_PARTS = {n for n in XML_PARTS if n.startswith("xl/worksheets/")} | {"xl/workbook.xml", "xl/sharedStrings.xml"}


def _mutated_file(part: str, flips: list[tuple[float, int]], name: str) -> Path:
    xml = bytearray(PARTS[part])
    for where, byte in flips:
        xml[int(where * len(xml))] = byte
    path = WORK / name
    path.write_bytes(zipped({**PARTS, part: bytes(xml)}))
    return path


@XML_PROPS
@given(st.sampled_from(XML_PARTS),
       st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_xml_inside_a_sound_zip_never_crashes_or_passes_changed(part, flips):
    """Bytes changed inside the XML, then zipped properly: the parser and the checks see the damage."""
    path = _mutated_file(part, flips, "xml-mutated.xlsx")
    ret = check_return(path, SCHEDULE, TEMPLATES)
    event(outcome(ret))
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


def _sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Worksheet part -> sheet name, from the workbook and its relationships."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
    rels = ET.fromstring(parts["xl/_rels/workbook.xml.rels"])
    targets = {rel.get("Id"): rel.get("Target", "").lstrip("/") for rel in rels}
    return {
        targets[sheet.get(f"{{{ns['r']}}}id")]: sheet.get("name")
        for sheet in ET.fromstring(parts["xl/workbook.xml"]).iterfind("m:sheets/m:sheet", ns)
    }


@dataclass(frozen=True)
class Span:
    """Where a cell's text, value or formula sits in a sheet part (kind t, v or f), or where a value could be
    put into an empty cell (kind empty: `wrap` goes around it). A formula's cached value (kind cached) is not
    locked content: the checker and the oracle both judge the formula, and Excel recalculates it."""

    part: str
    sheet: str
    cell: str
    kind: str
    start: int
    end: int
    text: str  # unescaped
    wrap: tuple[str, str] = ("", "")

    @property
    def locked(self) -> bool:
        return (self.sheet, self.cell) not in INPUTS

    def replaced(self, xml: str, new: str) -> str:
        if self.kind == "empty" and not new:
            return xml
        return xml[:self.start] + self.wrap[0] + escape(new) + self.wrap[1] + xml[self.end:]


CELL_RE = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
INNER_RE = re.compile(r"<(t|v|f)(?:\s[^>]*)?>(.*?)</\1>", re.S)


def _spans() -> list[Span]:
    spans = []
    for part, sheet in _sheet_parts(PARTS).items():
        if sheet == META_SHEET:
            continue
        xml = PARTS[part].decode("utf-8")
        for cell in CELL_RE.finditer(xml):
            inner, coord = cell.group(3), cell.group(1)
            if inner is None or inner == "":
                if re.search(r'\st="(?!n")', cell.group(2)):
                    continue  # an empty text cell: a number typed into it would not be read as one
                if inner is None:  # <c .../>
                    at, wrap = (cell.end() - 2, cell.end()), ("><v>", "</v></c>")
                else:  # <c ...></c>
                    at, wrap = (cell.start(3), cell.start(3)), ("<v>", "</v>")
                spans.append(Span(part, sheet, coord, "empty", *at, "", wrap))
                continue
            for m in INNER_RE.finditer(inner):
                start, end = cell.start(3) + m.start(2), cell.start(3) + m.end(2)
                kind = "cached" if m.group(1) == "v" and "<f" in inner else m.group(1)
                spans.append(Span(part, sheet, coord, kind, start, end, html.unescape(m.group(2))))
    return spans


SPANS = _spans()
FORMULA_SPANS = [s for s in SPANS if s.kind == "f"]
LOCKED_SPANS = [s for s in SPANS if s.locked and s.kind != "f"]
INPUT_SPANS = [s for s in SPANS if not s.locked]
#: Characters a mutation types: what breaks numbers, references and quoting, and anything else XML can hold.
mutation_chars = st.one_of(
    st.sampled_from(list("0123456789 .,-+=$!:'\"()<>&/ACxz")),
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"),
)
text_edits = st.lists(
    st.one_of(
        st.tuples(st.just("replace"), st.floats(0, 1, exclude_max=True), mutation_chars),
        st.tuples(st.just("insert"), st.floats(0, 1), mutation_chars),
        st.tuples(st.just("delete"), st.floats(0, 1, exclude_max=True), st.just("")),
        st.tuples(st.just("rewrite"), st.just(0.0), st.text(mutation_chars, max_size=8)),
    ),
    min_size=1,
    max_size=3,
)


def _edit_text(text: str, edits: list[tuple[str, float, str]]) -> str:
    for op, where, chars in edits:
        at = int(where * len(text))
        if op == "replace" and text:
            text = text[:at] + chars + text[at + 1:]
        elif op == "insert":
            text = text[:at] + chars + text[at:]
        elif op == "delete" and text:
            text = text[:at] + text[at + 1:]
        elif op == "rewrite":
            text = chars
    return text


@XML_PROPS
@given(st.one_of(st.sampled_from(LOCKED_SPANS), st.sampled_from(FORMULA_SPANS), st.sampled_from(INPUT_SPANS)),
       text_edits)
def test_a_cell_changed_inside_the_xml_is_never_accepted_with_its_locked_content_changed(span, edits):
    """One cell's text, value or formula edited inside its sheet's XML (kept well-formed), zipped again: most
    of these reach the content checks, and openpyxl, reading the same file, is the oracle."""
    new = _edit_text(span.text, edits)
    mutated = span.replaced(PARTS[span.part].decode("utf-8"), new)
    path = WORK / "cell-mutated.xlsx"
    path.write_bytes(zipped({**PARTS, span.part: mutated.encode("utf-8")}))
    ret = check_return(path, SCHEDULE, TEMPLATES)
    where = {"f": "formula", "cached": "formula's cached value"}.get(span.kind) or (
        "locked cell" if span.locked else "input cell")
    event(f"{where}: {outcome(ret)}" if new != span.text else f"{where}: no change, {outcome(ret)}")
    if ret.status is ReturnStatus.ACCEPTED:
        event("oracle judged an accepted return")
        assert sheet_intact(span.sheet, mutated.encode("utf-8")), (span, new)


# --- formulas ------------------------------------------------------------------------------


@functools.cache
def formula_cells(mode: Mode) -> dict[tuple[str, str], str]:
    """Every formula of a blank in this mode."""
    return {
        (ws.title, c.coordinate): c.value
        for ws in build_workbook(SCHEDULE, "Kent", mode).worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    }


SHEET_NAMES = [s for s in layout.sheet_names(SCHEDULE) if s != META_SHEET]
FUNCTIONS = ["IF(", "IFS(", "COUNTA(", "COUNT(", "SUM(", "MAX(", "AND("]
OPERATORS = ["=", "<>", "<", ">", "/", "*", "+", "-", "&"]
REF_RE = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)")


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


@st.composite
def changed_formula(draw, formula: str) -> object:
    """The formula changed so that it computes something else, or replaced by a value, or cleared."""
    tokens = [t for t in Tokenizer(formula).items]
    eligible = {
        "reference": lambda t: t.subtype == Token.RANGE,
        "sheet": lambda t: t.subtype == Token.RANGE and "!" in t.value,
        "function": lambda t: t.type == Token.FUNC and t.subtype == Token.OPEN,
        "literal": lambda t: t.subtype in (Token.TEXT, Token.NUMBER),
        "operator": lambda t: t.type == Token.OP_IN,
    }
    # only the changes this formula offers: one that refers to no other sheet cannot change sheet
    kinds = ["value", "clear", *(k for k, fits in eligible.items() if any(fits(t) for t in tokens))]
    kind = draw(st.sampled_from(kinds))
    if kind == "value":
        return draw(st.one_of(st.tuples(visible_char.filter(lambda c: c != "="), typeable).map("".join),
                              st.integers(-10**9, 10**9), st.floats(allow_nan=False, allow_infinity=False)))
    if kind == "clear":
        return None
    index = draw(st.sampled_from([i for i, t in enumerate(tokens) if eligible[kind](t)]))
    tok = tokens[index]
    values = [t.value for t in tokens]
    if kind == "reference":
        sheet, bang, ref = tok.value.rpartition("!")
        refs = list(REF_RE.finditer(ref))
        m = refs[draw(st.integers(0, len(refs) - 1))]
        row = int(m.group(4))
        new_row = draw(st.integers(1, 200).filter(lambda r: r != row))
        values[index] = sheet + bang + ref[:m.start(4)] + str(new_row) + ref[m.end(4):]
    elif kind == "sheet":
        sheet, bang, ref = tok.value.rpartition("!")
        current = sheet.strip("'").replace("''", "'")
        other = draw(st.sampled_from([s for s in SHEET_NAMES if s.casefold() != current.casefold()]))
        values[index] = _quoted(other) + bang + ref
    elif kind == "function":
        values[index] = draw(st.sampled_from([f for f in FUNCTIONS if f != tok.value.upper()]))
    elif kind == "literal" and tok.subtype == Token.TEXT:
        values[index] = '"' + draw(st.text(st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
                                                         exclude_characters='"\ufffe\uffff'), min_size=1,
                                           max_size=3)) + '"'
    elif kind == "literal":
        values[index] = str(draw(st.integers(0, 10_000).filter(lambda n: n != float(tok.value))))
    else:
        values[index] = draw(st.sampled_from([o for o in OPERATORS if o != tok.value]))
    return "=" + "".join(values)


@st.composite
def formula_target(draw):
    mode = draw(st.sampled_from(list(Mode)))
    cells = formula_cells(mode)
    target = draw(st.sampled_from(sorted(cells)))
    return mode, target, cells[target]


@CELL_PROPS
@given(formula_target(), st.data())
def test_a_changed_formula_is_never_accepted(where, data):
    """The Overall sheet's step judgments and the cover's completion are formulas: change what one computes,
    replace it by a value or clear it, and the return is refused at that cell."""
    mode, (sheet, coord), formula = where
    new = data.draw(changed_formula(formula))
    assert not formulas_equivalent(formula, new)
    ret = check_return(filled(mode).save({(sheet, coord): new}, "formula-changed.xlsx"), SCHEDULE, TEMPLATES)
    event(f"{'cleared' if new is None else 'formula' if str(new).startswith('=') else 'value'}: {outcome(ret)}")
    assert ret.status is ReturnStatus.REJECTED, (sheet, coord, new)
    found = {(f.sheet, f.cell, f.code) for f in ret.errors()}
    # a number no reader can hold (1.797693134862316e+308, as openpyxl writes the largest double) is refused
    # before any check, as not readable alike, at that cell
    assert (sheet, coord, "locked-cell-changed") in found or (sheet, coord, "ambiguous-content") in found


CASES = [str, str.upper, str.lower, str.swapcase]


def _cased(draw, text: str) -> str:
    return draw(st.sampled_from(CASES))(text)


@st.composite
def rewritten_formula(draw, formula: str) -> str:
    """The same formula as another application might save it: another case, `$` on references, sheet names
    unquoted where they need no quotes, spaces after separators and around operators."""
    out = []
    for tok in Tokenizer(formula).items:
        value = tok.value
        if tok.subtype == Token.RANGE:
            sheet, bang, ref = value.rpartition("!")
            if sheet:
                name = _cased(draw, sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet)
                plain = re.fullmatch(r"[A-Za-z_][A-Za-z_.]*", name)
                sheet = name if plain and draw(st.booleans()) else _quoted(name)
            ref = REF_RE.sub(lambda m: (draw(st.sampled_from(["", "$"])) + _cased(draw, m.group(2))
                                        + draw(st.sampled_from(["", "$"])) + m.group(4)), ref)
            value = sheet + bang + ref
        elif tok.type == Token.FUNC and tok.subtype == Token.OPEN:
            value = _cased(draw, value)
        space = draw(st.sampled_from(["", " ", "  "]))
        if tok.type == Token.OP_IN:
            value = draw(st.sampled_from(["", " "])) + value + space
        elif tok.type == Token.SEP:
            value += space
        out.append(value)
    return "=" + "".join(out)


@CELL_PROPS
@given(st.sampled_from(list(Mode)), st.data())
def test_formulas_saved_the_way_applications_rewrite_them_are_accepted(mode, data):
    """The other direction: untouched answers, and formulas that compute the same, are accepted as they are."""
    cells = formula_cells(mode)
    chosen = data.draw(st.lists(st.sampled_from(sorted(cells)), min_size=1, max_size=8, unique=True))
    edits = {key: data.draw(rewritten_formula(cells[key])) for key in chosen}
    assert all(formulas_equivalent(cells[key], new) for key, new in edits.items())
    ret = check_return(filled(mode).save(edits, "formula-rewritten.xlsx"), SCHEDULE, TEMPLATES)
    event(f"{mode.value}: {outcome(ret)}")
    assert ret.status is ReturnStatus.ACCEPTED and ret.findings == [], (edits, [f.code for f in ret.findings])


@pytest.mark.parametrize("before, after", [
    ("'1 Initial contact'!", "'1 Initialcontact'!"),  # a sheet that does not exist
    ('=""', '=" "'),  # a blank judgment now shows 0
    ("IF(", "\u00a0IF("),  # a no-break space is not formula whitespace: Excel cannot read it
])
def test_whitespace_that_changes_a_formula_is_a_change(before, after):
    sheet, coord = SCHEDULE.overall.sheet, f"C{layout.steps_block_start(SCHEDULE.overall)}"
    formula = formula_cells(Mode.YESNO)[(sheet, coord)]
    new = formula.replace(before, after, 1)
    assert new != formula and not formulas_equivalent(formula, new) and only_whitespace_differs(formula, new)
    ret = check_return(filled(Mode.YESNO).save({(sheet, coord): new}, "formula-space.xlsx"), SCHEDULE, TEMPLATES)
    assert ret.status is ReturnStatus.REJECTED


# --- valid answers come back as typed -----------------------------------------------------


#: Whitespace a person may leave around a value (str.strip removes all of it; \r is excluded because XML
#: reads a bare \r as \n, and what Excel itself stores for a line break is \n).
padding = st.text(st.sampled_from(" \t\n\u00a0\u3000"), max_size=2)
#: Excel escapes a literal "_x0041_" in text it saves; openpyxl does not, so such text is left out here.
EXCEL_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_")
letters = st.one_of(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"),
    st.sampled_from("\n\t\u200f\u202e"),  # line breaks, tabs, right-to-left marks
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
    st.characters(min_codepoint=0x0590, max_codepoint=0x06FF),  # Hebrew and Arabic, written right to left
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
)
pieces = st.one_of(letters, st.sampled_from(["👩🏽‍⚖️", "🇬🇧", "שלום עולם", "مرحبا", "中文", "日本語", "e\u0301"]))


def free_text(max_size: int = 60):
    return st.lists(pieces, min_size=1, max_size=20).map("".join).filter(
        lambda s: len(s) <= max_size and not EXCEL_ESCAPE.search(s)
    )


#: Evidence at Excel's limit of 32,767 characters a cell (in the Basic Multilingual Plane: Excel counts UTF-16).
longest = st.text(st.characters(max_codepoint=0xFFFD, exclude_categories=("Cs", "Cc")), min_size=1, max_size=8).map(
    lambda s: (s * 32_767)[:32_767]
).filter(lambda s: not EXCEL_ESCAPE.search(s))
FORMULAS = ['=SUM(1,2)', '=HYPERLINK("http://example.invalid","x")', "=TODAY()", "=1+1", "=A1&\"x\""]


def spelled(option: str):
    """An option as a person might type or paste it: any case, with whitespace around it, and a number for a
    number (4, 4.0, "4.0")."""
    cased = st.lists(st.booleans(), min_size=len(option), max_size=len(option)).map(
        lambda flips: "".join(c.swapcase() if f else c for c, f in zip(option, flips))
    )
    forms = [st.tuples(padding, cased, padding).map("".join)]
    if option.isdigit():
        n = int(option)
        forms += [st.just(n), st.just(float(n)), st.sampled_from([f"{n}.0", f"{n}.00"]).flatmap(
            lambda s: st.tuples(padding, st.just(s), padding).map("".join))]
    return st.sampled_from(forms).flatmap(lambda s: s)


@dataclass(frozen=True)
class Typed:
    value: object
    expected: object  # what must come back
    literal: bool = False  # text typed after an apostrophe, though it starts with "="
    formula: bool = False  # a real formula: kept as its text, with a warning
    what: str = ""  # for the statistics


def choice(*strategies):
    """One of the strategies, each as likely as the others (st.one_of leans to the first while it explores)."""
    return st.sampled_from(strategies).flatmap(lambda s: s)


empty = st.just(Typed(None, None, what="empty"))
spaces = padding.filter(bool).map(lambda s: Typed(s, None, what="spaces"))


def typed_option(options: list[str]):
    return choice(empty, spaces, *(st.sampled_from(options).flatmap(lambda o: spelled(o).map(
        lambda v: Typed(v, o, what="option as text" if isinstance(v, str) else "option as a number"))),) * 3)


def as_typed(text: str, what: str) -> Typed:
    """Text typed as text: one starting with '=' is typed after an apostrophe, so it stays text."""
    return Typed(text, text, literal=text.startswith("="), what=what)


evidence = choice(
    empty,
    st.tuples(padding, free_text(), padding).map(lambda t: as_typed("".join(t), "text")),  # spaces are kept
    free_text().map(lambda s: as_typed("=" + s, "text starting with =")),
    st.sampled_from(FORMULAS).map(lambda f: Typed(f, f, formula=True, what="a formula")),
    longest.map(lambda s: as_typed(s, "32,767 characters")),
)


def cover_text(max_size: int):
    return choice(
        empty,
        spaces,
        st.integers(1, 10**6).map(lambda n: Typed(n, str(n), what="a number")),
        free_text(max_size).map(lambda s: Typed(s, s.strip() or None, literal=s.startswith("="), what="text")),
    )


audit_dates = st.dates(date(2000, 1, 1), date(2099, 12, 31))
EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01, counting Excel's phantom 1900-02-29
cover_date = choice(
    empty,
    audit_dates.map(lambda d: Typed(d, d.isoformat(), what="a date")),
    audit_dates.map(lambda d: Typed(datetime.combine(d, time()), d.isoformat(), what="a datetime")),
    audit_dates.map(lambda d: Typed((d - EXCEL_EPOCH).days, d.isoformat(), what="a serial number")),
    audit_dates.map(lambda d: Typed(d.isoformat(), d.isoformat(), what="ISO text")),
    audit_dates.map(lambda d: Typed(f"{d.day}/{d.month:02d}/{d.year}", d.isoformat(), what="UK text")),
)


def answer_for(cell: layout.InputCell, mode: Mode):
    if cell.kind == "score":
        return typed_option(SCHEDULE.options(mode))
    if cell.kind == "policy":
        return typed_option(SCHEDULE.policy_fit_options())
    if cell.kind == "evidence":
        return evidence
    return {"return_ref": cover_text(100), "inspector": cover_text(200), "date": cover_date}[cell.ref]


def canonical(cell: layout.InputCell, value: object) -> object:
    """What `samples.answers` typed, as it must come back."""
    if value is None:
        return None
    if cell.ref == "date":
        return value.isoformat()
    return str(value)


@functools.cache
def input_cells(mode: Mode) -> list[layout.InputCell]:
    return layout.input_cells(SCHEDULE, mode)


@settings(CELL_PROPS, max_examples=30)
@given(st.sampled_from(list(Mode)), st.data())
def test_valid_answers_come_back_on_their_refs_as_typed(mode, data):
    """Answers as people type them (any case, stray whitespace, numbers for numbers, N/A, blanks, any script,
    text starting with '=', the longest evidence a cell holds) are accepted, each canonical on its ref."""
    cells = input_cells(mode)
    cover = [c for c in cells if c.kind == "cover"]
    chosen = cover + data.draw(st.lists(st.sampled_from(cells[len(cover):]), min_size=1, max_size=12, unique=True))
    typed = {c: data.draw(answer_for(c, mode), label=f"{c.sheet}!{c.cell}") for c in chosen}
    for what in sorted({f"{c.ref if c.kind == 'cover' else c.kind}: {t.what}" for c, t in typed.items()}):
        event(what)
    base = filled(mode)
    edits = {(c.sheet, c.cell): t.value for c, t in typed.items()}
    literal = {(c.sheet, c.cell) for c, t in typed.items() if t.literal}
    ret = check_return(base.save(edits, "answered.xlsx", literal), SCHEDULE, TEMPLATES)
    event(f"{mode.value}: {outcome(ret)}")
    assert ret.status is ReturnStatus.ACCEPTED and ret.errors() == [], [(f.cell, f.code) for f in ret.errors()]

    expected = {c: canonical(c, base.values.get((c.sheet, c.cell))) for c in cells}
    expected |= {c: t.expected for c, t in typed.items()}
    by_ref = {r.ref: r for r in ret.responses}
    cover = {"return_ref": ret.return_ref, "inspector": ret.inspector, "date": ret.date}
    for c, want in expected.items():
        if c.kind == "cover":
            assert cover[c.ref] == want, (c, want)
            continue
        response = by_ref[c.ref]
        assert (response.sheet, getattr(response, f"{c.kind}_cell")) == (c.sheet, c.cell)
        assert getattr(response, c.kind) == want, (c, want)
    formulas = {(c.sheet, c.cell) for c, t in typed.items() if t.formula}
    assert {(f.sheet, f.cell) for f in ret.findings if f.code == "formula-in-evidence"} == formulas
    cover_gaps = {"missing-return-reference": cover["return_ref"] is None,
                  "missing-inspector": cover["inspector"] is None, "missing-date-of-audit": cover["date"] is None}
    warnings = {f.code for f in ret.warnings()}
    assert {code for code, gap in cover_gaps.items() if gap} == warnings & cover_gaps.keys()
    assert warnings - cover_gaps.keys() <= {"unanswered", "low-score-no-evidence", "na-step-with-scores",
                                            "formula-in-evidence", "date-read-from-text"}, warnings
    assert "date-not-recognised" not in warnings


# --- the lenient readers ------------------------------------------------------------------


def _not_a_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


#: Options as a schedule may define them: stripped, distinct ignoring case; words, or whole numbers.
option_word = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZéøßñ/- "), min_size=1, max_size=10).map(
    str.strip
).filter(lambda s: s and _not_a_number(s))
option_lists = st.one_of(
    st.sampled_from([SCHEDULE.options(Mode.YESNO), SCHEDULE.options(Mode.SCALE), SCHEDULE.policy_fit_options()]),
    st.lists(st.one_of(option_word, st.integers(0, 999).map(str)), min_size=1, max_size=8,
             unique_by=lambda s: s.casefold()),
)


@PURE
@given(option_lists, st.data())
def test_any_option_in_any_case_with_whitespace_around_it_means_itself(options, data):
    option = data.draw(st.sampled_from(options))
    assert checks.normalise_option(data.draw(spelled(option)), options) == option


@PURE
@given(option_lists, st.integers(0, 999))
def test_a_number_equal_to_a_whole_number_option_means_it(options, n):
    option = str(n)
    options = options if option in options else [*options, option]
    for value in (n, float(n), option, f" {n}.0 ", f"{n}.00", f"+{n}"):
        assert checks.normalise_option(value, options) == option, value


def _matches(text: str, options: list[str]) -> bool:
    return text.strip().casefold() in {o.casefold() for o in options}


#: Text with no digit in it (of any script): it cannot be taken for a number.
no_digits = st.text(st.characters(exclude_categories=("Nd", "No", "Nl", "Cs")), max_size=20)
not_an_option = st.one_of(
    st.booleans(),  # TRUE and FALSE in a cell are not 1 and 0, nor "True"
    st.tuples(st.integers(-10**6, 10**6), st.floats(0.001, 0.999)).map(sum),  # 3.5
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    st.integers(-10**6, 10**6),
    st.integers(-10**6, 10**6).map(str),
    st.tuples(st.integers(-999, 999), st.integers(1, 99)).map(lambda t: f"{t[0]}.{t[1]:02d}"),  # "3.50"
    no_digits,
    st.none(),
    st.dates(),
)


@PURE
@given(option_lists.map(lambda o: o + [x for x in ("True", "1", "0") if x not in o]), not_an_option)
def test_values_that_are_not_options_mean_nothing(options, value):
    if isinstance(value, bool):
        pass  # never an option, whatever the options say
    elif isinstance(value, int) or isinstance(value, float) and value.is_integer():
        assume(str(int(value)) not in options)
    elif isinstance(value, str):
        assume(not _matches(value, options))
        if re.fullmatch(r"\s*[+]?[0-9]+(\.0*)?\s*", value):
            assume(str(int(float(value))) not in options)
    assert checks.normalise_option(value, options) is None


@PURE
@given(option_lists, st.one_of(not_an_option, typeable, st.sampled_from(["yes", " N/A", "4", 4, 4.0])))
def test_the_meaning_is_always_none_or_one_of_the_options(options, value):
    assert checks.normalise_option(value, options) in [None, *options]


@PURE
@given(audit_dates, st.times(), padding)
def test_an_audit_date_in_any_form_a_cell_gives_reads_as_that_date(day, at, pad):
    iso = day.isoformat()
    serial = (day - EXCEL_EPOCH).days
    uk = [f"{d}{sep}{m}{sep}{day.year}" for sep in "/-." for d in (day.day, f"{day.day:02d}")
          for m in (day.month, f"{day.month:02d}")]
    for value in (day, datetime.combine(day, time()), datetime.combine(day, at), pad + iso + pad, serial,
                  float(serial), *(pad + text + pad for text in uk)):
        assert parse_cover_date(value) == iso, value


def test_the_serial_epoch_is_excels():
    assert parse_cover_date(46346) == "2026-11-20" and parse_cover_date(36526) == "2000-01-01"


@PURE
@given(st.one_of(
    st.integers(max_value=36525), st.integers(min_value=73051),
    st.floats(max_value=36525.99), st.floats(min_value=73051.0), st.just(float("nan")),
    no_digits,
    st.tuples(st.integers(2000, 2099), st.integers(0, 99), st.integers(0, 99)).filter(
        lambda t: not _valid_day(*t)).map(lambda t: f"{t[0]}-{t[1]:02d}-{t[2]:02d}"),
))
def test_serials_outside_the_audit_years_and_junk_are_not_dates(value):
    assert parse_cover_date(value) is None


def _valid_day(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# --- the baselines the properties start from ---------------------------------------------


def test_the_unmutated_return_is_accepted():
    """The baseline the properties mutate from: without this, they could pass vacuously."""
    assert check_return(GOOD, SCHEDULE, TEMPLATES).status is ReturnStatus.ACCEPTED
    assert locked_content_intact(GOOD)
    # few locked cells are left empty: every cell of a sheet's table holds a text, an input or a formula
    assert len(LOCKED) > 300 and len(EMPTY_LOCKED) > 5
    assert len(LOCKED_SPANS) > 300 and len(FORMULA_SPANS) > 20 and len(INPUT_SPANS) > 200
    assert {"t", "f", "cached", "empty"} <= {s.kind for s in SPANS}
    with zipfile.ZipFile(io.BytesIO(GOOD_BYTES)) as zf:
        assert "xl/workbook.xml" in zf.namelist()


@pytest.mark.parametrize("mode", list(Mode))
def test_the_fast_writer_writes_what_openpyxl_writes(mode):
    """Filled.save serialises only the sheets it edits: the package must be the one openpyxl's writer gives."""
    base = filled(mode)
    cell = next(c for c in input_cells(mode) if c.kind == "evidence")
    edits = {(cell.sheet, cell.cell): "=literal", (COVER_SHEET, layout.cover_cell("inspector")): "Ann"}
    literal = {(cell.sheet, cell.cell)}
    fast, full = (base.save(edits, f"{name}.xlsx", literal, full=name == "full") for name in ("fast", "full"))
    with zipfile.ZipFile(fast) as a, zipfile.ZipFile(full) as b:
        assert {n: a.read(n) for n in a.namelist()} == {n: b.read(n) for n in b.namelist()}
    ret = check_return(fast, SCHEDULE, TEMPLATES)
    assert ret.status is ReturnStatus.ACCEPTED and ret.findings == [] and ret.inspector == "Ann"
    again = check_return(base.save({}, "untouched.xlsx"), SCHEDULE, TEMPLATES)
    assert again.inspector == base.values[(COVER_SHEET, layout.cover_cell("inspector"))]  # the edits were undone
    assert formula_cells(mode)
    if mode is Mode.YESNO:
        assert formula_cells(mode).keys() <= LOCKED.keys()  # the oracle judges every formula
